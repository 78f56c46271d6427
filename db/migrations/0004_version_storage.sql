-- Cheaper versions to write, as measured on a million-enrollment import (bench/import_benchmark.py):
--
-- * sourcedIds compare as bytes (COLLATE "C"): every key of the primary keys is compared on each insert and probe,
--   and a libc collation such as C.UTF-8 goes through strcoll for what is a byte comparison anyway. The order is the
--   one the engine sorts by and the drill-downs page in, whatever collation the database was created with;
--   record_outcomes follows, so the drill-down's parts merge in one order.
-- * fillfactor 90: closing a version (valid_to) then rewrites it in its own page (a HOT update), without a new
--   primary-key entry; a day-2 import closes thousands of versions scattered over the table.
-- * schools NULL on classes and enrollments means "the record's own schoolSourcedId" (nearly every row): the array
--   was a fifth of an enrollment version. Readers use db.entities.schools_sql.

ALTER TABLE orgs_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE academic_sessions_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE courses_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE classes_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90),
    ALTER COLUMN schools DROP NOT NULL;
ALTER TABLE users_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE enrollments_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90),
    ALTER COLUMN schools DROP NOT NULL;
ALTER TABLE demographics_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE roles_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE user_profiles_versions ALTER COLUMN "sourcedId" TYPE text COLLATE "C", SET (fillfactor = 90);
ALTER TABLE record_outcomes ALTER COLUMN "sourcedId" TYPE text COLLATE "C";
