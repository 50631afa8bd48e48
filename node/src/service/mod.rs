//! The use cases the CLI and the app share, written once: unlock an
//! officer's key, score, board, explain, audit, export, approve and seal,
//! import (plan and apply), roster and catalogue edits. Each takes plain
//! arguments (the caller's clock included: a use case reads no clock) and
//! returns plain data or a typed [`ServiceError`]; the CLI prints the one and
//! the English of the other, the app maps both to its language.
//!
//! Reads take the data directory's shared lock, writes a [`WriteSession`]
//! (exclusive lock, every change judged as a peer's would be, nothing written
//! unless all of it is).

pub mod link;
mod resolve;
pub mod review;
pub mod rules;

use std::path::Path;

use crdt_schema::schema::RecordClass;
use crdt_schema::{
    Adjustment, Board, Date, DistrictId, DocId, Inmate, InmateExplanation, InmateNo, Month,
    MonthDoc, ProcedureId, ProcedureVersion, ProductId, RegistryDoc, RegistryFacts, Report,
    ReportDigest, ScoreError, Sources, Year, explain_inmate,
};
use keys::Role;

use crate::audit::{self, AuditTrail};
use crate::close::{self, Approved, CloseError};
use crate::export::{self, ExportError, Format};
use crate::identity::{self, UnlockError};
use crate::import::{self, ImportError, Kind};
use crate::input::{self, InputError};
use crate::ops;
use crate::read::{self, ReadError};
use crate::session::{Committed, Identity, WriteError, WriteSession};
use crate::store::{Store, StoreError};
use crate::validate::Trust;

/// Why a use case did not do what was asked. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Close(#[from] CloseError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Unlock(#[from] UnlockError),
    #[error(transparent)]
    Link(#[from] ::link::LinkError),
    /// A record of the month's procedure (review, posting, application,
    /// answer) that cannot be recorded, and why.
    #[error("refused: {0}")]
    BadReview(String),
    #[error("{}: the database password is not UTF-8 text", path.display())]
    LinkPassword { path: std::path::PathBuf },
    /// The file was read and refused whole: every error, each naming line,
    /// column and value.
    #[error("{0}")]
    Rejected(ImportError),
    #[error("unknown district {0}")]
    UnknownDistrict(DistrictId),
    #[error("inmate {inmate} has no roster entry or records in {district} {month}")]
    UnknownInmate {
        inmate: InmateNo,
        district: DistrictId,
        month: Month,
    },
    /// The inmate left the district during the month: the district holding
    /// them at its end scores the whole month (RULES.md, transfers).
    #[error(
        "inmate {inmate} left {district} during {month}: the whole month is scored by {to}, which held them on its last custody day"
    )]
    ScoredElsewhere {
        inmate: InmateNo,
        district: DistrictId,
        month: Month,
        to: DistrictId,
    },
    /// A record for a day another district held the inmate.
    #[error(
        "inmate {inmate} was in {held} on {date}, not in {district}: a record of that day belongs to {held}'s document"
    )]
    HeldElsewhere {
        inmate: InmateNo,
        date: Date,
        district: DistrictId,
        held: DistrictId,
    },
    /// A transfer that cannot be recorded, and why.
    #[error("transfer refused: {0}")]
    BadTransfer(String),
    /// Transfers that would change sealed months, not forced.
    #[error(
        "the transfer changes sealed months ({}): refused; record it with --force to amend them (each then shows the amendment until resealed)",
        months.iter().map(|(d, m)| format!("{d}/{m}")).collect::<Vec<_>>().join(", ")
    )]
    TransferAmendsSealed { months: Vec<(DistrictId, Month)> },
    /// A rule set whose fields do not hold.
    #[error("rule set refused: {0}")]
    BadRules(String),
    /// A rule set that would change sealed months, not forced.
    #[error(
        "the rule set would change sealed months ({}): refused; publish with --force to amend them (each then shows amended_after_seal until resealed)",
        months.iter().map(|m| format!("{}/{}: {} inmate(s)", m.district, m.month, m.inmates)).collect::<Vec<_>>().join(", ")
    )]
    RulesAmendSealed { months: Vec<rules::RuleEffect> },
    /// An approval of what the chief was shown, which has changed since.
    #[error("what awaits approval for {inmate} changed since it was shown: nothing approved")]
    ApprovalChanged { inmate: InmateNo },
    /// A value picked for a record in conflict that is not one of its values.
    #[error("record {key}: {reason}")]
    BadValue { key: String, reason: String },
    /// A conflict of a kind not resolved by picking a value (registry
    /// records, confirmations, seals): the CLI's tools handle it.
    #[error("record {key}: this kind of conflict cannot be resolved by picking a value")]
    NotResolvable { key: String },
    /// A seal of the report the chief was shown, which has changed since.
    #[error("{district} {month} changed since it was shown: not sealed")]
    SealChanged { district: DistrictId, month: Month },
}

