-- Page cursors carry a notice's creation time as a JavaScript date (milliseconds), while
-- timestamptz keeps microseconds: a cursor then sorted before its own row, and the last notice of
-- a page came back on the next one. Stored in milliseconds, a cursor names its row exactly.
ALTER TABLE notices ALTER COLUMN created_at TYPE timestamptz(3);
