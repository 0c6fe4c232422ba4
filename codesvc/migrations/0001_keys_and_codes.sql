-- Signing keys and the codes they sign (DESIGN.md "The code (format SC1)").

CREATE TABLE signing_keys (
    key_id             text        PRIMARY KEY CHECK (key_id ~ '^[0-9A-HJKMNP-TV-Z]{2}$'),
    sequence           integer     NOT NULL UNIQUE CHECK (sequence BETWEEN 1 AND 1023),
    public_key         bytea       NOT NULL CHECK (length(public_key) = 32),
    -- AES-GCM under SAFECODE_MASTER_KEY, bound to key_id: nonce (12) + ciphertext + tag.
    sealed_private_key bytea       NOT NULL,
    status             text        NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    retired_at         timestamptz,
    revoked_at         timestamptz,
    revoked_reason     text
);
-- At most one key signs new codes at a time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active';

CREATE TABLE codes (
    code_id           text        PRIMARY KEY CHECK (code_id ~ '^[0-9]{2}[0-9A-HJKMNP-TV-Z]{14}$'),
    -- Whatever the caller names the code for (the registry passes enterprise/product).
    subject           text        NOT NULL UNIQUE,
    key_id            text        NOT NULL REFERENCES signing_keys,
    signature         bytea       NOT NULL CHECK (length(signature) = 64),
    status            text        NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'suspended', 'revoked')),
    issued_at         timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX codes_key_id ON codes (key_id);

-- Every change of a code's status, issuance included (from_status NULL): never updated.
CREATE TABLE code_status_changes (
    id          bigserial   PRIMARY KEY,
    code_id     text        NOT NULL REFERENCES codes,
    from_status text,
    to_status   text        NOT NULL,
    reason      text        NOT NULL,
    actor       text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX code_status_changes_code ON code_status_changes (code_id, id);