impl ServiceError {
    /// Whether the validator refused the write (as any peer would).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ServiceError::Write(WriteError::Refused(_))
                | ServiceError::Close(CloseError::Write(WriteError::Refused(_)))
        )
    }

    /// Whether the write waits on something this replica lacks yet.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            ServiceError::Write(WriteError::Pending(_))
                | ServiceError::Close(CloseError::Write(WriteError::Pending(_)))
        )
    }
}

type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// A value read, with the problems found loading what it came from (torn
/// or corrupt records skipped), for the caller to report.
#[derive(Debug, Clone)]
pub struct Read<T> {
    pub value: T,
    pub issues: Vec<String>,
}

/// Who is logged in, as the certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    pub officer_no: String,
    pub name: String,
    pub role: Role,
    pub district: Option<DistrictId>,
}

impl Officer {
    /// Whether the validator would let this officer write records of
    /// `class` into `doc`: the permission table of `replica-core`, so a UI
    /// offers exactly what a save would be allowed to do.
    pub fn may(&self, doc: &DocId, class: RecordClass) -> bool {
        crate::validate::may_write(self.role, self.district.as_ref(), doc, class)
    }

    /// [`Officer::may`] in a district's month document.
    pub fn may_in(&self, district: &DistrictId, month: Month, class: RecordClass) -> bool {
        self.may(&DocId::month(district.clone(), month), class)
    }

    /// Whether this officer may write a district's daily records that month.
    pub fn writes_daily_records_of(&self, district: &DistrictId, month: Month) -> bool {
        self.may_in(district, month, RecordClass::Daily)
    }
}

/// An officer's key unlocked and checked against this replica's registry.
#[derive(Debug)]
pub struct Unlocked {
    pub identity: Identity,
    pub officer: Officer,
    /// The prison's districts: id and name.
    pub districts: Vec<(DistrictId, String)>,
}

/// Every district's report of a month (or one district's).
#[derive(Debug, Clone)]
pub struct Scores {
    pub registry: RegistryFacts,
    pub reports: Vec<Report>,
}

/// A district-month's report as a file's bytes.
#[derive(Debug, Clone)]
pub struct ReportFile {
    pub bytes: Vec<u8>,
    pub digest: ReportDigest,
    pub inmates: usize,
}

/// A file imported: its rows, the records they changed, the documents
/// that received a signed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The worksheet read, for a workbook.
    pub sheet: Option<String>,
    pub rows: usize,
    pub changed: usize,
    pub documents: usize,
    /// Records this import wrote that the score does not count (RULES.md,
    /// "Records that do not count"), each as `document: key: reason` —
    /// written, so nothing typed is lost, but never silently.
    pub not_counted: Vec<String>,
}

/// A file to import.
#[derive(Debug, Clone, Copy)]
pub struct ImportFile<'a> {
    pub kind: Kind,
    pub path: &'a Path,
    /// Of a workbook, the worksheet to read (default: the first visible one).
    pub sheet: Option<&'a str>,
    /// The file's name in messages and in the change's note.
    pub label: &'a str,
    /// Transfers may replace others of their date and change sealed months
    /// (which then show the amendment until resealed).
    pub force: bool,
}

/// The steps of an import, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStep {
    Reading,
    Checking { bytes: usize },
    Signing { rows: usize },
}

/// A month sealed: the report digest it was sealed at, and whether it had
/// been sealed before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub digest: ReportDigest,
    pub resealed: bool,
    pub committed: Committed,
}

