-- The lifecycle of packages after printing: EPCIS 2.0 events (append-only, partitioned by
-- month of eventTime), the index of each item's and batch's events, idempotency by eventID,
-- and the alerts raised about items and batches (DESIGN.md "Lifecycle").

CREATE SEQUENCE lifecycle_event_seq;

CREATE TABLE lifecycle_events (
    id               bigint      NOT NULL,
    event_id         text        NOT NULL,  -- the eventID given: unique (lifecycle_event_ids)
    event_type       text        NOT NULL CHECK (event_type IN ('ObjectEvent', 'AggregationEvent')),
    action           text        NOT NULL CHECK (action IN ('ADD', 'OBSERVE', 'DELETE')),
    event_time       timestamptz NOT NULL,
    time_zone_offset text        NOT NULL,
    record_time      timestamptz NOT NULL DEFAULT now(),
    biz_step         text        NOT NULL,
    disposition      text,
    enterprise_id    bigint      NOT NULL,  -- the recorder, its bizLocation
    account_id       bigint      NOT NULL,
    parent           text,                  -- AggregationEvent: the case or pallet
    -- epcList (ObjectEvent) or childEPCs (AggregationEvent), as stored serials; a case's
    -- contents moved with it are in lifecycle_item_events, not here.
    serials          text[]      NOT NULL,
    condition        text        CHECK (condition IN ('intact', 'damaged', 'leaking')),
    note             text,
    PRIMARY KEY (id, event_time)
) PARTITION BY RANGE (event_time);
CREATE INDEX lifecycle_events_recorder ON lifecycle_events (enterprise_id, event_time);

-- Every item an event moved (those it names, and the contents of cases and pallets it
-- moved with them): an item's timeline is one index range.
CREATE TABLE lifecycle_item_events (
    serial     text        NOT NULL,
    event_time timestamptz NOT NULL,
    event      bigint      NOT NULL
) PARTITION BY RANGE (event_time);
CREATE INDEX lifecycle_item_events_serial ON lifecycle_item_events (serial, event_time);

-- Every batch an event touched: a batch's (and through its batches a code's) timeline.
CREATE TABLE lifecycle_batch_events (
    batch_id   bigint      NOT NULL,
    event_time timestamptz NOT NULL,
    event      bigint      NOT NULL
) PARTITION BY RANGE (event_time);
CREATE INDEX lifecycle_batch_events_batch ON lifecycle_batch_events (batch_id, event_time);

-- eventID once: a partitioned table's unique keys must hold the partition key, so the
-- identities live apart. A retry of an acknowledged event finds its id here.
CREATE TABLE lifecycle_event_ids (
    event_id   text        PRIMARY KEY,
    event      bigint      NOT NULL,
    event_time timestamptz NOT NULL
);

-- Anything outside the months made ahead (an event recorded long after it happened).
CREATE TABLE lifecycle_events_default PARTITION OF lifecycle_events DEFAULT;
CREATE TABLE lifecycle_item_events_default PARTITION OF lifecycle_item_events DEFAULT;
CREATE TABLE lifecycle_batch_events_default PARTITION OF lifecycle_batch_events DEFAULT;

-- The month partitions from `first_month` for `months` months, those missing: the relay's
-- scheduler calls it every day for the months ahead. A month whose rows went to the default
-- partition meanwhile (the relay down for months) is left there, and said so.
CREATE FUNCTION lifecycle_make_partitions(first_month date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    month_start date;
    parent text;
    child text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        month_start := date_trunc('month', first_month)::date + make_interval(months => i);
        FOREACH parent IN ARRAY ARRAY['lifecycle_events', 'lifecycle_item_events',
                                      'lifecycle_batch_events'] LOOP
            child := parent || '_' || to_char(month_start, 'YYYYMM');
            IF to_regclass(child) IS NULL THEN
                BEGIN
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                        child, parent, month_start,
                        month_start + interval '1 month');
                    made := made + 1;
                EXCEPTION WHEN check_violation THEN
                    RAISE NOTICE 'month % of % stays in the default partition: it holds rows of it',
                        month_start, parent;
                END;
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END;
$$;

SELECT lifecycle_make_partitions((now() AT TIME ZONE 'UTC')::date, 3);

-- What a scan or an event showed to be wrong with an item or a batch, with the evidence.
CREATE TABLE lifecycle_alerts (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN (
                                  'double_receipt',  -- received by two, no shipment between
                                  'after_end',       -- met again after consumed/destroyed
                                  'never_issued',    -- a serial the service never issued
                                  'over_quantity')), -- scans far beyond the batch's quantity
    enterprise_id bigint      NOT NULL REFERENCES enterprises,  -- the product's enterprise
    code_id       text        NOT NULL,
    batch_id      bigint,
    serial        text,
    -- A repeat of the same finding (same kind, item or batch, day) adds to this one.
    fingerprint   text        NOT NULL UNIQUE,
    evidence      jsonb       NOT NULL,
    occurrences   integer     NOT NULL DEFAULT 1,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    last_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lifecycle_alerts_enterprise ON lifecycle_alerts (enterprise_id, id);
