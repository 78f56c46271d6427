-- A version's `info`: the INFO findings of the row it was read from (`code:column` keys, sorted, joined by "|";
-- oneroster_csv.validate.INFO_KEYS), kept beside its raw hash (migration 0005).
--
-- Why: a row whose findings are all INFO (a leniency: a value in another case or format, a status or
-- dateLastModified in a bulk file) kept no raw hash, since a later read taking it as unchanged, without validating
-- it, would have left it out of the file's notes. Most real exports fill dateLastModified on every row: every row of
-- such a file was validated again at every import. With the keys kept, a row taken as unchanged counts in the notes
-- as if validated.
DO $$
DECLARE
    version_table text;
BEGIN
    FOR version_table IN SELECT relname FROM pg_class WHERE relkind = 'p' AND relname LIKE '%\_versions'
                         AND relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN info text', version_table);
    END LOOP;
END
$$;
