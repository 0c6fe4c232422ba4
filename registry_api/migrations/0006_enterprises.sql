-- Enterprises (annex 3 and the extra items of the source document), the applications
-- for their accounts, and the tie between an enterprise and its owner account.

CREATE TABLE enterprises (
    id                  bigserial   PRIMARY KEY,
    uscc                text        NOT NULL UNIQUE,
    name                text        NOT NULL,
    county_id           text        NOT NULL REFERENCES jurisdictions,
    park_id             text        REFERENCES jurisdictions,
    address             text        NOT NULL,
    kinds               text[]      NOT NULL,
    industry_code       text        NOT NULL REFERENCES industry_classes,
    responsible_person  text,
    safety_head         text,
    safety_head_phone   text,
    emergency_phone     text,
    -- [{"name", "year_commissioned", "status"}]: the aging installations (老旧装置).
    aging_installations jsonb       NOT NULL DEFAULT '[]',
    status              text        NOT NULL DEFAULT 'active'
                                    CHECK (status IN ('active', 'deregistered')),
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enterprises_county ON enterprises (county_id);

CREATE TABLE enterprise_applications (
    id             bigserial   PRIMARY KEY,
    uscc           text        NOT NULL,
    name           text        NOT NULL,
    county_id      text        NOT NULL REFERENCES jurisdictions,
    address        text        NOT NULL,
    kinds          text[]      NOT NULL,
    industry_code  text        NOT NULL REFERENCES industry_classes,
    contact_name   text        NOT NULL,
    contact_mobile text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'approved', 'rejected')),
    reason         text,
    decided_by     bigint      REFERENCES accounts,
    decided_at     timestamptz,
    enterprise_id  bigint      REFERENCES enterprises,
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- One open application per credit code at a time.
CREATE UNIQUE INDEX enterprise_applications_one_pending
    ON enterprise_applications (uscc) WHERE status = 'pending';
CREATE INDEX enterprise_applications_county ON enterprise_applications (county_id, status);

ALTER TABLE accounts ADD COLUMN enterprise_id bigint REFERENCES enterprises;
ALTER TABLE accounts ADD CONSTRAINT accounts_enterprise_owner
    CHECK (kind <> 'enterprise' OR enterprise_id IS NOT NULL);
