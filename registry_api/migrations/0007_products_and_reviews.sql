-- Products of enterprises, their SDS and label revisions, the review pipelines the
-- submissions go through, and the registration certificates approval gives.

CREATE TABLE products (
    id               bigserial   PRIMARY KEY,
    enterprise_id    bigint      NOT NULL REFERENCES enterprises,
    name_zh          text        NOT NULL,
    name_en          text,
    cas_numbers      text[]      NOT NULL DEFAULT '{}',
    -- [{"name": {"zh", "en"}, "cas", "concentration"}]: the components of a mixture.
    components       jsonb       NOT NULL DEFAULT '[]',
    un_number        text        CHECK (un_number ~ '^UN[0-9]{4}$'),
    catalogue_number integer     CHECK (catalogue_number BETWEEN 1 AND 9999),  -- 危险化学品目录
    highly_toxic     boolean     NOT NULL DEFAULT false,                        -- 剧毒
    physical_form    text        NOT NULL
                                 CHECK (physical_form IN ('solid', 'liquid', 'gas', 'aerosol', 'paste')),
    -- One code per product, issued at its first approval.
    code_id          text        UNIQUE REFERENCES codes,
    version          integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (enterprise_id, name_zh)
);

CREATE TABLE revisions (
    id             bigserial   PRIMARY KEY,
    product_id     bigint      NOT NULL REFERENCES products,
    number         integer     NOT NULL CHECK (number > 0),
    status         text        NOT NULL DEFAULT 'draft'
                               CHECK (status IN ('draft', 'submitted', 'current', 'superseded')),
    -- [{"class", "category", "hazard"}], the label elements, and the SDS (see products.py).
    classification jsonb       NOT NULL DEFAULT '[]',
    label          jsonb,
    sds            jsonb       NOT NULL DEFAULT '{}',
    version        integer     NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    approved_on    date,
    UNIQUE (product_id, number)
);
-- One revision in the works per product (a draft, or one under review), besides the current.
CREATE UNIQUE INDEX revisions_one_open ON revisions (product_id)
    WHERE status IN ('draft', 'submitted');
CREATE UNIQUE INDEX revisions_one_current ON revisions (product_id) WHERE status = 'current';

-- A submission moves through the steps of its pipeline (pipelines.py): `step` is the
-- index of the step waiting for a decision. Deciding moves it on only from the step read,
-- so of two reviewers deciding at once exactly one wins.
CREATE TABLE submissions (
    id              bigserial   PRIMARY KEY,
    pipeline        text        NOT NULL
                                CHECK (pipeline IN ('registration', 'info_update', 'deregistration')),
    kind            text        NOT NULL,  -- registration: new, change, renewal; else = pipeline
    enterprise_id   bigint      NOT NULL REFERENCES enterprises,
    -- info_update: the fields to change; deregistration: {"reason"}.
    payload         jsonb       NOT NULL DEFAULT '{}',
    step            integer     NOT NULL DEFAULT 0,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'approved', 'rejected')),
    resubmission_of bigint      REFERENCES submissions,
    submitted_by    bigint      NOT NULL REFERENCES accounts,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE INDEX submissions_waiting ON submissions (pipeline, step) WHERE status = 'pending';
CREATE INDEX submissions_enterprise ON submissions (enterprise_id);
-- One pending submission of a pipeline per enterprise at a time.
CREATE UNIQUE INDEX submissions_one_pending ON submissions (enterprise_id, pipeline)
    WHERE status = 'pending';

-- The revisions a registration submission asks to approve.
CREATE TABLE submission_revisions (
    submission_id bigint NOT NULL REFERENCES submissions,
    revision_id   bigint NOT NULL REFERENCES revisions,
    PRIMARY KEY (submission_id, revision_id)
);

CREATE TABLE review_decisions (
    id            bigserial   PRIMARY KEY,
    submission_id bigint      NOT NULL REFERENCES submissions,
    step          integer     NOT NULL,
    decision      text        NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason        text        CHECK (decision = 'approve' OR length(reason) > 0),
    decided_by    bigint      NOT NULL REFERENCES accounts,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (submission_id, step)
);

-- 危险化学品登记证: issued by the final approval of a new registration, three years valid.
CREATE TABLE certificates (
    id            bigserial   PRIMARY KEY,
    number        text        NOT NULL UNIQUE,
    enterprise_id bigint      NOT NULL REFERENCES enterprises,
    submission_id bigint      NOT NULL REFERENCES submissions,
    issued_on     date        NOT NULL,
    expires_on    date        NOT NULL CHECK (expires_on > issued_on),
    status        text        NOT NULL DEFAULT 'valid'
                              CHECK (status IN ('valid', 'renewed', 'revoked'))
);
CREATE UNIQUE INDEX certificates_one_valid ON certificates (enterprise_id) WHERE status = 'valid';
CREATE INDEX certificates_expiry ON certificates (expires_on) WHERE status = 'valid';
CREATE SEQUENCE certificate_numbers;
