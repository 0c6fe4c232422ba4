-- Batches (一企一批一码) and items (一企一物一码) of a code, their states and recalls: what
-- a scan of `/C/{code}/B/{batch}` and `/C/{code}/B/{batch}/S/{serial}` shows (DESIGN.md
-- "Lifecycle"). The events that move items live in the registry (lifecycle_events).

CREATE TABLE batches (
    id          bigserial     PRIMARY KEY,
    code_id     text          NOT NULL REFERENCES codes,
    batch_no    text          NOT NULL CHECK (batch_no ~ '^[0-9A-Z-]{1,20}$'),
    produced_on date          NOT NULL,
    use_by      date          NOT NULL CHECK (use_by >= produced_on),
    use_by_kind text          NOT NULL CHECK (use_by_kind IN ('expiry', 'retest')),
    quantity    numeric(16,3) NOT NULL CHECK (quantity > 0),
    unit        text          NOT NULL,
    -- {"inner": {"kind", "capacity", "unit"}, "outer": {...} | null}
    packaging   jsonb         NOT NULL,
    site        text,
    declared_by text          NOT NULL,  -- who declared it (the registry names its account)
    declared_at timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (code_id, batch_no)
);

-- A recall of a batch; ending one keeps the row (the history of recalls is kept whole).
CREATE TABLE batch_recalls (
    id           bigserial   PRIMARY KEY,
    batch_id     bigint      NOT NULL REFERENCES batches,
    reason       text        NOT NULL,
    instructions text        NOT NULL,
    started_by   text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_by     text,
    ended_at     timestamptz,
    end_note     text,
    CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
CREATE UNIQUE INDEX batch_recalls_one_open ON batch_recalls (batch_id) WHERE ended_at IS NULL;

-- One request for serials (items, cases or pallets) of a batch: the CSV and print sheets
-- of the packaging line are read back from it in `seq` order.
CREATE TABLE item_issues (
    id        bigserial   PRIMARY KEY,
    batch_id  bigint      NOT NULL REFERENCES batches,
    kind      text        NOT NULL CHECK (kind IN ('item', 'case', 'pallet')),
    count     integer     NOT NULL CHECK (count BETWEEN 1 AND 1000000),
    issued_by text        NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_issues_batch ON item_issues (batch_id, id);

-- Written by COPY a million at a time: no foreign keys to check per row (issue_id and
-- batch_id come from the issuing transaction), one btree (the serial) and a BRIN index.
CREATE TABLE items (
    serial     text        PRIMARY KEY CHECK (serial ~ '^[0-9A-HJKMNP-TV-Z]{13}$'),
    batch_id   bigint      NOT NULL,
    issue_id   bigint      NOT NULL,
    seq        integer     NOT NULL,
    kind       text        NOT NULL,
    state      text        NOT NULL DEFAULT 'issued',
    state_at   timestamptz,
    -- The enterprise (the registry's id) that last received it: a second receiver with no
    -- shipment between is an alert.
    holder     bigint,
    parent     text,       -- the case or pallet it is packed in
    alerted_at timestamptz -- the first alert about it: its scan page shows a caution
);
-- Rows of one issue are written together, so a BRIN index finds them for the CSV cheaply.
CREATE INDEX items_issue ON items USING brin (issue_id);
CREATE INDEX items_parent ON items (parent) WHERE parent IS NOT NULL;

-- Lifecycle entries the relay must drop from Redis (and announce, so resolvers drop their
-- L1 copies): written in the transaction that changed them, like cache_outbox.
CREATE TABLE lifecycle_outbox (
    id         bigserial   PRIMARY KEY,
    keys       text[]      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What scans saw that the registry turns into alerts, counted per day like scan_counts
-- (in each resolver, then Redis, moved here by the relay): a consumed or destroyed item
-- scanned again (after_end), a serial never issued (not_issued) or issued for another code
-- or batch (other_batch) scanned under a genuine code, and every scan of a declared batch
-- or its items (batch_scans), to compare with the batch's declared quantity.
CREATE TABLE scan_flags (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     text        NOT NULL
                         CHECK (kind IN ('after_end', 'not_issued', 'other_batch', 'batch_scans')),
    code_id  text        NOT NULL,
    batch_no text        NOT NULL,
    serial   text,       -- the item's; NULL for batch_scans
    day      date        NOT NULL,
    scans    bigint      NOT NULL CHECK (scans > 0),
    first_at timestamptz NOT NULL,
    last_at  timestamptz NOT NULL CHECK (last_at >= first_at),
    -- One row per flag and day; a NULL serial is one value here, not a new row each time.
    UNIQUE NULLS NOT DISTINCT (code_id, batch_no, kind, serial, day)
);
CREATE INDEX scan_flags_last_at ON scan_flags (last_at);
