-- Agent mode: how each attempt's tier worked (`edits` or `agent`) and, for
-- an agent session, its tool calls as a JSON array of {tool, arguments,
-- result_chars, ms, ok} (never file contents: only sizes and trimmed
-- arguments).
ALTER TABLE attempts ADD COLUMN mode TEXT NOT NULL DEFAULT 'edits';
ALTER TABLE attempts ADD COLUMN tool_calls TEXT NOT NULL DEFAULT '[]';
