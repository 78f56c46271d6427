-- A hash of the CSV row a version was read from (oneroster_csv.validate.raw_hashes: its cells exactly as read,
-- seeded with the header, mode, settings and rules), kept only where that row was read exactly as written and its
-- record had no finding of any kind; NULL otherwise. A later sync's row with the same hash validates to the same
-- values and findings, so the engine takes it as unchanged without validating or planning it again
-- (workers/imports/unchanged.py): most rows of a daily bulk file. Nullable without a default: adding it rewrites
-- nothing, and older versions simply have none.

ALTER TABLE orgs_versions ADD COLUMN raw_hash bigint;
ALTER TABLE academic_sessions_versions ADD COLUMN raw_hash bigint;
ALTER TABLE courses_versions ADD COLUMN raw_hash bigint;
ALTER TABLE classes_versions ADD COLUMN raw_hash bigint;
ALTER TABLE users_versions ADD COLUMN raw_hash bigint;
ALTER TABLE enrollments_versions ADD COLUMN raw_hash bigint;
ALTER TABLE demographics_versions ADD COLUMN raw_hash bigint;
ALTER TABLE roles_versions ADD COLUMN raw_hash bigint;
ALTER TABLE user_profiles_versions ADD COLUMN raw_hash bigint;
