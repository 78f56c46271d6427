-- The versions a sync wrote are found by a btree index of each partition's own instead of a BRIN index on
-- valid_from (db/partitions.py): `(valid_from, "sourcedId")`, leaving out a large first load (10,000 versions or more:
-- `WHERE valid_from > <the sync that created the partition>`).
--
-- Why: a tenant's first import loads a new partition and attaches it (migration 0006), and the attach built the BRIN
-- index with another scan of the whole table (0.15 s of a million-enrollment first import; made before the load, it
-- cost the load as much). The new index holds nothing of a large first load, so it is made before the load at the
-- cost of a predicate per row, and it hands a later sync's versions out in key order, as its drill-downs page them
-- (the BRIN index found their blocks, then they were sorted). A small first load (a trial import) is indexed with
-- the rest, so its few rows are found as easily once the real import has filled the partition.
-- Queries name the sync by its value (a literal): with a parameter the planner cannot prove the index's predicate.

DO $$
DECLARE
    version_table text;
    part text;
    first_seq bigint;
    first_rows bigint;
BEGIN
    FOR version_table IN SELECT relname FROM pg_class WHERE relkind = 'p' AND relname LIKE '%\_versions'
                         AND relnamespace = current_schema()::regnamespace LOOP
        FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = version_table::regclass LOOP
            EXECUTE format('SELECT min(valid_from) FROM %I', part) INTO first_seq;
            EXECUTE format('SELECT count(*) FROM %I WHERE valid_from = %s', part, coalesce(first_seq, 0))
                INTO first_rows;
            EXECUTE format('CREATE INDEX %I ON %I (valid_from, "sourcedId")', part || '_by_sync', part)
                || CASE WHEN first_rows >= 10000 THEN format(' WHERE valid_from > %s', first_seq) ELSE '' END;
        END LOOP;
        EXECUTE format('DROP INDEX %I', version_table || '_by_sync');
    END LOOP;
END
$$;
