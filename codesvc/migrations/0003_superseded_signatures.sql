-- A code re-signed after its signing key was revoked keeps the signature it had (DESIGN.md
-- "Key compromise"): labels printed with it still scan, under a warning, until reprinted.
CREATE TABLE superseded_signatures (
    code_id       text        NOT NULL REFERENCES codes,
    key_id        text        NOT NULL REFERENCES signing_keys,
    signature     bytea       NOT NULL CHECK (length(signature) = 64),
    -- the key that signed the code in its place
    replaced_by   text        NOT NULL REFERENCES signing_keys,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code_id, key_id)
);
