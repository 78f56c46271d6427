-- Versions partitioned by tenant: each version table becomes a parent LIST-partitioned on tenant_id, with one
-- partition per tenant (named <table>_t<tenant id>, fillfactor 90 as in 0004), created by the first import that
-- writes versions of that type for that tenant (db/partitions.py).
--
-- Why: on a million-enrollment first import, PostgreSQL spent some 40% of its time inserting each version into the
-- indexes one at a time (a WAL record each). A tenant's first versions of a type now go into a table of their own,
-- whose indexes are built once from its rows when it is attached as the tenant's partition (with psql: 3.4 s to load
-- and 1.8 s to attach, against 6.6-7.3 s to load the indexed table).
-- Every query names its tenant, so the planner reads one partition; ctids are unique only within a partition, so
-- statements that find rows by ctid also name the tenant.
--
-- Existing versions move into per-tenant partitions here.

DO $$
DECLARE
    version_table text;
    tenant bigint;
BEGIN
    FOREACH version_table IN ARRAY ARRAY['orgs_versions', 'academic_sessions_versions', 'courses_versions',
            'classes_versions', 'users_versions', 'enrollments_versions', 'demographics_versions', 'roles_versions',
            'user_profiles_versions'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', version_table, version_table || '_unpartitioned');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', version_table || '_pkey', version_table || '_unpartitioned_pkey');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', version_table || '_by_sync', version_table || '_unpartitioned_by_sync');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', version_table || '_invalid', version_table || '_unpartitioned_invalid');
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) PARTITION BY LIST (tenant_id)',
                       version_table, version_table || '_unpartitioned');
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (tenant_id, "sourcedId", valid_from)', version_table);
        EXECUTE format('CREATE INDEX %I ON %I USING brin (valid_from) WITH (autosummarize = on)',
                       version_table || '_by_sync', version_table);
        EXECUTE format('CREATE INDEX %I ON %I (tenant_id, "sourcedId") WHERE invalid',
                       version_table || '_invalid', version_table);
        FOR tenant IN EXECUTE format('SELECT DISTINCT tenant_id FROM %I', version_table || '_unpartitioned') LOOP
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) WITH (fillfactor = 90)',
                           version_table || '_t' || tenant, version_table);
            EXECUTE format('INSERT INTO %I SELECT * FROM %I WHERE tenant_id = %s ORDER BY "sourcedId", valid_from',
                           version_table || '_t' || tenant, version_table || '_unpartitioned', tenant);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)',
                           version_table, version_table || '_t' || tenant, tenant);
        END LOOP;
        EXECUTE format('DROP TABLE %I', version_table || '_unpartitioned');
    END LOOP;
END
$$;
