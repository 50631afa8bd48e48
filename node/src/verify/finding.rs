//! What `tally verify` finds, as values: a [`Problem`] fails the bundle, a
//! [`Note`] is worth knowing and fails nothing. Each says itself in the
//! words `tally verify` prints (and `--json` carries those words, as it
//! always has); tests and callers match on the variants, not on the words.

use std::fmt;

use crdt_schema::{Date, DistrictId, DocId, InmateNo, Month, Week};
use serde::{Serialize, Serializer};

use crate::close::NotDone;
use crate::validate::{Refusal, Wait};

/// Something that makes the bundle fail verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The bundle's bytes are not a bundle (truncated, trailing bytes …).
    Bundle(crate::bundle::BundleError),
    /// A change the validator refused.
    Refused {
        doc: DocId,
        change: String,
        refusal: Refusal,
    },
    /// A change that cannot be judged from what the bundle carries.
    Unverifiable {
        doc: DocId,
        change: String,
        wait: Wait,
    },
    /// Accepted changes that do not form the document (Automerge or the schema refused them).
    Document { doc: DocId, reason: String },
    /// No certificate verifies under the given authority key.
    ForeignAuthority,
    /// The unsigned header names another prison than the signed registry.
    HeaderPrison { header: String, registry: String },
    /// The exporter's statement does not verify (signature, format).
    Statement(String),
    /// The statement does not cover the bytes before it.
    StatementContent,
    /// The statement names other documents, heads or counts than carried.
    StatementDocuments,
    /// `--require-statement`, and no enrolled device signed one.
    StatementRequired,
    /// The header names a district that is not a district id.
    HeaderDistrict(String),
    /// The header names a district the registry does not have.
    UnknownDistrict(DistrictId),
    /// The header names a month the bundle carries no document of.
    MonthNotCarried(Month),
    /// No month document at all.
    NoMonth,
    /// The report recomputed at the sealed state is not the sealed digest.
    SealMismatch { doc: DocId, sealed: String },
    /// A seal under the decision levels that names no registry state.
    SealNamesNoRegistry { doc: DocId },
    /// Sealed before the procedure was done, without saying it was forced.
    SealedEarly {
        doc: DocId,
        on: Date,
        not_done: Vec<NotDone>,
    },
    /// The report could not be computed.
    Score { doc: DocId, reason: String },
    /// A device's checkpoint, from before the export, names heads the
    /// bundle's history lacks: changes it had that the exporter left out.
    Omits {
        doc: DocId,
        /// The device, as its enrolment names it.
        device: String,
        /// The checkpoint's date.
        on: String,
        /// Heads of the checkpoint not in the bundle.
        missing: u32,
        /// Of those, the ones the verifier's own replica holds (signed
        /// changes in hand, not only the device's word).
        in_hand: u32,
        /// Changes the device held then.
        changes: u64,
        /// The checkpoint is the exporting device's own: it had them.
        by_exporter: bool,
        /// Who exported the bundle, when a signed statement says.
        exporter: Option<String>,
    },
    /// The verifier's own replica holds changes of a document the bundle is
    /// of, stated before the bundle was made, that the bundle lacks.
    LacksHeld {
        doc: DocId,
        changes: u32,
        /// The dates the first and last of them state.
        first: String,
        last: String,
        exporter: Option<String>,
    },
}

