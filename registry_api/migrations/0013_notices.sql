-- Notices (通知公告): what an admin publishes to its unit and every unit below it, and to
-- the enterprises there when it says so; and who has read each (DESIGN.md "Oversight").

CREATE TABLE notices (
    id             bigserial   PRIMARY KEY,
    unit_id        text        NOT NULL REFERENCES jurisdictions,  -- the publishing unit
    author_id      bigint      NOT NULL REFERENCES accounts,
    title          text        NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body           text        NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    to_enterprises boolean     NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now()
);
-- A reader's notices are those of the units above it, the newest first: one index range
-- per unit on the way up.
CREATE INDEX notices_unit ON notices (unit_id, id DESC);

-- A read receipt: one per account and notice, kept at the first reading.
CREATE TABLE notice_receipts (
    id         bigserial   PRIMARY KEY,  -- the order readings arrived in: paging of receipts
    notice_id  bigint      NOT NULL REFERENCES notices,
    account_id bigint      NOT NULL REFERENCES accounts,
    read_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (notice_id, account_id)
);
-- A reader's unread notices: whether it has a receipt, account first.
CREATE INDEX notice_receipts_account ON notice_receipts (account_id, notice_id);
