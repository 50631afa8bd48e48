//! The app's imperative shell: a worker thread that owns the data directory.
//!
//! The UI never touches disk or keys: it sends a [`Request`] and, on a later
//! frame, takes the [`Reply`]; the worker wakes the UI (`request_repaint`)
//! when a reply is ready. Everything it does goes through the node crate's
//! own paths — `identity` to unlock a key file, `WriteSession` to sign and
//! judge writes exactly as a peer would, `read`/`audit` to score and explain —
//! so the app can do nothing the CLI could not.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use crdt_schema::schema::RecordClass;
use crdt_schema::{
    Adjustment, Attendance, Date, DistrictId, DocId, Inmate, InmateNo, Month, MonthDoc,
    ProcedureId, ProcedureVersion, RegistryDoc, ReportDigest, score_month,
};
use keys::Role;
use node::audit::AuditTrail;
use node::close::{self, Approved};
use node::export::{self, Format};
use node::identity;
use node::import::{self, Kind};
use node::ops;
use node::session::{Identity, WriteSession};
use node::store::Store;
use node::validate::{Trust, date_of};

mod resolve;
mod view;

pub use view::{Catalog, Conflict, ConflictValue, DistrictView, EntryRow, ProcedureLine};

use crate::browse::{self, Listing};
use crate::clock::unix_now;

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
    /// `class` into `doc`: the permission table of `replica-core`, so the app
    /// offers exactly what a save would be allowed to do.
    pub fn may(&self, doc: &DocId, class: RecordClass) -> bool {
        node::validate::may_write(self.role, self.district.as_ref(), doc, class)
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

/// Long work under way: `done` of `total` steps, and what the step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub task: String,
    pub step: String,
    pub done: u64,
    pub total: u64,
}

