//! The app's imperative shell: a worker thread that owns the data directory.
//!
//! The UI never touches disk or keys: it sends a [`Request`] and, on a later
//! frame, takes the [`Reply`]; the worker wakes the UI (`request_repaint`)
//! when a reply is ready. Every use case (unlock, the day's save, audit,
//! catalogue, import, export, approve, seal, resolve, roster and catalogue
//! edits, the month's procedure and its sheets) is `node::service`'s, called
//! as the CLI calls it, so the app can do nothing the service does not
//! check; the one read only the app makes is `view`'s. Errors travel as
//! values ([`Failure`]) and `ui::words` says them in the screen's language.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use crdt_schema::{
    Acknowledgement, Adjustment, Answer, Application, Date, DistrictId, Inmate, InmateNo, Month,
    ProcedureId, ProcedureVersion, ReportDigest, RuleSet, Week,
};
use node::audit::AuditTrail;
use node::close::Approved;
use node::export::Format;
use node::import::Kind;
use node::service::{ImportFile, ImportStep, Service, ServiceError};
use node::session::Identity;
use node::store::Store;
use node::validate::date_of;

mod view;

pub use node::service::{Catalog, Officer, ProcedureLine};
pub use view::{Conflict, ConflictValue, DistrictView, EntryRow, ViewError};

use crate::browse::{self, Listing};
use crate::clock::unix_now;

/// Why a request was not done: a use case's typed error, for the UI to
/// say in its language (`ui::words`), or what only the app's own reads
/// produce, in the library's words.
#[derive(Debug)]
pub enum Failure {
    Service(ServiceError),
    NotLoggedIn,
    /// A bug in the backend: the request panicked (nothing half-written
    /// remains: every write is one session).
    Internal(String),
    /// The district's view could not be read.
    View {
        district: DistrictId,
        date: crdt_schema::Date,
        error: std::sync::Arc<ViewError>,
    },
    /// An app-only form (a conflict's value) or a condition of this PC.
    Other(String),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Failure {
        Failure::Service(e)
    }
}

/// Long work under way: `done` of `total` steps, and what the step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub task: String,
    pub step: String,
    pub done: u64,
    pub total: u64,
}

/// One inmate's edit of the day in the entry grid (the service's
/// [`node::service::DayEdit`]).
pub type Edit = node::service::DayEdit;

