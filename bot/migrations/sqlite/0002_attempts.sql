-- The attempt trail: every model call of a job, and one task record per job
-- (seed 004's task log).
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    repo TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tier INTEGER NOT NULL,
    role TEXT NOT NULL,
    model TEXT NOT NULL,
    served_model TEXT NOT NULL,
    edit_format TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    usage_estimated BOOLEAN NOT NULL,
    cost_usd REAL NOT NULL,
    latency_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX attempts_job ON attempts (job_id, id);
CREATE INDEX attempts_repo_time ON attempts (repo, created_at);

CREATE TABLE task_records (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    repo TEXT NOT NULL,
    task_type TEXT NOT NULL,
    description TEXT NOT NULL,
    complexity INTEGER NOT NULL,
    worker TEXT,
    checker TEXT,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    escalations INTEGER NOT NULL,
    validation_method TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    prompt_sha256 TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
