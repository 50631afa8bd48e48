//! The `tally` command line: argument parsing and dispatch. Each command is a
//! thin shell over the library (store, import, demo, scoring).

mod present;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use crdt_schema::{
    ChangeMeta, Date, DistrictId, DocId, InmateNo, Month, RegistryFacts, explain_inmate,
};

use crate::demo::{self, DemoOptions};
use crate::import::{self, Kind};
use crate::ops;
use crate::read;
use crate::session::WriteSession;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "tally",
    version,
    about = "劳动改造计分 — signed, replicated labor scores"
)]
pub struct Cli {
    /// Data directory of this replica (default: $TALLY_DATA, else the platform data dir).
    #[arg(long, global = true, env = "TALLY_DATA")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new data directory for a prison.
    Init {
        #[arg(long)]
        prison: String,
    },
    /// Import one CSV file of the given kind (UTF-8, header row required).
    Import { kind: Kind, file: PathBuf },
    /// Score a month: one district, or all districts.
    Score {
        #[arg(long)]
        district: Option<DistrictId>,
        #[arg(long)]
        month: Month,
        /// One inmate, day by day (needs --district).
        #[arg(long, requires = "district")]
        inmate: Option<InmateNo>,
        #[arg(long)]
        json: bool,
    },
    /// The daily board of a district.
    Board {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        date: Date,
        #[arg(long)]
        json: bool,
    },
    /// Generate the demo prison (creates the data directory if needed).
    Demo {
        #[arg(long, default_value_t = 1200)]
        inmates: u32,
        #[arg(long, default_value = "2026-10")]
        month: Month,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let data = match cli.data {
        Some(d) => d,
        None => directories::ProjectDirs::from("", "", "tally")
            .map(|p| p.data_dir().to_path_buf())
            .context("no --data given, TALLY_DATA unset, and no platform data directory")?,
    };
    match cli.command {
        Command::Init { prison } => init(&data, &prison),
        Command::Import { kind, file } => import_file(&data, kind, &file),
        Command::Score {
            district,
            month,
            inmate,
            json,
        } => score(&data, district, month, inmate, json),
        Command::Board {
            district,
            date,
            json,
        } => board(&data, &district, date, json),
        Command::Demo {
            inmates,
            month,
            seed,
        } => run_demo(
            &data,
            DemoOptions {
                inmates,
                month,
                seed,
            },
        ),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn meta(store: &Store, message: String) -> Result<ChangeMeta> {
    let author = hex::decode(&store.config().writer)
        .with_context(|| format!("{}: writer is not hex", store.root().display()))?;
    Ok(ChangeMeta {
        author,
        time: now(),
        message,
    })
}

fn new_writer_id() -> Result<Vec<u8>> {
    use rand::TryRng;
    let mut id = vec![0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut id)
        .map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(id)
}

fn init(data: &Path, prison: &str) -> Result<ExitCode> {
    crdt_schema::records::check_text("prison name", prison)?;
    let store = Store::init(data, prison, &new_writer_id()?)?;
    let mut s = WriteSession::begin(&store, meta(&store, "init".into())?)?;
    let rules = crdt_schema::RuleSet::standard(Month::new(2021, 10).expect("valid month"));
    s.write_registry(|w| {
        w.set_prison(prison)?;
        w.put_rule_set(&rules)
    })?;
    s.commit()?;
    println!("initialized {} for {prison}", data.display());
    Ok(ExitCode::SUCCESS)
}

fn import_file(data: &Path, kind: Kind, file: &Path) -> Result<ExitCode> {
    let store = Store::open(data)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let label = file.display().to_string();
    let mut s = WriteSession::begin(&store, meta(&store, format!("import {label}"))?)?;
    present::issues(&s.issues);
    let plan = match import::plan(kind, &label, &bytes, &s.registry().facts()) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let changed = ops::apply(&mut s, &plan)?;
    let done = s.commit()?;
    println!(
        "{label}: {} rows, {changed} records changed in {} documents",
        plan.rows,
        done.documents.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn load_registry(store: &Store) -> Result<RegistryFacts> {
    let (registry, issues) = read::registry(store)?;
    present::issues(&issues);
    Ok(registry.facts())
}

fn score(
    data: &Path,
    district: Option<DistrictId>,
    month: Month,
    inmate: Option<InmateNo>,
    json: bool,
) -> Result<ExitCode> {
    let store = Store::open(data)?;
    let _lock = store.lock_shared()?;
    let registry = load_registry(&store)?;
    let ids: Vec<DocId> = match &district {
        Some(d) => {
            if !registry.districts.contains_key(d) {
                bail!("unknown district {d}");
            }
            vec![DocId::month(d.clone(), month)]
        }
        None => registry
            .districts
            .keys()
            .map(|d| DocId::month(d.clone(), month))
            .collect(),
    };
    if let (Some(no), Some(d)) = (inmate, &district) {
        let loaded = store
            .load(&ids[0])?
            .typed(crdt_schema::MonthDoc::from_document)?;
        present::issues(&loaded.issues);
        let Some(e) = explain_inmate(&registry, &loaded.doc.facts(), &no)? else {
            bail!("inmate {no} has no roster entry or records in {d} {month}");
        };
        let mut out = std::io::stdout().lock();
        if json {
            serde_json::to_writer(&mut out, &e)?;
            writeln!(out)?;
        } else {
            present::explanation(&mut out, &registry, &e)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut reports = Vec::new();
    for r in read::score(&store, &registry, &ids) {
        let r = r?;
        present::issues(&r.issues);
        reports.push(r.report);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        if district.is_some() {
            serde_json::to_writer(&mut out, &reports[0])?;
        } else {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({ "month": month, "districts": reports }),
            )?;
        }
        writeln!(out)?;
    } else {
        for r in &reports {
            present::report(&mut out, &registry, r)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn board(data: &Path, district: &DistrictId, date: Date, json: bool) -> Result<ExitCode> {
    let store = Store::open(data)?;
    let _lock = store.lock_shared()?;
    let registry = load_registry(&store)?;
    if !registry.districts.contains_key(district) {
        bail!("unknown district {district}");
    }
    let loaded = store
        .load(&DocId::month(district.clone(), date.month()))?
        .typed(crdt_schema::MonthDoc::from_document)?;
    present::issues(&loaded.issues);
    let b = crdt_schema::board(&registry, &loaded.doc.facts(), date)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &b)?;
        writeln!(out)?;
    } else {
        present::board(&mut out, &registry, &b)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn run_demo(data: &Path, opts: DemoOptions) -> Result<ExitCode> {
    if opts.inmates == 0 {
        bail!("--inmates must be at least 1");
    }
    let store = match Store::open(data) {
        Ok(s) => s,
        Err(crate::store::StoreError::NotInitialized(_)) => {
            init(data, "演示监狱")?;
            Store::open(data)?
        }
        Err(e) => return Err(e.into()),
    };
    let started = std::time::Instant::now();
    let generated = demo::generate(&store, meta(&store, "demo".into())?, opts)?;
    eprintln!(
        "demo: {} inmates in {} districts, {} — {} changes in {} documents ({:.1?})",
        opts.inmates,
        generated.districts.len(),
        opts.month,
        generated.committed.changes,
        generated.committed.documents.len(),
        started.elapsed()
    );
    let d = &generated;
    let (registry, _) = read::registry(&store)?;
    let registry = registry.facts();
    // Show the result: the month's scores per district.
    let ids: Vec<DocId> = d
        .districts
        .iter()
        .map(|x| DocId::month(x.clone(), opts.month))
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let reports: Vec<_> = read::score(&store, &registry, &ids)
        .into_iter()
        .map(|r| r.map(|s| s.report))
        .collect::<Result<_, _>>()?;
    present::summary(&mut out, &registry, &reports)?;
    writeln!(
        out,
        "\nnext: tally --data {} score --district {} --month {}",
        data.display(),
        d.districts[0],
        opts.month
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
