-- The fingerprint of the hash functions behind the stored content, row and raw hashes
-- (workers/imports/hash_scheme.py). polars guarantees its hashes within one version only: a worker whose hashes
-- differ from those that computed the stored ones would count every record of its next import UPDATED. The first
-- import records the fingerprint; every import compares its own with it and refuses to run on a mismatch.
CREATE TABLE hash_schemes (
    name text PRIMARY KEY,
    fingerprint bigint NOT NULL,
    polars_version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