#[derive(Debug)]
pub enum Request {
    Login {
        key_file: PathBuf,
        passphrase: String,
    },
    Load {
        district: DistrictId,
        date: Date,
    },
    /// All edits of one save become one signed change.
    Save {
        district: DistrictId,
        date: Date,
        edits: Vec<Edit>,
    },
    Audit {
        district: DistrictId,
        month: Month,
        inmate: InmateNo,
    },
    /// The chief approves what awaits approval for an inmate: exactly
    /// `seen`, what the screen showed; refused if it has changed since.
    Approve {
        district: DistrictId,
        month: Month,
        inmate: InmateNo,
        seen: Vec<Approved>,
    },
    /// The chief picks one of a conflict's values (writing it again
    /// supersedes every concurrent value).
    Resolve {
        district: DistrictId,
        month: Month,
        key: String,
        /// `None`: keep the deletion.
        value: Option<String>,
    },
    /// The chief seals the month as shown: refused if its report digest is
    /// no longer `seen`.
    Seal {
        district: DistrictId,
        month: Month,
        seen: ReportDigest,
        /// Seal though the procedure is not done (the seal says what was not).
        force: bool,
    },
    /// The chief records the district group's weekly review (周评议).
    Review(node::service::review::ReviewInput),
    /// The chief posts (公示) the month's report from `first_day`.
    Post {
        district: DistrictId,
        month: Month,
        first_day: Date,
    },
    /// An officer records an inmate's application (复查, or 复核 after an
    /// answer).
    Apply {
        district: DistrictId,
        month: Month,
        application: Application,
    },
    /// The answer to an application: the group's (the chief records it)
    /// to a 复查, the prison group's to a 复核.
    Answer {
        district: DistrictId,
        month: Month,
        answer: Answer,
    },
    /// An officer records what the inmate did with the monthly sheet.
    Acknowledge {
        district: DistrictId,
        month: Month,
        inmate: InmateNo,
        acknowledgement: Acknowledgement,
    },
    /// The catalogue and roster (工序定额, 人员).
    Catalog,
    /// The labor section sets a procedure's standard time from a date (a
    /// later date is a new version; the earlier ones stay in force before it).
    PutProcedure {
        id: ProcedureId,
        from: Date,
        version: ProcedureVersion,
        /// A name for a product not yet in the catalogue.
        new_product: Option<String>,
    },
    /// The records office adds an inmate or changes one's record.
    PutInmate {
        no: InmateNo,
        inmate: Inmate,
    },
    /// The records office records a transfer (调监区): from `date` the
    /// inmate is in `district`.
    PutTransfer {
        no: InmateNo,
        date: Date,
        district: DistrictId,
        /// Replace another transfer of the date, or change sealed months.
        force: bool,
    },
    /// The labor section publishes a rule set; `force` when it may change
    /// sealed months.
    PublishRules {
        rules: Box<RuleSet>,
        force: bool,
    },
    /// Every rule-set version (规则版本).
    Rules,
    /// A bonus or deduction with its reason, in the district's month of
    /// its date.
    PutAdjustment {
        district: DistrictId,
        inmate: InmateNo,
        adjustment: Adjustment,
    },
    /// A CSV or XLSX file, validated whole, then written as one signed
    /// change per document — or not at all.
    Import {
        kind: Kind,
        path: PathBuf,
    },
    /// The month's report to a file for the 计分考核 file.
    Export {
        district: DistrictId,
        month: Month,
        format: Format,
        path: PathBuf,
    },
    /// What awaits the prison group in every district of the month.
    GroupQueue {
        month: Month,
    },
    /// The posted sheet (公示表, HTML) to a file.
    ExportPosted {
        district: DistrictId,
        month: Month,
        path: PathBuf,
    },
    /// The weekly sheet (周评议表) of a district-week to a file.
    ExportWeekly {
        district: DistrictId,
        week: Week,
        format: Format,
        path: PathBuf,
    },
    /// The monthly sheets (月评表) of a district-month to a file.
    ExportSheets {
        district: DistrictId,
        month: Month,
        format: Format,
        path: PathBuf,
    },
    /// A folder's contents, for the file picker; `fresh` when the picker
    /// opens (the places beside it are looked for again).
    ListDir {
        dir: PathBuf,
        fresh: bool,
    },
}

#[derive(Debug)]
pub enum Reply {
    LoggedIn {
        officer: Officer,
        districts: Vec<(DistrictId, String)>,
    },
    LoginFailed(Failure),
    Loaded(Box<DistrictView>),
    /// The district could not be read; the screen keeps what it showed.
    LoadFailed(Failure),
    /// A write was signed and stored.
    Saved {
        changes: usize,
    },
    /// A write was refused or failed; nothing of it was stored.
    SaveFailed(Failure),
    Audit(Box<AuditTrail>),
    Catalog(Box<Catalog>),
    Imported {
        file: String,
        rows: usize,
        changed: usize,
        documents: usize,
        /// Records written that the score does not count, each named.
        not_counted: Vec<String>,
    },
    /// The file was refused: every error, each naming line, column and value.
    ImportRejected(Vec<String>),
    /// A rule set was published, effective from `from`, changing these months.
    RulesPublished {
        from: Month,
        effects: Vec<node::service::rules::RuleEffect>,
    },
    /// Every rule-set version, by the month each is effective from.
    Rules(Vec<RuleSet>),
    Exported {
        path: PathBuf,
        bytes: usize,
    },
    /// What awaits the prison group, district by district.
    GroupQueue {
        month: Month,
        lines: Vec<node::service::review::GroupQueueLine>,
    },
    /// A folder for the file picker, or why it could not be read.
    Listing(Result<Listing, String>),
    /// A step of long work; the request's own reply follows.
    Progress(Progress),
    Failed(Failure),
}

/// The UI's handle on the worker.
pub struct Backend {
    tx: Sender<Request>,
    rx: Receiver<Reply>,
    busy: usize,
    /// The worker is gone: nothing can be read or saved any more.
    dead: bool,
}

