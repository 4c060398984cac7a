-- How Gitkeeper's pull requests ended: merged or closed, after how many
-- model runs on the pull request, and the task that wrote them.
CREATE TABLE pull_outcomes (
    repo TEXT NOT NULL,
    pull_number BIGINT NOT NULL,
    merged BOOLEAN NOT NULL,
    revision_rounds BIGINT NOT NULL,
    task_job_id BIGINT,
    closed_at BIGINT NOT NULL,
    PRIMARY KEY (repo, pull_number)
);