/// Something worth knowing that does not fail the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The bundle has no signed statement of what it holds.
    NoStatement,
    /// The exporter trusted another authority than the one given.
    OtherAuthority { header: String },
    /// The statement verifies but its device is not enrolled.
    UnenrolledExporter { device: String },
    /// The registry names no prison (the header's is not shown).
    NoPrisonName { header: String },
    /// A one-district bundle without the district's document: scored empty.
    ScoredEmpty { doc: DocId },
    /// A source in a one-district bundle whose own sources are not carried.
    SourceNotRecomputed { doc: DocId, source: DistrictId },
    /// A document the report reads is not carried: read as empty.
    SourceMissing { doc: DocId, source: DistrictId },
    /// The report reads other districts' documents.
    ReadsSources {
        doc: DocId,
        sources: Vec<DistrictId>,
    },
    /// A review decides an entry the document does not hold.
    DecidesNothing {
        doc: DocId,
        week: Week,
        entry: String,
        inmate: InmateNo,
    },
    /// The registry as it stood at the seal is not carried.
    NoRegistryAtSeal { doc: DocId },
    /// A document as the seal read it is not carried.
    SealSourceMissing { doc: DocId, source: DistrictId },
    /// A roster shard as the seal read it is not carried.
    SealRosterMissing { doc: DocId, year: crdt_schema::Year },
    /// The seal's wait is not checked (no registry of the seal).
    WaitNotChecked { doc: DocId },
    /// Sealed with the procedure not done, and says so.
    Forced {
        doc: DocId,
        on: Date,
        forced: String,
    },
    /// Inmates amended after the seal.
    Amended { doc: DocId, inmates: u32 },
    /// The report differs from the seal though no record changed.
    RegistryChanged { doc: DocId },
    /// The month is not sealed.
    NotSealed { doc: DocId },
    /// Changes made concurrently with the revocation of their key.
    ConcurrentRevocation { officer: String, changes: u32 },
    /// A device's checkpoint taken after the export names heads the bundle
    /// lacks: changed since the export (or left out; the bundle cannot say).
    ChangedSinceExport {
        doc: DocId,
        device: String,
        on: String,
        missing: u32,
    },
    /// The verifier's own replica lacks heads a device's checkpoint names:
    /// not received yet.
    NotYetReceived {
        doc: DocId,
        device: String,
        on: String,
        missing: u32,
    },
}

impl Problem {
    /// A change's short hash, as findings name it.
    pub(crate) fn short(hash: &crdt_schema::automerge::ChangeHash) -> String {
        hash.to_string()[..12].to_string()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Bundle(e) => write!(f, "{e}"),
            Problem::Refused {
                doc,
                change,
                refusal,
            } => write!(f, "{doc}: change {change}: {refusal}"),
            Problem::Unverifiable { doc, change, wait } => {
                write!(f, "{doc}: change {change}: cannot be verified: {wait}")
            }
            Problem::Document { doc, reason } | Problem::Score { doc, reason } => {
                write!(f, "{doc}: {reason}")
            }
            Problem::ForeignAuthority => f.write_str(
                "no certificate in the bundle verifies under the given authority key: the bundle is from another authority",
            ),
            Problem::HeaderPrison { header, registry } => write!(
                f,
                "the bundle's header names the prison `{header}`, its signed registry `{registry}`: the header was edited"
            ),
            Problem::Statement(e) => write!(f, "the exporter's statement: {e}"),
            Problem::StatementContent => f.write_str(
                "the exporter's signed statement does not cover this bundle's contents: records were added, removed or changed after it was signed",
            ),
            Problem::StatementDocuments => f.write_str(
                "the exporter's signed statement names other documents, heads or change counts than the bundle carries",
            ),
            Problem::StatementRequired => f.write_str(
                "no statement signed by an enrolled device, and one is required (--require-statement): ask the exporter for a bundle its enrolled PC signs",
            ),
            Problem::HeaderDistrict(e) => write!(f, "the bundle names district {e}"),
            Problem::UnknownDistrict(d) => write!(
                f,
                "the bundle names district {d}, which the registry does not have"
            ),
            Problem::MonthNotCarried(m) => write!(
                f,
                "the bundle names month {m} but carries no document of it"
            ),
            Problem::NoMonth => f.write_str("the bundle holds no month document"),
            Problem::SealMismatch { doc, sealed } => write!(
                f,
                "{doc}: seal mismatch: the report recomputed at the sealed state is not the digest {} the chief sealed",
                &sealed[..16.min(sealed.len())]
            ),
            Problem::SealNamesNoRegistry { doc } => write!(
                f,
                "{doc}: the seal names no registry state, so whether it waited for the posting and the answers cannot be confirmed"
            ),
            Problem::Omits {
                doc,
                device,
                on,
                missing,
                in_hand,
                changes,
                by_exporter,
                exporter,
            } => {
                write!(
                    f,
                    "{doc}: omits changes that {device} had on {on} (its signed checkpoint of {changes} change(s) names {missing} head(s) the bundle lacks; this replica holds {in_hand} of them, signed)"
                )?;
                if *by_exporter {
                    f.write_str("; the checkpoint is the exporting device's own: it had them")?;
                }
                exported_by(f, exporter)
            }
            Problem::LacksHeld {
                doc,
                changes,
                first,
                last,
                exporter,
            } => {
                write!(
                    f,
                    "{doc}: lacks {changes} signed change(s) this replica holds, stated {first} to {last}, before the bundle was made (left out, or not yet received by its exporter)"
                )?;
                exported_by(f, exporter)
            }
            Problem::SealedEarly { doc, on, not_done } => write!(
                f,
                "{doc}: sealed on {on} before the procedure was done ({}), and the seal does not say it was forced",
                crate::close::joined(not_done)
            ),
        }
    }
}

