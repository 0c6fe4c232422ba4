-- The safety permits an enterprise holds, kept on its record as its aging installations
-- are: [{"kind", "number", "issuer", "valid_from", "valid_until"}], days as YYYY-MM-DD,
-- at most one of each kind (production_safety 安全生产许可证, safe_use 危险化学品安全使用许可证,
-- trading 危险化学品经营许可证). The operations check the items; the table that they are a list.
ALTER TABLE enterprises ADD COLUMN permits jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT enterprises_permits_list CHECK (jsonb_typeof(permits) = 'array');
