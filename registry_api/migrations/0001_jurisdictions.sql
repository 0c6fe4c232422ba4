-- Jurisdictions: the GB/T 2260 tree (nation > province > city > county) and the chemical
-- parks admins attach to a county or a city (DESIGN.md "The registry").

CREATE TABLE jurisdictions (
    -- GB/T 2260 code (6 digits), 000000 for the nation; parks: the parent's code, P, a number.
    id         text        PRIMARY KEY CHECK (id ~ '^[0-9]{6}(P[0-9]{2,4})?$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    level      text        NOT NULL CHECK (level IN ('national', 'province', 'city', 'county', 'park')),
    parent_id  text        REFERENCES jurisdictions,
    -- Ids from the nation down, joined by '/': "below J" is a prefix test on an index.
    path       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((level = 'national') = (parent_id IS NULL))
);
CREATE INDEX jurisdictions_path ON jurisdictions (path text_pattern_ops);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id);

-- The path is derived from the parent's when a row is inserted (parents come first).
CREATE FUNCTION jurisdictions_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := NEW.id;
    ELSE
        SELECT path || '/' || NEW.id INTO STRICT NEW.path FROM jurisdictions WHERE id = NEW.parent_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER jurisdictions_path BEFORE INSERT ON jurisdictions
    FOR EACH ROW EXECUTE FUNCTION jurisdictions_set_path();
