-- The audit log: every write of the registry, append-only and hash-chained. Each entry's
-- hash covers the previous entry's hash, so an edit or a deletion breaks the chain from
-- that entry on (`safecode audit verify` finds the first broken link).

CREATE TABLE audit_log (
    id           bigint      PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor_id     bigint      REFERENCES accounts,
    action       text        NOT NULL,
    subject_type text        NOT NULL,
    subject_id   text        NOT NULL,
    -- {"field": {"before": ..., "after": ...}} for what changed; secrets never appear.
    changes      jsonb       NOT NULL,
    prev_hash    bytea       NOT NULL,
    hash         bytea       NOT NULL UNIQUE
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
