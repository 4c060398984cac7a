-- A maintainer's `/gitkeeper cancel` flags running jobs; their workers stop them.
ALTER TABLE jobs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
