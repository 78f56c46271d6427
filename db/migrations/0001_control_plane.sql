-- Tenants, API tokens, apps and syncs, with the per-type and per-school summary tables of every sync.
-- Every table carries tenant_id and every key and index starts with it, so the data can later be partitioned or
-- distributed by tenant. The import engine's entity and outcome tables come in their own migration.

CREATE TABLE tenants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    tenant_id     bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    token_hash    bytea NOT NULL,            -- sha256 of the secret part; the token itself is never stored
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);

CREATE TABLE apps (
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    provider        text NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('IMPORT', 'EXPORT')),
    settings        jsonb NOT NULL DEFAULT '{}',
    installed_at    timestamptz NOT NULL DEFAULT now(),
    uninstalled_at  timestamptz,             -- uninstalling keeps the row so a reinstall brings the history back
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE syncs (
    tenant_id           bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    app_id              bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('IMPORT', 'EXPORT')),
    status              text NOT NULL DEFAULT 'QUEUED'
                        CHECK (status IN ('QUEUED', 'RUNNING', 'HELD', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'DISCARDED')),
    dry_run             boolean NOT NULL DEFAULT false,
    initiated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at          timestamptz,
    finished_at         timestamptz,
    record_count        integer NOT NULL DEFAULT 0,
    error_count         integer NOT NULL DEFAULT 0,
    warning_count       integer NOT NULL DEFAULT 0,
    failure_code        text,
    failure_message     text,
    hold                jsonb,               -- why HELD: {dataType, currentCount, deleteCount, thresholdPercent}
    progress_phase      text NOT NULL DEFAULT 'queued',
    progress_processed  bigint NOT NULL DEFAULT 0,
    progress_total      bigint,
    upload_key          text,                -- the staged package under the data directory
    attempts            integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, app_id) REFERENCES apps (tenant_id, id)
);

-- The history list: newest first, for all apps or a set of apps, keyset-paginated on (initiated_at, id).
CREATE INDEX syncs_history ON syncs (tenant_id, initiated_at DESC, id DESC);
CREATE INDEX syncs_app_history ON syncs (tenant_id, app_id, initiated_at DESC, id DESC);
-- The queue: at most one running import per tenant is enforced by the engine's lock; this finds the waiting ones.
CREATE INDEX syncs_active ON syncs (tenant_id, kind, id) WHERE status IN ('QUEUED', 'RUNNING');

-- Counts are computed once, when a sync is applied, and stored: the history page never recounts.
-- school_id = '' holds the sync-wide row; otherwise the school's sourcedId.
CREATE TABLE sync_summaries (
    tenant_id             bigint NOT NULL,
    sync_id               bigint NOT NULL,
    school_id             text NOT NULL DEFAULT '',
    data_type             smallint NOT NULL,  -- position in the DataType enum order
    total                 integer NOT NULL DEFAULT 0,
    no_change             integer NOT NULL DEFAULT 0,
    new                   integer NOT NULL DEFAULT 0,
    updated               integer NOT NULL DEFAULT 0,
    deleted               integer NOT NULL DEFAULT 0,
    skipped               integer NOT NULL DEFAULT 0,
    merged                integer NOT NULL DEFAULT 0,
    excluded              integer NOT NULL DEFAULT 0,
    invalid               integer NOT NULL DEFAULT 0,
    skipped_by_provider   integer NOT NULL DEFAULT 0,
    skipped_by_vendor     integer NOT NULL DEFAULT 0,
    received_by_vendor    integer NOT NULL DEFAULT 0,
    not_received          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, sync_id, school_id, data_type),
    FOREIGN KEY (tenant_id, sync_id) REFERENCES syncs (tenant_id, id) ON DELETE CASCADE
);