/// Who a bundle's statement names as its exporter.
fn exported_by(f: &mut fmt::Formatter<'_>, exporter: &Option<String>) -> fmt::Result {
    match exporter {
        Some(e) => write!(f, "; the bundle was exported and signed by {e}"),
        None => write!(f, "; the bundle's exporter signed no statement"),
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::NoStatement => f.write_str(
                "the bundle carries no signed statement of what it holds (exported by a tally before statements, by a user who could not read the device key, or stripped since): what it may leave out cannot be attributed to its exporter",
            ),
            Note::OtherAuthority { header } => write!(
                f,
                "the exporter trusted authority {}…, not the one given",
                header.chars().take(16).collect::<String>()
            ),
            Note::UnenrolledExporter { device } => write!(
                f,
                "the statement is signed by device {device}…, which the authority has not enrolled: it binds that key, not a known device"
            ),
            Note::NoPrisonName { header } => write!(
                f,
                "the registry names no prison; the header's `{header}` is not signed, so none is shown"
            ),
            Note::ScoredEmpty { doc } => write!(
                f,
                "{doc}: not in the bundle (no changes were recorded there): scored as empty"
            ),
            Note::SourceNotRecomputed { doc, source } => write!(
                f,
                "{doc} is in this one-district bundle as a source of its district's report; its own report reads {source}'s document, which the bundle does not carry: not recomputed"
            ),
            Note::SourceMissing { doc, source } => write!(
                f,
                "{doc}: its report reads {source}'s document (an inmate transferred in), which is not in the bundle: read as empty"
            ),
            Note::ReadsSources { doc, sources } => write!(
                f,
                "{doc}: the report reads the documents of {} (inmates transferred in)",
                sources
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Note::DecidesNothing {
                doc,
                week,
                entry,
                inmate,
            } => write!(
                f,
                "{doc}: the review of {week} decides entry {entry} of {inmate}, which this document does not hold: it decides nothing"
            ),
            Note::NoRegistryAtSeal { doc } => write!(
                f,
                "{doc}: the registry as it stood at the seal is not in the bundle; the sealed state is compared under the current registry"
            ),
            Note::SealSourceMissing { doc, source } => write!(
                f,
                "{doc}: {source}'s document as the seal read it is not in the bundle"
            ),
            Note::SealRosterMissing { doc, year } => write!(
                f,
                "{doc}: the roster of {year} as the seal read it is not in the bundle"
            ),
            Note::WaitNotChecked { doc } => write!(
                f,
                "{doc}: whether the seal waited for the posting and the answers is not checked (the registry as it stood then is not in the bundle)"
            ),
            Note::Forced { doc, on, forced } => write!(
                f,
                "{doc}: sealed on {on} with the procedure not done, and says so (forced): {forced}"
            ),
            Note::Amended { doc, inmates } => write!(
                f,
                "{doc}: {inmates} inmate(s) amended after the seal (flagged amended_after_seal)"
            ),
            Note::RegistryChanged { doc } => write!(
                f,
                "{doc}: the report no longer matches the seal though no record changed since: the registry (standard times, roster, rules) did"
            ),
            Note::NotSealed { doc } => write!(f, "{doc}: not sealed"),
            Note::ChangedSinceExport {
                doc,
                device,
                on,
                missing,
            } => write!(
                f,
                "{doc}: {device} had {missing} head(s) the bundle lacks on {on}, after the export: changed since (a newer bundle would carry them)"
            ),
            Note::NotYetReceived {
                doc,
                device,
                on,
                missing,
            } => write!(
                f,
                "{doc}: this replica lacks {missing} head(s) {device} had on {on}: not received yet (sync with it, or with a node that has them)"
            ),
            Note::ConcurrentRevocation { officer, changes } => write!(
                f,
                "{changes} changes by officer {officer} were made concurrently with the revocation of their key"
            ),
        }
    }
}

/// `--json` carries each finding in the words `tally verify` prints, as it
/// did before findings were typed: tools reading it keep working.
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Note {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
