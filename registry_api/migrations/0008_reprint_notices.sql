-- What each enterprise must reprint after a signing key was revoked (DESIGN.md "Key
-- compromise"): one notice per product code re-signed, written in the re-signing batch's
-- transaction, so a notice exists exactly when the code's signature changed.
CREATE TABLE reprint_notices (
    id             bigserial   PRIMARY KEY,
    enterprise_id  bigint      NOT NULL REFERENCES enterprises,
    product_id     bigint      NOT NULL REFERENCES products,
    code_id        text        NOT NULL REFERENCES codes,
    revoked_key_id text        NOT NULL REFERENCES signing_keys,
    new_key_id     text        NOT NULL REFERENCES signing_keys,
    -- What the reprinted label must carry.
    scan_url       text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code_id, revoked_key_id)
);
CREATE INDEX reprint_notices_enterprise ON reprint_notices (enterprise_id, id);
