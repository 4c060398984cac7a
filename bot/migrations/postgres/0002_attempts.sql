-- The attempt trail: every model call of a job, and one task record per job
-- (seed 004's task log).
CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    repo TEXT NOT NULL,
    seq BIGINT NOT NULL,
    tier BIGINT NOT NULL,
    role TEXT NOT NULL,
    model TEXT NOT NULL,
    served_model TEXT NOT NULL,
    edit_format TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    usage_estimated BOOLEAN NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    latency_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX attempts_job ON attempts (job_id, id);
CREATE INDEX attempts_repo_time ON attempts (repo, created_at);

CREATE TABLE task_records (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    repo TEXT NOT NULL,
    task_type TEXT NOT NULL,
    description TEXT NOT NULL,
    complexity BIGINT NOT NULL,
    worker TEXT,
    checker TEXT,
    outcome TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    escalations BIGINT NOT NULL,
    validation_method TEXT NOT NULL,
    latency_ms BIGINT NOT NULL,
    tokens_in BIGINT NOT NULL,
    tokens_out BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    prompt_sha256 TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
