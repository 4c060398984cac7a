-- How long parsing, applying and validating each attempt's answer took
-- (`gitkeeper-bot eval` reports it beside the model's time).
ALTER TABLE attempts ADD COLUMN validation_ms BIGINT NOT NULL DEFAULT 0;
