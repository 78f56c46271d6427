-- The asynchronous side: cancellation and approval requests on syncs, and SFTP accounts.

ALTER TABLE syncs
    ADD COLUMN cancel_requested_at  timestamptz,   -- syncCancel of a RUNNING sync: the worker stops at its next step
    ADD COLUMN approved_at          timestamptz,   -- syncApprove: the HELD sync is queued again to be applied
    ADD COLUMN progress_at          timestamptz;   -- when the progress snapshot was last stored

-- One SFTP account per tenant: its own root folder under the data directory and its own credentials.
-- Logins look the account up by username, so usernames are unique across tenants.
CREATE TABLE sftp_accounts (
    tenant_id        bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username         text NOT NULL CHECK (username ~ '^[A-Za-z0-9._-]{1,64}$'),
    password_hash    text,                          -- scrypt, "scrypt$n$r$p$salt$hash" (hex); NULL: keys only
    authorized_keys  text[] NOT NULL DEFAULT '{}',  -- OpenSSH public keys, one per entry
    app_id           bigint,                        -- the sftp import app whose syncs the drops become
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id),
    UNIQUE (username)
);
