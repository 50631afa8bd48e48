-- tally's tables in the scoring database (计分考核数据库), schema version 2.
--
-- Created by `tally link` when absent; every statement may run again.
-- Plain SQL that PostgreSQL, KingbaseES, openGauss and HighGo all accept:
-- no ON CONFLICT (openGauss has its own upsert), no identity columns, no
-- generated columns, no JSON types, no arrays; a replaced month is written
-- as DELETE + INSERT inside one transaction.
--
-- Points are integer centipoints (cp, 1/100 point) as tally scores them;
-- the view gives points with two decimals for the other systems.

CREATE TABLE IF NOT EXISTS tally_schema (
    version integer NOT NULL
);

-- One row per district-month linked: what was linked and from which seal.
CREATE TABLE IF NOT EXISTS tally_months (
    prison      text    NOT NULL,
    district    text    NOT NULL,
    month       text    NOT NULL,          -- YYYY-MM
    digest      text    NOT NULL,          -- SHA-256 of tally's canonical report
    sealed      boolean NOT NULL,
    sealed_by   text,                      -- hex public key of the chief who sealed
    seal_change text,                      -- hash of the signed change that wrote the seal
    sealed_at   bigint,                    -- the seal change's stated time, seconds since 1970
    heads       text    NOT NULL,          -- the month document's heads, comma-separated
    rule_set    text    NOT NULL,
    version     integer NOT NULL,          -- 1, then +1 at every re-link of a changed report
    linked_at   timestamp with time zone NOT NULL DEFAULT now(),
    -- Since version 2:
    -- hex Ed25519 signature by sealed_by of the seal change: over the bytes
    -- 'tally/change/v1' 0x00 'month/<district>/<month>' 0x00 <the 32 bytes of seal_change> 0x00
    seal_signature text,
    -- the other districts' documents the sealed report read (transfers), as
    -- sealed: 'D02=h1,h2;D05=h3', empty when it read its own only
    sources     text    NOT NULL DEFAULT '',
    -- the posting (公示) the report was shown at: first and last day
    -- (YYYY-MM-DD), null when not posted
    posted_from text,
    posted_to   text,
    -- what the procedure had not done when the chief sealed all the same
    -- (the posting not ended, applications unanswered); empty when in order.
    -- An inmate with an application open has the flag under_review.
    seal_forced text    NOT NULL DEFAULT '',
    PRIMARY KEY (prison, district, month)
);

-- The month rows a re-link replaced (version 2), with when.
CREATE TABLE IF NOT EXISTS tally_months_history (
    prison         text    NOT NULL,
    district       text    NOT NULL,
    month          text    NOT NULL,
    digest         text    NOT NULL,
    sealed         boolean NOT NULL,
    sealed_by      text,
    seal_change    text,
    sealed_at      bigint,
    heads          text    NOT NULL,
    rule_set       text    NOT NULL,
    version        integer NOT NULL,
    linked_at      timestamp with time zone NOT NULL,
    seal_signature text,
    sources        text    NOT NULL,
    posted_from    text,
    posted_to      text,
    seal_forced    text    NOT NULL DEFAULT '',
    replaced_at    timestamp with time zone NOT NULL DEFAULT now()
);

-- The labor part of each inmate-month as linked. An inmate transferred
-- between districts appears once: in the district that scored the month.
CREATE TABLE IF NOT EXISTS tally_labor (
    prison            text    NOT NULL,
    district          text    NOT NULL,
    month             text    NOT NULL,
    inmate_no         text    NOT NULL,
    inmate_name       text    NOT NULL,
    base_cp           bigint  NOT NULL,
    bonus_cp          bigint  NOT NULL,
    pending_bonus_cp  bigint  NOT NULL,
    deduct_cp         bigint  NOT NULL,
    pending_deduct_cp bigint  NOT NULL,
    labor_cp          bigint  NOT NULL,
    flags             text    NOT NULL,    -- tally's flag codes, comma-separated
    custody_days      integer NOT NULL,
    labor_days        integer NOT NULL,
    work_days         integer NOT NULL,
    digest            text    NOT NULL,
    sealed            boolean NOT NULL,
    version           integer NOT NULL,
    PRIMARY KEY (prison, district, month, inmate_no)
);

-- Rows a re-link replaced, with when.
CREATE TABLE IF NOT EXISTS tally_labor_history (
    prison            text    NOT NULL,
    district          text    NOT NULL,
    month             text    NOT NULL,
    inmate_no         text    NOT NULL,
    inmate_name       text    NOT NULL,
    base_cp           bigint  NOT NULL,
    bonus_cp          bigint  NOT NULL,
    pending_bonus_cp  bigint  NOT NULL,
    deduct_cp         bigint  NOT NULL,
    pending_deduct_cp bigint  NOT NULL,
    labor_cp          bigint  NOT NULL,
    flags             text    NOT NULL,
    custody_days      integer NOT NULL,
    labor_days        integer NOT NULL,
    work_days         integer NOT NULL,
    digest            text    NOT NULL,
    sealed            boolean NOT NULL,
    version           integer NOT NULL,
    replaced_at       timestamp with time zone NOT NULL DEFAULT now()
);

-- The month's bonuses and deductions, with their state when linked.
CREATE TABLE IF NOT EXISTS tally_entries (
    prison    text    NOT NULL,
    district  text    NOT NULL,
    month     text    NOT NULL,
    inmate_no text    NOT NULL,
    entry_id  text    NOT NULL,
    entry_date text   NOT NULL,            -- YYYY-MM-DD
    points_cp bigint  NOT NULL,            -- as it counts: a correction's amount, 0 returned
    reason    text    NOT NULL,
    status    text    NOT NULL,            -- counted, awaiting_review, awaiting_approval, returned, void, not_counted
    version   integer NOT NULL,
    PRIMARY KEY (prison, district, month, inmate_no, entry_id)
);

-- Entries a re-link replaced (version 2), with when.
CREATE TABLE IF NOT EXISTS tally_entries_history (
    prison      text    NOT NULL,
    district    text    NOT NULL,
    month       text    NOT NULL,
    inmate_no   text    NOT NULL,
    entry_id    text    NOT NULL,
    entry_date  text    NOT NULL,
    points_cp   bigint  NOT NULL,
    reason      text    NOT NULL,
    status      text    NOT NULL,
    version     integer NOT NULL,
    replaced_at timestamp with time zone NOT NULL DEFAULT now()
);

-- Every link run, one row per district-month considered.
CREATE TABLE IF NOT EXISTS tally_link_log (
    at       timestamp with time zone NOT NULL DEFAULT now(),
    prison   text    NOT NULL,
    district text    NOT NULL,
    month    text    NOT NULL,
    digest   text    NOT NULL,
    action   text    NOT NULL,             -- linked, relinked, unchanged, amended
    rows     integer NOT NULL,
    version  integer NOT NULL
);

-- What the other systems read: the month's current labor part per inmate.
CREATE OR REPLACE VIEW tally_labor_month AS
SELECT prison,
       district,
       month,
       inmate_no,
       inmate_name,
       CAST(labor_cp / 100.0 AS numeric(14, 2)) AS labor_points,
       sealed,
       digest,
       flags,
       version
FROM tally_labor;
