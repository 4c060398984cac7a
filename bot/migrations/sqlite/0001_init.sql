CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    job_id INTEGER,
    received_at INTEGER NOT NULL
);

CREATE TABLE installations (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    suspended BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    delivery_id TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    run_after INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX jobs_claimable ON jobs (state, run_after, id);
CREATE INDEX jobs_target ON jobs (target_key, id);