impl Backend {
    /// Starts the worker on `data`; `wake` is called after every reply.
    pub fn spawn(data: PathBuf, wake: impl Fn() + Send + 'static) -> Backend {
        let (tx, requests) = channel::<Request>();
        let (replies, rx) = channel::<Reply>();
        std::thread::Builder::new()
            .name("tally-backend".into())
            .spawn(move || {
                let mut worker = Worker {
                    data,
                    identity: None,
                    places: Vec::new(),
                    view_cache: None,
                };
                for req in requests {
                    let progress = |p: Progress| {
                        if replies.send(Reply::Progress(p)).is_ok() {
                            wake();
                        }
                    };
                    // A bug in one request must not leave the UI waiting
                    // for ever: it becomes that request's error. Nothing
                    // half-written can remain (every write is one session,
                    // committed at its end or not at all).
                    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        worker.handle(req, &progress)
                    }))
                    .unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("?");
                        Reply::Failed(Failure::Internal(what.to_string()))
                    });
                    if replies.send(reply).is_err() {
                        break;
                    }
                    wake();
                }
            })
            .expect("spawning the backend thread");
        Backend {
            tx,
            rx,
            busy: 0,
            dead: false,
        }
    }

    pub fn send(&mut self, req: Request) {
        if self.tx.send(req).is_ok() {
            self.busy += 1;
        } else {
            self.dead = true;
            self.busy = 0;
        }
    }

    /// Whether the worker has stopped (the UI says so and offers nothing).
    pub fn dead(&self) -> bool {
        self.dead
    }

    /// A reply, if one is ready.
    pub fn try_recv(&mut self) -> Option<Reply> {
        let r = match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.dead = true;
                self.busy = 0;
                None
            }
        };
        if r.as_ref().is_some_and(|r| !matches!(r, Reply::Progress(_))) {
            self.busy = self.busy.saturating_sub(1);
        }
        r
    }

    /// Requests not answered yet (the UI shows a spinner).
    pub fn busy(&self) -> bool {
        self.busy > 0
    }
}

struct Worker {
    data: PathBuf,
    identity: Option<Identity>,
    /// The file picker's places, as found when it last opened.
    places: Vec<(browse::Place, PathBuf)>,
    /// The last district view, kept while nothing changes on disk.
    view_cache: Option<view::ViewCache>,
}

