-- Where the code went (the privacy ledger) and what `stats`, `tune` and
-- `export` read. Each attempt records the provider it went to, whether the
-- model is paid, and the repository paths whose content was in its prompt
-- (a JSON array). Attempts recorded before this migration have no ledger;
-- the ones that cost money were paid.
ALTER TABLE attempts ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN paid BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE attempts ADD COLUMN sent_paths TEXT NOT NULL DEFAULT '[]';
UPDATE attempts SET paid = TRUE WHERE cost_usd > 0;

-- The ladder a task climbed, whether it touched local-only paths, when its
-- job was queued (the label) and when its pull request was opened.
ALTER TABLE task_records ADD COLUMN ladder TEXT NOT NULL DEFAULT '';
ALTER TABLE task_records ADD COLUMN local_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE task_records ADD COLUMN queued_at BIGINT;
ALTER TABLE task_records ADD COLUMN pull_number BIGINT;
ALTER TABLE task_records ADD COLUMN published_at BIGINT;
CREATE INDEX task_records_created ON task_records (created_at);

-- A finished task's context package (as the model saw it) and final diff,
-- for `gitkeeper-bot export`; deleted with stored prompts
-- ([retention] prompts_days).
CREATE TABLE task_samples (
    job_id BIGINT PRIMARY KEY,
    context TEXT NOT NULL,
    diff TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
