-- Runners (the program on the Mac serving local models) and the generation
-- requests they claim. Tokens are stored as SHA-256 hex, never in clear.
CREATE TABLE runner_tokens (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE runners (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    info TEXT NOT NULL,
    max_concurrency BIGINT NOT NULL,
    online BOOLEAN NOT NULL DEFAULT FALSE,
    draining BOOLEAN NOT NULL DEFAULT FALSE,
    registered_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE TABLE runner_models (
    runner TEXT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (runner, model)
);

CREATE TABLE generation_requests (
    id BIGSERIAL PRIMARY KEY,
    tier TEXT NOT NULL,
    model TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    runner TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    claimed_at BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE INDEX generation_claimable ON generation_requests (state, model, id);
CREATE INDEX generation_runner ON generation_requests (runner, state);
