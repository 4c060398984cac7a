-- Readiness proves the store takes a write by committing one to this row.
CREATE TABLE store_probe (
    id INTEGER PRIMARY KEY,
    written_at BIGINT NOT NULL
);
-- A delivery asking again for what a queued or running job already does
-- (a re-label, a repeated command) joins that job instead of queuing another:
-- `coalesce_key` names the request, `coalesced` counts the deliveries it absorbed.
ALTER TABLE jobs ADD COLUMN coalesce_key TEXT;
ALTER TABLE jobs ADD COLUMN coalesced INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_coalesce ON jobs (target_key, coalesce_key);
