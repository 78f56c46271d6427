-- The import engine's data plane: entity versions per data type, explicit per-sync outcomes, and what the history
-- needs to read them back.
--
-- Versions: one table per data type, one text column per OneRoster attribute (named as in the CSV) plus `metadata`
-- for metadata.* columns. A version is written only when something about the record changes in a sync, so
-- re-importing an unchanged bulk file writes nothing. `valid_from` / `valid_to` are the `applied_seq` of the syncs that
-- wrote and superseded it (NULL: current). `kind` is the outcome of the record in the sync that wrote the version:
--   1 NEW, 2 UPDATED, 3 NO_CHANGE (re-stated because its findings or its schools changed), 4 DELETED (a tombstone
--   carrying the last content, so a deleted entity stays readable), 5 KEPT (not a record of that sync: the current
--   entity kept because the sync's rows for it were skipped or excluded).
-- So, for an applied sync with sequence A, the records of a type are: the versions with valid_from = A (by kind), plus
-- for a bulk file the versions live across A (valid_from < A, valid_to NULL or > A, not a tombstone) as NO_CHANGE.
-- Drill-downs walk the primary key in sourcedId order (keyset); a BRIN index on valid_from finds a sync's own
-- versions, which COPY wrote next to each other. One B-tree per table keeps a million-row import cheap to write.

CREATE SEQUENCE apply_seq AS bigint;

ALTER TABLE syncs
    ADD COLUMN applied_seq  bigint,        -- set when the sync's result is applied (orders versions per tenant)
    ADD COLUMN base_seq     bigint,        -- the tenant's last applied_seq when this sync's result was computed
    ADD COLUMN findings     jsonb,         -- package-level notes (leniencies, ignored files)
    ADD COLUMN options      jsonb NOT NULL DEFAULT '{}';   -- settings in force for this sync (snapshot)

CREATE UNIQUE INDEX syncs_applied ON syncs (tenant_id, applied_seq) WHERE applied_seq IS NOT NULL;

-- Per sync and data type: how the file was supplied (bulk | delta); drives which outcomes are derived.
ALTER TABLE sync_summaries ADD COLUMN file_mode text;

CREATE TABLE orgs_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "name" text,
    "type" text,
    "identifier" text,
    "parentSourcedId" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX orgs_versions_by_sync ON orgs_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX orgs_versions_invalid ON orgs_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE academic_sessions_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "title" text,
    "type" text,
    "startDate" text,
    "endDate" text,
    "parentSourcedId" text,
    "schoolYear" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX academic_sessions_versions_by_sync ON academic_sessions_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX academic_sessions_versions_invalid ON academic_sessions_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE courses_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "schoolYearSourcedId" text,
    "title" text,
    "courseCode" text,
    "grades" text,
    "orgSourcedId" text,
    "subjects" text,
    "subjectCodes" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX courses_versions_by_sync ON courses_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX courses_versions_invalid ON courses_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE classes_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "title" text,
    "grades" text,
    "courseSourcedId" text,
    "classCode" text,
    "classType" text,
    "location" text,
    "schoolSourcedId" text,
    "termSourcedIds" text,
    "subjects" text,
    "subjectCodes" text,
    "periods" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX classes_versions_by_sync ON classes_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX classes_versions_invalid ON classes_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE users_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "enabledUser" text,
    "orgSourcedIds" text,
    "role" text,
    "username" text,
    "userIds" text,
    "givenName" text,
    "familyName" text,
    "middleName" text,
    "identifier" text,
    "email" text,
    "sms" text,
    "phone" text,
    "agentSourcedIds" text,
    "grades" text,
    "password" text,
    "userMasterIdentifier" text,
    "resourceSourcedIds" text,
    "preferredGivenName" text,
    "preferredMiddleName" text,
    "preferredFamilyName" text,
    "primaryOrgSourcedId" text,
    "pronouns" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX users_versions_by_sync ON users_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX users_versions_invalid ON users_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE enrollments_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "classSourcedId" text,
    "schoolSourcedId" text,
    "userSourcedId" text,
    "role" text,
    "primary" text,
    "beginDate" text,
    "endDate" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX enrollments_versions_by_sync ON enrollments_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX enrollments_versions_invalid ON enrollments_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE demographics_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "birthDate" text,
    "sex" text,
    "americanIndianOrAlaskaNative" text,
    "asian" text,
    "blackOrAfricanAmerican" text,
    "nativeHawaiianOrOtherPacificIslander" text,
    "white" text,
    "demographicRaceTwoOrMoreRaces" text,
    "hispanicOrLatinoEthnicity" text,
    "countryOfBirthCode" text,
    "stateOfBirthAbbreviation" text,
    "cityOfBirth" text,
    "publicSchoolResidenceStatus" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX demographics_versions_by_sync ON demographics_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX demographics_versions_invalid ON demographics_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE roles_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "userSourcedId" text,
    "roleType" text,
    "role" text,
    "beginDate" text,
    "endDate" text,
    "orgSourcedId" text,
    "userProfileSourcedId" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX roles_versions_by_sync ON roles_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX roles_versions_invalid ON roles_versions (tenant_id, "sourcedId") WHERE invalid;

CREATE TABLE user_profiles_versions (
    tenant_id      bigint NOT NULL,
    "sourcedId"    text NOT NULL,
    valid_from     bigint NOT NULL,
    valid_to       bigint,
    kind           smallint NOT NULL,
    content_hash   bigint NOT NULL,      -- hash of the attributes that count (§2): equal means not UPDATED
    row_hash       bigint NOT NULL,      -- hash of content, schools and findings: equal means nothing to write
    schools        text[] NOT NULL DEFAULT '{}',
    line           integer,
    invalid        boolean NOT NULL DEFAULT false,
    issues         jsonb,
    "status" text,
    "dateLastModified" text,
    "userSourcedId" text,
    "profileType" text,
    "vendorId" text,
    "applicationId" text,
    "description" text,
    "credentialType" text,
    "username" text,
    "password" text,
    metadata       jsonb,
    PRIMARY KEY (tenant_id, "sourcedId", valid_from)
);
CREATE INDEX user_profiles_versions_by_sync ON user_profiles_versions USING brin (valid_from) WITH (autosummarize = on);
CREATE INDEX user_profiles_versions_invalid ON user_profiles_versions (tenant_id, "sourcedId") WHERE invalid;

-- Outcomes that versions cannot express: rows that never became a record (SKIPPED, MERGED, EXCLUDED), and every
-- outcome of a sync whose result was not applied (dry run, held, discarded), with the values it would have written.
-- outcome: 1 NEW, 2 UPDATED, 3 NO_CHANGE, 4 DELETED, 6 SKIPPED, 7 MERGED, 8 EXCLUDED.
CREATE TABLE record_outcomes (
    tenant_id     bigint NOT NULL,
    sync_id       bigint NOT NULL,
    data_type     smallint NOT NULL,
    outcome       smallint NOT NULL,
    "sourcedId"   text NOT NULL,           -- '' when the row had none
    line          integer NOT NULL,        -- physical line in the file (0 for records not from a line: deletions)
    invalid       boolean NOT NULL DEFAULT false,
    schools       text[] NOT NULL DEFAULT '{}',
    attributes    jsonb NOT NULL,          -- keyed by CSV column name
    changes       jsonb,                   -- UPDATED: [{field, before, after}]
    issues        jsonb,                   -- [{code, severity, field, message}]
    PRIMARY KEY (tenant_id, sync_id, data_type, outcome, "sourcedId", line),
    FOREIGN KEY (tenant_id, sync_id) REFERENCES syncs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX record_outcomes_all ON record_outcomes (tenant_id, sync_id, data_type, "sourcedId", line);
