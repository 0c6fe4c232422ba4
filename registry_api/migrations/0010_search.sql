-- Search of enterprises and products (oversight): the name by substring, the identifiers
-- exactly; and the look-ups an enterprise's audit trail makes.
--
-- pg_trgm is not in every PostgreSQL we run on (the embedded one has only plpgsql), so
-- names are indexed by their bigrams in a plain GIN over text[]: a substring of two
-- characters or more has all its bigrams in the name, which the index finds; the
-- candidates are then checked with strpos. Bigrams suit Chinese names, whose words are
-- mostly two characters.

CREATE FUNCTION search_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(lower(value), i, 2)), '{}')
    FROM generate_series(1, length(value) - 1) AS i
$$;

-- fastupdate off: a new row goes into the index at once. With it on, rows wait in a pending
-- list that every search reads whole until a vacuum merges it (after a bulk load, 15 ms per
-- search instead of 1); enterprises and products are added a few at a time.
CREATE INDEX enterprises_name_grams ON enterprises
    USING gin (search_grams(name)) WITH (fastupdate = off);
-- The Chinese and English names of a product, one text (what search_products matches).
CREATE INDEX products_name_grams ON products
    USING gin (search_grams(name_zh || ' ' || coalesce(name_en, ''))) WITH (fastupdate = off);
CREATE INDEX products_cas_numbers ON products USING gin (cas_numbers) WITH (fastupdate = off);
-- Components' CAS numbers: components @> '[{"cas": "..."}]'.
CREATE INDEX products_components ON products
    USING gin (components jsonb_path_ops) WITH (fastupdate = off);
CREATE INDEX products_un_number ON products (un_number);

-- What an enterprise's audit trail gathers the subjects of.
CREATE INDEX enterprise_applications_enterprise ON enterprise_applications (enterprise_id);
CREATE INDEX certificates_enterprise ON certificates (enterprise_id);