/// The registry's catalogue and roster.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub districts: Vec<(DistrictId, String)>,
    pub products: Vec<(ProductId, String)>,
    /// Every version of every procedure, by procedure then date.
    pub procedures: Vec<ProcedureLine>,
    pub inmates: Vec<(InmateNo, Inmate)>,
    /// Every transfer (调监区): inmate, first day there, district.
    pub transfers: Vec<(InmateNo, Date, DistrictId)>,
}

/// One version of a procedure's standard time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureLine {
    pub id: ProcedureId,
    pub from: Date,
    pub version: ProcedureVersion,
    /// Two writers set this version concurrently to different values.
    pub conflict: bool,
}

/// The use cases on one data directory.
pub struct Service {
    store: Store,
}

impl Service {
    /// Opens an initialised data directory.
    pub fn open(data: &Path) -> Result<Service> {
        Ok(Service {
            store: Store::open(data)?,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Unlocks an officer's key file and checks its certificate against
    /// this replica: issued by the authority it trusts, valid `today`, not
    /// revoked in the registry.
    pub fn unlock(
        &self,
        key_file: &Path,
        passphrase: &str,
        today: Date,
    ) -> Result<Unlocked, UnlockError> {
        let identity = identity::unlock_officer(key_file, passphrase)?;
        let authority = self.store.authority()?;
        let body = &identity.certificate.body;
        identity
            .certificate
            .verify(&authority)
            .map_err(|e| UnlockError::ForeignCertificate {
                officer: body.officer_no.clone(),
                reason: e.to_string(),
            })?;
        if today < body.valid_from || today > body.valid_to {
            return Err(UnlockError::NotValidToday {
                officer: body.officer_no.clone(),
                from: body.valid_from,
                to: body.valid_to,
                today,
            });
        }
        let registry = {
            let _lock = self.store.lock_shared()?;
            self.store
                .load(&DocId::Registry)?
                .typed(RegistryDoc::from_document)?
        };
        let trust = Trust::from_registry(authority, registry.doc.document().automerge());
        if trust.is_revoked(&identity.public()) {
            return Err(UnlockError::Revoked {
                officer: body.officer_no.clone(),
            });
        }
        let officer = Officer {
            officer_no: body.officer_no.clone(),
            name: body.name.clone(),
            role: body.role,
            district: body.district.clone(),
        };
        let districts = registry
            .doc
            .facts()
            .districts
            .into_iter()
            .map(|(d, e)| (d, e.value))
            .collect();
        Ok(Unlocked {
            identity,
            officer,
            districts,
        })
    }

    /// The registry with its roster: as a month of `month`'s year reads it
    /// (the roster's shards up to that year), or as it stands now (`None`).
    fn registry(&self, month: Option<Month>, issues: &mut Vec<String>) -> Result<RegistryFacts> {
        let (registry, found) = read::registry_facts(&self.store, month.map(Year::of_month))?;
        issues.extend(found);
        Ok(registry)
    }

    /// The month's reports: of one district, or of every district in the
    /// registry's order.
    pub fn score(&self, district: Option<&DistrictId>, month: Month) -> Result<Read<Scores>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        let ids: Vec<DocId> = match district {
            Some(d) => {
                known_district(&registry, d)?;
                vec![DocId::month(d.clone(), month)]
            }
            None => registry
                .districts
                .keys()
                .map(|d| DocId::month(d.clone(), month))
                .collect(),
        };
        let mut reports = Vec::with_capacity(ids.len());
        for r in read::score(&self.store, &registry, &ids) {
            let r = r?;
            issues.extend(r.issues);
            reports.push(r.report);
        }
        Ok(Read {
            value: Scores { registry, reports },
            issues,
        })
    }

    /// One inmate's month, day by day, with the registry it was scored by.
    pub fn explain(
        &self,
        district: &DistrictId,
        month: Month,
        inmate: &InmateNo,
    ) -> Result<Read<(RegistryFacts, InmateExplanation)>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(month), &mut issues)?;
        known_district(&registry, district)?;
        let (facts, others) = self.month_sources(&registry, district, month, &mut issues)?;
        let sources = Sources::new(&registry, &facts, &others)?;
        let Some(e) = explain_inmate(&registry, &sources, inmate)? else {
            if let Some(to) = registry.custody(inmate, month).reporting()
                && to != district
            {
                return Err(ServiceError::ScoredElsewhere {
                    inmate: inmate.clone(),
                    district: district.clone(),
                    month,
                    to: to.clone(),
                });
            }
            return Err(ServiceError::UnknownInmate {
                inmate: inmate.clone(),
                district: district.clone(),
                month,
            });
        };
        Ok(Read {
            value: (registry, e),
            issues,
        })
    }