/// One inmate's edit of the day in the entry grid: only what the officer
/// changed, so a save never writes back a value someone else has changed
/// since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub inmate_no: InmateNo,
    /// The day's attendance, when changed.
    pub attendance: Option<Attendance>,
    /// The day's count on a procedure, when changed.
    pub count: Option<(ProcedureId, u64)>,
    /// Counts to remove: cleared, or moved to another procedure.
    pub delete_counts: Vec<ProcedureId>,
}

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
    LoginFailed(String),
    Loaded(Box<DistrictView>),
    /// The district could not be read; the screen keeps what it showed.
    LoadFailed(String),
    /// A write was signed and stored.
    Saved {
        changes: usize,
    },
    /// A write was refused or failed; nothing of it was stored.
    SaveFailed(String),
    Audit(Box<AuditTrail>),
    Catalog(Box<Catalog>),
    Imported {
        file: String,
        rows: usize,
        changed: usize,
        documents: usize,
    },
    /// The file was refused: every error, each naming line, column and value.
    ImportRejected(Vec<String>),
    Exported {
        path: PathBuf,
        bytes: usize,
    },
    /// A folder for the file picker, or why it could not be read.
    Listing(Result<Listing, String>),
    /// A step of long work; the request's own reply follows.
    Progress(Progress),
    Failed(String),
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
                        Reply::Failed(format!("内部错误 / internal error: {what}"))
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
                Err(e) => Reply::LoginFailed(format!("{e:#}")),
            },
            Request::Load { district, date } => match self.load(&district, date) {
                Ok(v) => Reply::Loaded(Box::new(v)),
                Err(e) => Reply::LoadFailed(format!("{district} {date}: {e:#}")),
            },
            Request::Save {
                district,
                date,
                edits,
            } => self.write(&format!("{district} {date}"), |s| {
                s.write_month(&district, date.month(), |w| {
                    for e in &edits {
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
            }),
            Request::Audit {
                district,
                month,
                inmate,
            } => match self.audit(&district, month, &inmate) {
                Ok(t) => Reply::Audit(Box::new(t)),
                Err(e) => Reply::Failed(format!("{e:#}")),
            },
            Request::Approve {
                district,
                month,
                inmate,
                seen,
            } => self.write(&format!("approve {district} {month} {inmate}"), |s| {
                match close::approve_inmate_if(s, &district, month, &inmate, |now| now == seen)? {
                    Some(_) => Ok(()),
                    None => anyhow::bail!(
                        "{inmate} 待审批的内容已变化，未批准；请查看后再批 / what awaits approval for {inmate} changed since it was shown: nothing approved, look again"
                    ),
                }
            }),
            Request::Resolve {
                district,
                month,
                key,
                value,
            } => self.write(&format!("resolve {district} {month} {key}"), |s| {
                resolve::resolve(s, &district, month, &key, value.as_deref())
            }),
            Request::Seal {
                district,
                month,
                seen,
            } => self.write(&format!("seal {district} {month}"), |s| {
                match close::seal_month_if(s, &district, month, |now| *now == seen)? {
                    Some(_) => Ok(()),
                    None => anyhow::bail!(
                        "{district} {month} 的数据在查看后有变化，未封存；请查看后再封存 / {district} {month} changed since it was shown: not sealed, look again"
                    ),
                }
            }),
            Request::Catalog => match self.catalog() {
                Ok(c) => Reply::Catalog(Box::new(c)),
                Err(e) => Reply::Failed(format!("{e:#}")),
            },
            Request::PutProcedure {
                id,
                from,
                version,
                new_product,
            } => self.write(&format!("procedure {id} from {from}"), |s| {
                s.write_registry(|w| {
                    if let Some(name) = &new_product {
                        w.put_product(&version.product, name)?;
                    }
                    w.put_procedure_version(&id, from, &version)
                })?;
                Ok(())
            }),
            Request::PutInmate { no, inmate } => self.write(&format!("inmate {no}"), |s| {
                s.write_registry(|w| w.put_inmate(&no, &inmate))?;
                Ok(())
            }),
            Request::PutAdjustment {
                district,
                inmate,
                adjustment,
            } => self.write(&format!("adjustment {inmate}"), |s| {
                s.write_month(&district, adjustment.date.month(), |w| {
                    w.put_adjustment(&inmate, &adjustment)
                })?;
                Ok(())
            }),
            Request::Import { kind, path } => self.import(kind, &path, progress),
            Request::Export {
                district,
                month,
                format,
                path,
            } => {
                // A bare file name goes to DATA/exports, not to wherever the
                // app happened to be started from.
                let path = if path.is_relative() {
                    self.data.join("exports").join(path)
                } else {
                    path
                };
                match self.export(&district, month, format, &path) {
                    Ok(bytes) => Reply::Exported { path, bytes },
                    Err(e) => Reply::Failed(format!("{}: {e:#}", path.display())),
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

    /// Runs `f` in a write session as the logged-in officer and commits.
    fn write(
        &self,
        note: &str,
        f: impl FnOnce(&mut WriteSession<'_>) -> anyhow::Result<()>,
    ) -> Reply {
        let run = || -> anyhow::Result<usize> {
            let id = self
                .identity
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("not logged in"))?;
            let store = self.store()?;
            let mut s = WriteSession::begin(&store, id, unix_now(), format!("app: {note}"))?;
            f(&mut s)?;
            Ok(s.commit()?.changes)
        };
        match run() {
            Ok(changes) => Reply::Saved { changes },
            Err(e) => Reply::SaveFailed(write_message(&e)),
        }
    }

    fn store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.data)?)
    }

    /// Unlocks the key file and checks its certificate against the registry:
    /// known to the authority this replica trusts, valid today, not revoked.
    fn login(
        &mut self,
        key_file: &Path,
        passphrase: &str,
    ) -> anyhow::Result<(Officer, Vec<(DistrictId, String)>)> {
        let id = identity::unlock_officer(key_file, passphrase).map_err(unlock_message)?;
        let store = self.store()?;
        let authority = store.authority()?;
        id.certificate.verify(&authority).map_err(|e| {
            anyhow::anyhow!(
                "证书不是本监狱签发的 / certificate not issued by this prison's authority: {e}"
            )
        })?;
        let today =
            date_of(unix_now()).ok_or_else(|| anyhow::anyhow!("system clock out of range"))?;
        let body = &id.certificate.body;
        if today < body.valid_from || today > body.valid_to {
            anyhow::bail!(
                "证书已过期或尚未生效 / certificate valid {} to {}, today is {today}",
                body.valid_from,
                body.valid_to
            );
        }
        let registry = store
            .load(&DocId::Registry)?
            .typed(RegistryDoc::from_document)?;
        let trust = Trust::from_registry(authority, registry.doc.document().automerge());
        if trust.is_revoked(&id.public()) {
            anyhow::bail!(
                "证书已被吊销 / officer {}'s key has been revoked",
                body.officer_no
            );
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
        self.identity = Some(id);
        Ok((officer, districts))
    }

    /// Reads and checks the whole file before a single write, as
    /// `tally import` does; progress by step (read, check, sign and store).
    fn import(&self, kind: Kind, path: &Path, progress: &dyn Fn(Progress)) -> Reply {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let step = |done: u64, step: String| {
            progress(Progress {
                task: format!("导入 / import {file}"),
                step,
                done,
                total: 3,
            })
        };
        let run = || -> anyhow::Result<Reply> {
            let id = self
                .identity
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("not logged in"))?;
            step(0, "读取 / reading".into());
            let bytes =
                node::input::read_bounded(path, node::input::MAX_TABLE_BYTES, "spreadsheet")?;
            let store = self.store()?;
            let mut s = WriteSession::begin(&store, id, unix_now(), format!("app: import {file}"))?;
            step(
                1,
                format!("校验 {} 字节 / checking {} bytes", bytes.len(), bytes.len()),
            );
            let plan = match import::plan_file(kind, &file, &bytes, &s.registry().facts()) {
                Ok(p) => p,
                Err(e) => {
                    return Ok(Reply::ImportRejected(
                        e.errors.iter().map(ToString::to_string).collect(),
                    ));
                }
            };
            step(
                2,
                format!("签名写入 {} 行 / signing {} rows", plan.rows, plan.rows),
            );
            let changed = ops::apply(&mut s, &plan)?;
            let done = s.commit()?;
            Ok(Reply::Imported {
                file: file.clone(),
                rows: plan.rows,
                changed,
                documents: done.documents.len(),
            })
        };
        run().unwrap_or_else(|e| Reply::SaveFailed(format!("{e:#}")))
    }

    /// Scores the month as loaded and writes the file atomically.
    fn export(
        &self,
        district: &DistrictId,
        month: Month,
        format: Format,
        path: &Path,
    ) -> anyhow::Result<usize> {
        let store = self.store()?;
        let bytes = {
            let _lock = store.lock_shared()?;
            let registry = node::read::registry(&store)?.0.facts();
            let id = DocId::month(district.clone(), month);
            let facts = store.load(&id)?.typed(MonthDoc::from_document)?.doc.facts();
            let report = score_month(&registry, &facts)?;
            export::export(format, &registry, &report)?
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        }
        node::store::write_atomic(path, &bytes)?;
        Ok(bytes.len())
    }
}

/// Why a write did not happen, starting with what it means for the
/// officer: nothing of it was written (the library's words follow).
fn write_message(e: &anyhow::Error) -> String {
    use node::session::WriteError as W;
    let what = match e.chain().find_map(|c| c.downcast_ref::<W>()) {
        Some(W::Refused(_)) => "校验未通过，未写入任何内容 / refused, nothing written",
        Some(W::Pending(_)) => "暂不能写入，未写入任何内容 / cannot write yet, nothing written",
        _ => "未写入任何内容 / nothing written",
    };
    format!("{what}: {e:#}")
}

/// The officer's words for why a key file did not open (the library's are
/// English and name the file).
fn unlock_message(e: anyhow::Error) -> anyhow::Error {
    use keys::KeyFileError as K;
    match e.chain().find_map(|c| c.downcast_ref::<K>()) {
        Some(K::WrongPassphrase { path }) => anyhow::anyhow!(
            "口令错误（或密钥文件被改动）/ wrong passphrase (or the key file was altered): {}",
            path.display()
        ),
        Some(K::Io { path, source }) => anyhow::anyhow!(
            "无法读取密钥文件 / cannot read the key file {}: {source}",
            path.display()
        ),
        Some(K::Malformed { path, reason }) => anyhow::anyhow!(
            "不是 tally 密钥文件 / not a tally key file: {}: {reason}",
            path.display()
        ),
        _ => e,
    }
}