impl Worker {
    fn handle(&mut self, req: Request, progress: &dyn Fn(Progress)) -> Reply {
        match req {
            Request::Login {
                key_file,
                passphrase,
            } => match self.login(&key_file, &passphrase) {
                Ok((officer, districts)) => Reply::LoggedIn { officer, districts },
                Err(e) => Reply::LoginFailed(e),
            },
            Request::Load { district, date } => match self.load(&district, date) {
                Ok(v) => Reply::Loaded(Box::new(v)),
                Err(e) => Reply::LoadFailed(Failure::View {
                    district,
                    date,
                    error: std::sync::Arc::new(e),
                }),
            },
            Request::Save {
                district,
                date,
                edits,
            } => self.saved(|svc, who, now| {
                svc.save_day(who, now, &district, date, &edits)
                    .map(|c| c.changes)
            }),
            Request::Audit {
                district,
                month,
                inmate,
            } => match self
                .service()
                .and_then(|s| Ok(s.audit(&district, month, &inmate)?))
            {
                Ok(t) => Reply::Audit(Box::new(t.value.1)),
                Err(e) => Reply::Failed(e),
            },
            Request::Approve {
                district,
                month,
                inmate,
                seen,
            } => self.saved(|svc, id, now| {
                svc.approve(id, now, &district, month, &inmate, Some(&seen))
                    .map(|(_, c)| c.changes)
            }),
            Request::Resolve {
                district,
                month,
                key,
                value,
            } => self.saved(|svc, who, now| {
                svc.resolve(who, now, &district, month, &key, value.as_deref())
                    .map(|c| c.changes)
            }),
            Request::Seal {
                district,
                month,
                seen,
                force,
            } => self.saved(|svc, id, now| {
                svc.seal(id, now, &district, month, Some(&seen), force)
                    .map(|s| s.committed.changes)
            }),
            Request::Review(input) => self
                .saved(|svc, who, now| svc.review(who, now, &input).map(|r| r.committed.changes)),
            Request::Post {
                district,
                month,
                first_day,
            } => self.saved(|svc, who, now| {
                svc.post(who, now, &district, month, first_day)
                    .map(|p| p.committed.changes)
            }),
            Request::Apply {
                district,
                month,
                application,
            } => self.saved(|svc, who, now| {
                svc.apply(who, now, &district, month, &application)
                    .map(|(_, c)| c.changes)
            }),
            Request::Answer {
                district,
                month,
                answer,
            } => self.saved(|svc, who, now| {
                svc.answer(who, now, &district, month, &answer)
                    .map(|c| c.changes)
            }),
            Request::Acknowledge {
                district,
                month,
                inmate,
                acknowledgement,
            } => self.saved(|svc, who, now| {
                svc.acknowledge(who, now, &district, month, &inmate, &acknowledgement)
                    .map(|c| c.changes)
            }),
            Request::Catalog => match self.service().and_then(|s| Ok(s.catalog()?)) {
                Ok(c) => Reply::Catalog(Box::new(c.value)),
                Err(e) => Reply::Failed(e),
            },
            Request::PutProcedure {
                id,
                from,
                version,
                new_product,
            } => self.saved(|svc, who, now| {
                svc.put_procedure(who, now, &id, from, &version, new_product.as_deref())
                    .map(|c| c.changes)
            }),
            Request::PutInmate { no, inmate } => self
                .saved(|svc, who, now| svc.put_inmate(who, now, &no, &inmate).map(|c| c.changes)),
            Request::PutTransfer {
                no,
                date,
                district,
                force,
            } => self.saved(|svc, who, now| {
                svc.put_transfer(who, now, &no, date, &district, force)
                    .map(|c| c.changes)
            }),
            Request::PublishRules { rules, force } => {
                let run = || -> Result<Vec<node::service::rules::RuleEffect>, Failure> {
                    let who = self.identity.as_ref().ok_or(Failure::NotLoggedIn)?;
                    Ok(self
                        .service()?
                        .publish_rules(who, unix_now(), &rules, force)?
                        .value
                        .effects)
                };
                match run() {
                    Ok(effects) => Reply::RulesPublished {
                        from: rules.effective_from,
                        effects,
                    },
                    Err(e) => Reply::SaveFailed(e),
                }
            }
            Request::Rules => match self.service().and_then(|s| Ok(s.rules()?)) {
                Ok(r) => Reply::Rules(r.value.versions),
                Err(e) => Reply::Failed(e),
            },
            Request::PutAdjustment {
                district,
                inmate,
                adjustment,
            } => self.saved(|svc, who, now| {
                svc.put_adjustment(who, now, &district, &inmate, &adjustment)
                    .map(|c| c.changes)
            }),
            Request::Import { kind, path } => self.import(kind, &path, progress),
            Request::Export {
                district,
                month,
                format,
                path,
            } => {
                let path = self.export_path(path);
                let written = self
                    .service()
                    .and_then(|s| Ok(s.write_report(&district, month, format, &path)?));
                match written {
                    Ok(f) => Reply::Exported {
                        path,
                        bytes: f.value.bytes.len(),
                    },
                    Err(e) => Reply::Failed(e),
                }
            }
            Request::GroupQueue { month } => {
                match self
                    .service()
                    .and_then(|s| Ok(s.awaiting_prison_group(month)?))
                {
                    Ok(r) => Reply::GroupQueue {
                        month,
                        lines: r.value,
                    },
                    Err(e) => Reply::Failed(e),
                }
            }
            Request::ExportPosted {
                district,
                month,
                path,
            } => {
                let path = self.export_path(path);
                let written = self.service().and_then(|s| {
                    let sheet = s.posted_sheet(&district, month)?.value;
                    node::store::write_atomic(&path, &sheet).map_err(ServiceError::from)?;
                    Ok(sheet.len())
                });
                match written {
                    Ok(bytes) => Reply::Exported { path, bytes },
                    Err(e) => Reply::Failed(e),
                }
            }
            Request::ExportWeekly {
                district,
                week,
                format,
                path,
            } => {
                let path = self.export_path(path);
                let written = self.service().and_then(|s| {
                    let sheet = s.weekly_sheet(&district, week)?.value;
                    Ok(s.write_sheet(&sheet, format, &path)?)
                });
                match written {
                    Ok(bytes) => Reply::Exported { path, bytes },
                    Err(e) => Reply::Failed(e),
                }
            }
            Request::ExportSheets {
                district,
                month,
                format,
                path,
            } => {
                let path = self.export_path(path);
                let written = self.service().and_then(|s| {
                    let sheet = s.monthly_sheets(&district, month)?.value;
                    Ok(s.write_sheet(&sheet, format, &path)?)
                });
                match written {
                    Ok(bytes) => Reply::Exported { path, bytes },
                    Err(e) => Reply::Failed(e),
                }
            }
            Request::ListDir { dir, fresh } => {
                if fresh || self.places.is_empty() {
                    self.places = browse::places(&self.data);
                }
                Reply::Listing(browse::list(&dir, &self.places).map_err(|e| e.to_string()))
            }
        }
    }