    /// The district's daily board, with the registry it was read by.
    pub fn board(&self, district: &DistrictId, date: Date) -> Result<Read<(RegistryFacts, Board)>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(Some(date.month()), &mut issues)?;
        known_district(&registry, district)?;
        let loaded = self
            .store
            .load(&DocId::month(district.clone(), date.month()))?
            .typed(MonthDoc::from_document)?;
        issues.extend(loaded.issues);
        let b = crdt_schema::board(&registry, &loaded.doc.facts(), date)?;
        Ok(Read {
            value: (registry, b),
            issues,
        })
    }

    /// The signed changes behind an inmate's month, with the registry.
    pub fn audit(
        &self,
        district: &DistrictId,
        month: Month,
        inmate: &InmateNo,
    ) -> Result<Read<(RegistryFacts, AuditTrail)>> {
        let _lock = self.store.lock_shared()?;
        let registry = self
            .store
            .load(&DocId::Registry)?
            .typed(RegistryDoc::from_document)?;
        let mut issues = registry.issues.clone();
        // The roster's shards the month reads, each loaded once: for the
        // facts and for the trail of the inmate's records in them.
        let mut shards = Vec::new();
        for rid in self.store.roster_ids()? {
            if matches!(rid, DocId::Roster { year } if year <= Year::of_month(month)) {
                let l = self.store.load(&rid)?;
                issues.extend(l.issues.iter().cloned());
                shards.push((rid, l));
            }
        }
        let shard_facts: Vec<crdt_schema::RosterFacts> = shards
            .iter()
            .filter_map(|(rid, l)| match rid {
                DocId::Roster { year } => {
                    Some(crdt_schema::RosterFacts::read(*year, l.doc.automerge()))
                }
                _ => None,
            })
            .collect();
        let facts = registry.doc.facts().with_roster(&shard_facts);
        known_district(&facts, district)?;
        let id = DocId::month(district.clone(), month);
        let loaded = self.store.load(&id)?.typed(MonthDoc::from_document)?;
        issues.extend(loaded.issues.iter().cloned());
        let trust =
            Trust::from_registry(self.store.authority()?, registry.doc.document().automerge());
        let rosters: Vec<audit::RosterShard<'_>> = shards
            .iter()
            .map(|(rid, l)| audit::RosterShard {
                id: rid.clone(),
                doc: l.doc.automerge(),
                signatures: &l.signatures,
            })
            .collect();
        let trail = audit::audit_inmate(
            &id,
            loaded.doc.document().automerge(),
            &loaded.signatures,
            &loaded.doc.facts(),
            registry.doc.document().automerge(),
            &registry.signatures,
            &rosters,
            &trust,
            inmate,
        );
        Ok(Read {
            value: (facts, trail),
            issues,
        })
    }

    /// The district-month's report as an XLSX workbook or printable HTML.
    pub fn report_file(
        &self,
        district: &DistrictId,
        month: Month,
        format: Format,
    ) -> Result<Read<ReportFile>> {
        let scored = self.score(Some(district), month)?;
        let Read { value, issues } = scored;
        let report = value
            .reports
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::UnknownDistrict(district.clone()))?;
        let bytes = export::export(format, &value.registry, &report)?;
        Ok(Read {
            value: ReportFile {
                bytes,
                digest: report.digest.clone(),
                inmates: report.body.inmates.len(),
            },
            issues,
        })
    }

    /// [`Service::report_file`] written to `path` atomically (a reader or a
    /// crash sees the old file or the new one), folders made as needed.
    pub fn write_report(
        &self,
        district: &DistrictId,
        month: Month,
        format: Format,
        path: &Path,
    ) -> Result<Read<ReportFile>> {
        let file = self.report_file(district, month, format)?;
        crate::store::write_atomic(path, &file.value.bytes)?;
        Ok(file)
    }

    /// The registry's districts, products, procedure versions and roster.
    pub fn catalog(&self) -> Result<Read<Catalog>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(None, &mut issues)?;
        let value = Catalog {
            districts: registry
                .districts
                .into_iter()
                .map(|(d, e)| (d, e.value))
                .collect(),
            products: registry
                .products
                .into_iter()
                .map(|(p, e)| (p, e.value))
                .collect(),
            procedures: registry
                .procedures
                .into_iter()
                .flat_map(|(id, versions)| {
                    versions.into_iter().map(move |(from, e)| ProcedureLine {
                        id: id.clone(),
                        from,
                        version: e.value,
                        conflict: e.conflict,
                    })
                })
                .collect(),
            transfers: registry
                .transfers
                .iter()
                .flat_map(|(no, t)| {
                    t.iter()
                        .map(move |(d, e)| (no.clone(), *d, e.value.clone()))
                })
                .collect(),
            inmates: registry
                .inmates
                .into_iter()
                .map(|(no, e)| (no, e.value))
                .collect(),
        };
        Ok(Read { value, issues })
    }

    /// Runs `f` in one write session as `who`, stating `time`, and commits:
    /// all of it is written, or nothing.
    pub fn write<T>(
        &self,
        who: &Identity,
        time: i64,
        note: impl Into<String>,
        f: impl FnOnce(&mut WriteSession<'_>) -> Result<T>,
    ) -> Result<Read<(T, Committed)>> {
        let mut s = WriteSession::begin(&self.store, who, time, note)?;
        let issues = std::mem::take(&mut s.issues);
        let value = f(&mut s)?;
        let committed = s.commit()?;
        let mut issues = issues;
        issues.extend(committed.warnings.iter().cloned());
        Ok(Read {
            value: (value, committed),
            issues,
        })
    }

    /// Reads `file`, checks every row against the registry, and writes it
    /// as one signed change per document — or, if any row is wrong,
    /// nothing: [`ServiceError::Rejected`] lists every error.
    pub fn import(
        &self,
        who: &Identity,
        time: i64,
        file: &ImportFile<'_>,
        progress: &mut dyn FnMut(ImportStep),
    ) -> Result<Read<Imported>> {
        let ImportFile {
            kind,
            path,
            sheet,
            label,
            force,
        } = *file;
        let months = self.store.month_ids()?;
        progress(ImportStep::Reading);
        let bytes = input::read_bounded(path, input::MAX_TABLE_BYTES, "spreadsheet")?;
        let done = self.write(who, time, format!("import {label}"), |s| {
            progress(ImportStep::Checking { bytes: bytes.len() });
            let registry = s.registry_facts()?;
            let scope = who.certificate.body.district.as_ref();
            let (plan, sheet) =
                import::plan_any_in(kind, label, &bytes, sheet, &registry, scope, force)
                    .map_err(ServiceError::Rejected)?;
            let moves: Vec<(InmateNo, Date, DistrictId)> = plan
                .registry
                .iter()
                .filter_map(|op| match op {
                    ops::RegistryOp::Transfer(no, d, to) => Some((no.clone(), *d, to.clone())),
                    _ => None,
                })
                .collect();
            refuse_sealed_moves(s, &months, &registry, &moves, force)?;
            progress(ImportStep::Signing { rows: plan.rows });
            let changed = ops::apply(s, &plan)?;
            let not_counted = not_counted(s, &plan)?;
            Ok((sheet, plan.rows, changed, not_counted))
        })?;
        let ((sheet, rows, changed, not_counted), committed) = done.value;
        Ok(Read {
            value: Imported {
                sheet,
                rows,
                changed,
                documents: committed.documents.len(),
                not_counted,
            },
            issues: done.issues,
        })
    }

    /// The chief approves what of `inmate`'s month awaits approval: when
    /// `seen` is given, only if that is exactly what awaits now (the app
    /// approves what the chief was shown, not what arrived since). Returns
    /// what was approved and what was written (nothing when nothing awaited).
    pub fn approve(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        inmate: &InmateNo,
        seen: Option<&[Approved]>,
    ) -> Result<(Vec<Approved>, Committed)> {
        let note = format!("approve {district} {month} {inmate}");
        let done = self.write(who, time, note, |s| {
            let approved = close::approve_inmate_if(s, district, month, inmate, |now| {
                seen.is_none_or(|seen| now == seen)
            })?;
            approved.ok_or_else(|| ServiceError::ApprovalChanged {
                inmate: inmate.clone(),
            })
        })?;
        Ok(done.value)
    }

    /// The chief seals the month at its current report digest: when `seen`
    /// is given, only if that is the digest now.
    /// Under the decision levels only once the posting has ended and every
    /// application is answered, unless `force` (which the seal then says).
    pub fn seal(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        seen: Option<&ReportDigest>,
        force: bool,
    ) -> Result<Sealed> {
        let done = self.write(who, time, format!("seal {district} {month}"), |s| {
            let sealed = close::seal_month_if(s, district, month, force, |now| {
                seen.is_none_or(|s| s == now)
            })?;
            sealed.ok_or_else(|| ServiceError::SealChanged {
                district: district.clone(),
                month,
            })
        })?;
        let ((digest, resealed), committed) = done.value;
        Ok(Sealed {
            digest,
            resealed,
            committed,
        })
    }

    /// The chief picks one of a conflict's values (`value` as the audit
    /// trail shows it; `None` keeps the deletion): written again, it
    /// supersedes every concurrent value.
    pub fn resolve(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        month: Month,
        key: &str,
        value: Option<&str>,
    ) -> Result<Committed> {
        let note = format!("resolve {district} {month} {key}");
        let done = self.write(who, time, note, |s| {
            known_district(&s.registry().facts(), district)?;
            resolve::resolve(s, district, month, key, value)
        })?;
        Ok(done.value.1)
    }

    /// The records office adds an inmate or changes one's record.
    pub fn put_inmate(
        &self,
        who: &Identity,
        time: i64,
        no: &InmateNo,
        inmate: &Inmate,
    ) -> Result<Committed> {
        let done = self.write(who, time, format!("inmate {no}"), |s| {
            s.put_roster(&[(no.clone(), inmate.clone())], &[])?;
            Ok(())
        })?;
        Ok(done.value.1)
    }

    /// The records office records a transfer: from `date` (the first day
    /// there) the inmate is in `to` (checked as an import's row is).
    pub fn put_transfer(
        &self,
        who: &Identity,
        time: i64,
        no: &InmateNo,
        date: Date,
        to: &DistrictId,
        force: bool,
    ) -> Result<Committed> {
        let months = self.store.month_ids()?;
        let done = self.write(who, time, format!("transfer {no} {date} {to}"), |s| {
            let registry = s.registry_facts()?;
            ops::check_transfer(&registry, no, date, to, force)
                .map_err(ServiceError::BadTransfer)?;
            let moves = [(no.clone(), date, to.clone())];
            refuse_sealed_moves(s, &months, &registry, &moves, force)?;
            s.put_roster(&[], &[(no.clone(), date, to.clone())])?;
            Ok(())
        })?;
        Ok(done.value.1)
    }

    /// The labor section sets a procedure's standard time from a date (a
    /// new product named first when `new_product` is given).
    pub fn put_procedure(
        &self,
        who: &Identity,
        time: i64,
        id: &ProcedureId,
        from: Date,
        version: &ProcedureVersion,
        new_product: Option<&str>,
    ) -> Result<Committed> {
        let done = self.write(who, time, format!("procedure {id} from {from}"), |s| {
            s.write_registry(|w| {
                if let Some(name) = new_product {
                    w.put_product(&version.product, name)?;
                }
                w.put_procedure_version(id, from, version)
            })?;
            Ok(())
        })?;
        Ok(done.value.1)
    }

    /// A bonus or deduction with its reason, in the district's month of its
    /// date.
    pub fn put_adjustment(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        inmate: &InmateNo,
        adjustment: &Adjustment,
    ) -> Result<Committed> {
        let done = self.write(who, time, format!("adjustment {inmate}"), |s| {
            let registry = s.registry_facts_through(Year::of(adjustment.date))?;
            known_district(&registry, district)?;
            // An entry counts only in the document of the district holding
            // the inmate on its date (RULES.md, transfers): refused here
            // rather than written where it would not count.
            if let Some(held) = registry.district_on(inmate, adjustment.date)
                && held != district
            {
                return Err(ServiceError::HeldElsewhere {
                    inmate: inmate.clone(),
                    date: adjustment.date,
                    district: district.clone(),
                    held: held.clone(),
                });
            }
            s.write_month(district, adjustment.date.month(), |w| {
                w.put_adjustment(inmate, adjustment)
            })?;
            Ok(())
        })?;
        Ok(done.value.1)
    }
}

