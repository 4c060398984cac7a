-- Retention deletes finished jobs after [retention] finished_jobs_days; the
-- attempt trail and task records stay (they hold no prompt), so they no
-- longer hang off the job row and are not deleted with it. SQLite cannot
-- drop a constraint: both tables are rebuilt without it.
CREATE TABLE attempts_kept (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
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
INSERT INTO attempts_kept (id, job_id, repo, seq, tier, role, model, served_model, edit_format, prompt_sha256, prompt_tokens, completion_tokens, usage_estimated, cost_usd, latency_ms, outcome, error, created_at)
    SELECT id, job_id, repo, seq, tier, role, model, served_model, edit_format, prompt_sha256, prompt_tokens, completion_tokens, usage_estimated, cost_usd, latency_ms, outcome, error, created_at FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_kept RENAME TO attempts;
CREATE INDEX attempts_job ON attempts (job_id, id);
CREATE INDEX attempts_repo_time ON attempts (repo, created_at);

-- The issue or pull request a task was for (`target_key`), kept with the
-- record itself so revision rounds are counted without the job row.
CREATE TABLE task_records_kept (
    job_id INTEGER PRIMARY KEY,
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
    updated_at INTEGER NOT NULL,
    target_key TEXT
);
INSERT INTO task_records_kept (job_id, task_id, repo, task_type, description, complexity, worker, checker, outcome, attempts, escalations, validation_method, latency_ms, tokens_in, tokens_out, cost_usd, prompt_sha256, created_at, updated_at, target_key)
    SELECT t.job_id, t.task_id, t.repo, t.task_type, t.description, t.complexity, t.worker, t.checker, t.outcome, t.attempts, t.escalations, t.validation_method, t.latency_ms, t.tokens_in, t.tokens_out, t.cost_usd, t.prompt_sha256, t.created_at, t.updated_at, (SELECT j.target_key FROM jobs j WHERE j.id = t.job_id)
    FROM task_records t;
DROP TABLE task_records;
ALTER TABLE task_records_kept RENAME TO task_records;
CREATE INDEX task_records_target ON task_records (target_key);

-- What the retention sweep looks rows up by.
CREATE INDEX deliveries_received ON deliveries (received_at);
CREATE INDEX jobs_finished ON jobs (state, updated_at);
CREATE INDEX generation_finished ON generation_requests (state, updated_at);