    /// Where an export goes: a bare file name to DATA/exports, not to
    /// wherever the app happened to be started from.
    fn export_path(&self, path: PathBuf) -> PathBuf {
        if path.is_relative() {
            self.data.join("exports").join(path)
        } else {
            path
        }
    }

    fn service(&self) -> Result<Service, Failure> {
        Ok(Service::open(&self.data)?)
    }

    /// Runs a writing use case as the logged-in officer; `f` returns how
    /// many changes it signed.
    fn saved(
        &self,
        f: impl FnOnce(&Service, &Identity, i64) -> Result<usize, ServiceError>,
    ) -> Reply {
        let run = || -> Result<usize, Failure> {
            let id = self.identity.as_ref().ok_or(Failure::NotLoggedIn)?;
            Ok(f(&self.service()?, id, unix_now())?)
        };
        match run() {
            Ok(changes) => Reply::Saved { changes },
            Err(e) => Reply::SaveFailed(e),
        }
    }

    fn store(&self) -> Result<Store, node::store::StoreError> {
        Store::open(&self.data)
    }

    /// Unlocks the key file and checks its certificate against the registry:
    /// known to the authority this replica trusts, valid today, not revoked.
    fn login(
        &mut self,
        key_file: &Path,
        passphrase: &str,
    ) -> Result<(Officer, Vec<(DistrictId, String)>), Failure> {
        let today = date_of(unix_now())
            .ok_or_else(|| Failure::Other("system clock out of range".into()))?;
        let u = self
            .service()?
            .unlock(key_file, passphrase, today)
            .map_err(|e| Failure::Service(e.into()))?;
        self.identity = Some(u.identity);
        Ok((u.officer, u.districts))
    }

    /// Reads and checks the whole file before a single write, as
    /// `tally import` does; progress by step (read, check, sign and store).
    fn import(&self, kind: Kind, path: &Path, progress: &dyn Fn(Progress)) -> Reply {
        let file = node::service::file_label(path);
        let step = |s: ImportStep| {
            let (done, step) = match s {
                ImportStep::Reading => (0, "读取 / reading".to_string()),
                ImportStep::Checking { bytes } => {
                    (1, format!("校验 {bytes} 字节 / checking {bytes} bytes"))
                }
                ImportStep::Signing { rows } => {
                    (2, format!("签名写入 {rows} 行 / signing {rows} rows"))
                }
            };
            progress(Progress {
                task: format!("导入 / import {file}"),
                step,
                done,
                total: 3,
            })
        };
        let run = || -> Result<node::service::Imported, Failure> {
            let id = self.identity.as_ref().ok_or(Failure::NotLoggedIn)?;
            let svc = self.service()?;
            let label = format!("app: {file}");
            Ok(svc
                .import(
                    id,
                    unix_now(),
                    &ImportFile {
                        kind,
                        path,
                        sheet: None,
                        label: &label,
                        force: false,
                    },
                    &mut |s| step(s),
                )?
                .value)
        };
        match run() {
            Ok(i) => Reply::Imported {
                file: match &i.sheet {
                    Some(sheet) => format!("{file} ({sheet})"),
                    None => file.clone(),
                },
                rows: i.rows,
                changed: i.changed,
                documents: i.documents,
                not_counted: i.not_counted,
            },
            Err(Failure::Service(ServiceError::Rejected(e))) => {
                Reply::ImportRejected(e.errors.iter().map(ToString::to_string).collect())
            }
            Err(e) => Reply::SaveFailed(e),
        }
    }
}
