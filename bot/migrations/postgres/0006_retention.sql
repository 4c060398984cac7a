-- Retention deletes finished jobs after [retention] finished_jobs_days; the
-- attempt trail and task records stay (they hold no prompt), so they no
-- longer hang off the job row and are not deleted with it.
ALTER TABLE attempts DROP CONSTRAINT attempts_job_id_fkey;
ALTER TABLE task_records DROP CONSTRAINT task_records_job_id_fkey;
-- The issue or pull request a task was for, kept with the record itself so
-- revision rounds are counted without the job row.
ALTER TABLE task_records ADD COLUMN target_key TEXT;
UPDATE task_records SET target_key = (SELECT j.target_key FROM jobs j WHERE j.id = task_records.job_id);
CREATE INDEX task_records_target ON task_records (target_key);
-- What the retention sweep looks rows up by.
CREATE INDEX deliveries_received ON deliveries (received_at);
CREATE INDEX jobs_finished ON jobs (state, updated_at);
CREATE INDEX generation_finished ON generation_requests (state, updated_at);