/// One inmate's edit of a day, as an officer makes it in the entry grid:
/// only what was changed, so a save never writes back a value someone else
/// has changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEdit {
    pub inmate_no: InmateNo,
    /// The day's attendance, when changed.
    pub attendance: Option<crdt_schema::Attendance>,
    /// The day's count on a procedure, when changed.
    pub count: Option<(crdt_schema::ProcedureId, u64)>,
    /// Counts to remove: cleared, or moved to another procedure.
    pub delete_counts: Vec<crdt_schema::ProcedureId>,
}

impl Service {
    /// An officer saves a day of the district's entry grid: every edit in
    /// one signed change. A day's records belong to the district holding
    /// the inmate that day (a transfer may have arrived since the grid was
    /// drawn): refused rather than written where they would not count;
    /// clearing a count left there stays possible.
    pub fn save_day(
        &self,
        who: &Identity,
        time: i64,
        district: &DistrictId,
        date: Date,
        edits: &[DayEdit],
    ) -> Result<Committed> {
        let done = self.write(who, time, format!("day {district} {date}"), |s| {
            let registry = s.registry_facts_through(Year::of(date))?;
            known_district(&registry, district)?;
            for e in edits
                .iter()
                .filter(|e| e.attendance.is_some() || e.count.is_some())
            {
                if let Some(held) = registry.district_on(&e.inmate_no, date)
                    && held != district
                {
                    return Err(ServiceError::HeldElsewhere {
                        inmate: e.inmate_no.clone(),
                        date,
                        district: district.clone(),
                        held: held.clone(),
                    });
                }
            }
            s.write_month(district, date.month(), |w| {
                for e in edits {
                    if let Some(a) = &e.attendance {
                        w.put_attendance(&e.inmate_no, date, a)?;
                    }
                    for p in &e.delete_counts {
                        w.delete_count(&e.inmate_no, date, p)?;
                    }
                    if let Some((p, q)) = &e.count {
                        w.put_count(&e.inmate_no, date, p, *q)?;
                    }
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(done.value.1)
    }
}

impl Service {
    /// A district-month's document, with what loading it found in `issues`
    /// (under the caller's lock).
    pub(crate) fn load_month(
        &self,
        district: &DistrictId,
        month: Month,
        issues: &mut Vec<String>,
    ) -> Result<crate::store::Loaded<MonthDoc>> {
        let loaded = self
            .store
            .load(&DocId::month(district.clone(), month))?
            .typed(MonthDoc::from_document)?;
        issues.extend(loaded.issues.iter().cloned());
        Ok(loaded)
    }

    /// A district-month's facts and those of the other documents its report
    /// reads (transfers), with what loading them found in `issues`. The
    /// caller holds the store's lock.
    pub(crate) fn month_sources(
        &self,
        registry: &RegistryFacts,
        district: &DistrictId,
        month: Month,
        issues: &mut Vec<String>,
    ) -> Result<(crdt_schema::MonthFacts, Vec<crdt_schema::MonthFacts>)> {
        let facts = self.load_month(district, month, issues)?.doc.facts();
        let (others, found) = read::other_sources(&self.store, registry, &facts)?;
        issues.extend(found);
        Ok((facts, others))
    }
}

fn known_district(registry: &RegistryFacts, d: &DistrictId) -> Result<()> {
    if registry.districts.contains_key(d) {
        Ok(())
    } else {
        Err(ServiceError::UnknownDistrict(d.clone()))
    }
}

/// A file's name for messages and notes: its last component.
pub fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The records `plan` wrote, in the session's documents as they now stand,
/// that the score does not count: each month the plan touched is scored
/// (from its document and those it reads), and so is the report of every
/// district that scores an inmate written for (a transferred inmate's
/// records are judged by the district holding them at the month's end,
/// which names them by document); their problems about these records kept.
fn not_counted(s: &mut WriteSession<'_>, plan: &ops::Plan) -> Result<Vec<String>> {
    use crdt_schema::MonthKey;
    use std::collections::BTreeSet;
    let registry = s.registry_facts()?;
    let mut out = BTreeSet::new();
    for ((district, month), ops) in &plan.months {
        let mut inmates: BTreeSet<&InmateNo> = BTreeSet::new();
        let keys: BTreeSet<String> = ops
            .iter()
            .filter_map(|op| {
                let (no, key) = match op {
                    ops::MonthOp::Attendance(no, d, _) => {
                        (no, MonthKey::Attendance(no.clone(), d.day()))
                    }
                    ops::MonthOp::Count(no, d, p, _) => {
                        (no, MonthKey::Count(no.clone(), d.day(), p.clone()))
                    }
                    ops::MonthOp::Assignment(no, d, p) => {
                        (no, MonthKey::Assignment(no.clone(), d.day(), p.clone()))
                    }
                    ops::MonthOp::Adjustment(no, a) => (
                        no,
                        MonthKey::Adjustment(no.clone(), crdt_schema::adjustment_id(no, a)),
                    ),
                    ops::MonthOp::TeamCount(..) | ops::MonthOp::Approval(..) => return None,
                };
                inmates.insert(no);
                Some(key.to_string())
            })
            .collect();
        if keys.is_empty() {
            continue;
        }
        let doc = DocId::month(district.clone(), *month);
        let mut reports: BTreeSet<DistrictId> = BTreeSet::from([district.clone()]);
        for no in &inmates {
            if let Some(r) = registry.custody(no, *month).reporting() {
                reports.insert(r.clone());
            }
        }
        for r in reports {
            let facts = s.month(&r, *month)?.facts();
            let others: Vec<crdt_schema::MonthFacts> = close::other_sources(s, &registry, &facts)?
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            let report =
                crdt_schema::score_month(&registry, &Sources::new(&registry, &facts, &others)?)?;
            for p in &report.body.problems {
                // In its own report a record's key is its path; in another
                // district's, the path after this document's name.
                let path = if r == *district {
                    Some(p.key.as_str())
                } else {
                    p.key.strip_prefix(&format!("{doc}:"))
                };
                if let Some(path) = path
                    && keys.contains(path)
                {
                    out.insert(format!("{doc}: {path}: {}", p.reason));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Refuses, unless `force`, transfers that change who held an inmate on a
/// day of a sealed district-month the store holds: that month's report
/// (the district losing the inmate, the one gaining them) would change
/// after its seal.
fn refuse_sealed_moves(
    s: &mut WriteSession<'_>,
    months: &[DocId],
    registry: &RegistryFacts,
    moves: &[(InmateNo, Date, DistrictId)],
    force: bool,
) -> Result<()> {
    if moves.is_empty() || force {
        return Ok(());
    }
    let mut after = registry.clone();
    for (no, d, to) in moves {
        after
            .transfers
            .entry(no.clone())
            .or_default()
            .insert(*d, crdt_schema::Entry::new(to.clone(), false));
    }
    let mut sealed = std::collections::BTreeSet::new();
    for (no, date, _) in moves {
        for id in months {
            let DocId::Month { district, month } = id else {
                continue;
            };
            if *month < date.month() {
                continue;
            }
            let (b, a) = (registry.custody(no, *month), after.custody(no, *month));
            if b == a || !(b.districts().contains(district) || a.districts().contains(district)) {
                continue;
            }
            if s.month(district, *month)?.facts().seal.is_some() {
                sealed.insert((district.clone(), *month));
            }
        }
    }
    if sealed.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::TransferAmendsSealed {
            months: sealed.into_iter().collect(),
        })
    }
}
