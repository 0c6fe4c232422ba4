-- Accounts (regulators of annex 2; enterprise owners arrive with the enterprises) and
-- their sessions. The mobile number is the login name.

CREATE TABLE accounts (
    id                   bigserial   PRIMARY KEY,
    kind                 text        NOT NULL CHECK (kind IN ('regulator', 'enterprise')),
    mobile               text        NOT NULL UNIQUE CHECK (mobile ~ '^1[3-9][0-9]{9}$'),
    name                 text        NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    password_hash        text        NOT NULL,
    must_change_password boolean     NOT NULL DEFAULT true,
    failed_logins        integer     NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    disabled_at          timestamptz,
    -- Regulators (annex 2).
    role                 text        CHECK (role IN ('admin', 'reviewer', 'viewer')),
    level                text        CHECK (level IN ('national', 'province', 'city', 'county', 'park')),
    jurisdiction_id      text        REFERENCES jurisdictions,
    work_unit            text,
    position             text,
    office_phone         text,
    -- AES-GCM under a key derived from SAFECODE_MASTER_KEY; responses show the mask only.
    resident_id_sealed   bytea,
    resident_id_masked   text,
    remark               text,
    created_by           bigint      REFERENCES accounts,
    created_at           timestamptz NOT NULL DEFAULT now(),
    version              integer     NOT NULL DEFAULT 1,
    CHECK (kind <> 'regulator' OR (role IS NOT NULL AND level IS NOT NULL
                                   AND jurisdiction_id IS NOT NULL AND work_unit IS NOT NULL))
);
CREATE INDEX accounts_jurisdiction ON accounts (jurisdiction_id);

-- Opaque bearer tokens, stored as SHA-256: a leaked table does not log anyone in.
CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id);
