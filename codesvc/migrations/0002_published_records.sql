-- What scans show: each code's published record, its pre-rendered variants, its history,
-- the outbox the relay drains into Redis, and the scan counts (DESIGN.md "Publishing").

CREATE TABLE published_records (
    code_id      text        PRIMARY KEY REFERENCES codes,
    -- Grows with every publish and every status change: caches keep the highest.
    version      bigint      NOT NULL CHECK (version > 0),
    revision     text        NOT NULL,
    approved_on  date        NOT NULL,
    record       jsonb       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- Every record ever published, never updated: what a scan showed on a given day.
CREATE TABLE published_history (
    code_id      text        NOT NULL REFERENCES codes,
    version      bigint      NOT NULL,
    revision     text        NOT NULL,
    approved_on  date        NOT NULL,
    record       jsonb       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code_id, version)
);

-- The bytes a scan answers with, rendered when the record or the code's status changed.
-- One row per (code, variant): html:{view}:{lang}, json, linkset.
CREATE TABLE published_variants (
    code_id text   NOT NULL REFERENCES codes,
    name    text   NOT NULL,
    version bigint NOT NULL,
    body    bytea  NOT NULL,
    etag    text   NOT NULL,
    PRIMARY KEY (code_id, name)
);

-- Written in the publisher's transaction; the relay copies the code's variants to Redis,
-- publishes an invalidation, then deletes the row. A crash in between loses nothing.
CREATE TABLE cache_outbox (
    id         bigserial   PRIMARY KEY,
    code_id    text        NOT NULL REFERENCES codes,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scan_counts (
    code_id text   NOT NULL,
    day     date   NOT NULL,
    view    text   NOT NULL,
    scans   bigint NOT NULL CHECK (scans >= 0),
    PRIMARY KEY (code_id, day, view)
);
