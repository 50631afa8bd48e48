//! # crdt-schema
//!
//! tally's data model over [Automerge](automerge) and its labor-scoring engine.
//!
//! * [`RegistryDoc`] — one per prison: districts, the inmate roster, products,
//!   procedures with standard-time versions, rule sets.
//! * [`RosterDoc`] — one per year: the roster's admissions, releases and
//!   transfers dated in it, laid over the registry by
//!   [`RegistryFacts::with_roster`].
//! * [`MonthDoc`] — one per district per month: attendance, assignments,
//!   counts, team counts, adjustments, approvals.
//! * [`Document::transact`] — the one place every write goes through; it returns
//!   the Automerge change so the caller can sign exactly that.
//! * [`score_month`] — `(registry facts, month facts) → Report`, a pure function
//!   in integers; [`board`] — the daily board.
//!
//! Architecture invariant: this crate does no I/O, reads no clock, opens no
//! socket, and never iterates a `HashMap` into an output. Everything it returns
//! is a function of the documents' contents.

pub mod board;
pub mod calendar;
pub mod doc;
pub mod facts;
pub mod ids;
pub mod layout;
pub mod month;
pub mod rates;
pub mod records;
pub mod registry;
pub mod report;
pub mod roster;
pub mod ruleset;
pub mod schema;
pub mod scoring;
pub mod units;
pub mod weekly;

pub use automerge;
pub use board::{Board, BoardRow, BoardUnit, board};
pub use calendar::{CalendarError, Date, Month, Week, Year};
pub use doc::{ChangeMeta, ChangeNote, Document, SchemaError};
pub use facts::{Entry, Problem};
pub use ids::{CodeError, DistrictId, InmateNo, ProcedureId, ProductId};
pub use layout::{
    AdjustmentId, ApprovalTarget, ContentId, DocId, KeyHex, MonthKey, RegistryKey, RosterKey,
    SCHEMA_VERSION,
};
pub use month::{
    InmateMonth, MonthDoc, MonthFacts, MonthWriter, SealState, adjustment_id, day_digest,
    team_digest,
};
pub use rates::{DistrictDay, InmateRates, MonthRates, month_rates};
pub use records::{
    Adjustment, Attendance, DayType, Grade, Inmate, NoQuotaGrade, ProcedureVersion, RecordError,
};
pub use registry::{Custody, RegistryDoc, RegistryFacts, RegistryWriter};
pub use report::{
    Flag, InmateResult, Report, ReportBody, ReportDigest, SealStatus, TransferredOut,
};
pub use roster::{RosterDoc, RosterFacts, RosterWriter};
pub use ruleset::{BaseBasis, Continuity, NoQuotaTable, Ramp, RuleSet, SPOT_DEDUCT_MAX_CP};
pub use schema::{
    AckState, Acknowledgement, Answer, AnswerOutcome, Application, ApplicationKind, Decision,
    Objection, Outcome, Posting, RecordClass, Review, Seal, needed_in_favour, two_thirds,
};
pub use scoring::{
    AdjustmentLine, DayFigures, DecisionLine, EntryStatus, InmateExplanation, Level, ScoreError,
    Sources, digest_to_seal, explain_inmate, explain_month, score_month,
};
pub use units::{Bp, Cp, CpParseError};
pub use weekly::{WeekRow, week_sheet};
