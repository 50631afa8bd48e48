//! The `tally` command line: argument parsing and dispatch. Each command is a
//! thin shell over the library (store, session, import, scoring, bundles).

mod daemon;
mod exchange;
mod present;
mod read;
mod setup;
mod write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use crdt_schema::{Date, DistrictId, InmateNo, Month};
use keys::Role;

use crate::identity;
use crate::import::Kind;
use crate::service::Service;
use crate::session::Identity;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "tally",
    version,
    long_version = crate::about::long_version(),
    about = "劳动改造计分 — signed, replicated labor scores"
)]
pub struct Cli {
    /// Data directory of this replica (default: $TALLY_DATA, else the
    /// machine's: %ProgramData%\\tally on Windows, /var/lib/tally elsewhere).
    #[arg(long, global = true, env = "TALLY_DATA")]
    data: Option<PathBuf>,
    /// The node's settings file (default: DATA/node.toml; the packaged node
    /// uses /etc/tally/node.toml).
    #[arg(long, global = true, env = "TALLY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write as the officer of this key file (default: the data directory's admin key).
    #[arg(long = "as", global = true, value_name = "KEYFILE")]
    as_key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a data directory: a new prison (authority and admin keys), or a
    /// replica trusting an existing prison's authority.
    Init {
        #[arg(
            long,
            conflicts_with = "authority",
            required_unless_present = "authority"
        )]
        prison: Option<String>,
        /// The prison authority's public key file (authority.pub).
        #[arg(long)]
        authority: Option<PathBuf>,
    },
    /// Import one file of the given kind: CSV (UTF-8, header row required),
    /// or an .xlsx/.xlsm workbook (its first visible worksheet, header in the first row;
    /// refused past 512 MiB unpacked or 8,388,608 cells with values).
    #[command(after_help = import_columns())]
    Import {
        kind: Kind,
        file: PathBuf,
        /// Of a workbook, the worksheet to read (default: the first visible one).
        #[arg(long)]
        sheet: Option<String>,
        /// Transfers: replace another of the same date, or change sealed
        /// months (they then show the amendment until resealed).
        #[arg(long)]
        force: bool,
    },
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
        /// A consistent run of months, FIRST..LAST (e.g. 2026-01..2026-12):
        /// the roster evolves, officers save a few rows at a time, every
        /// month is reviewed, posted and sealed. Again with a later LAST, it
        /// adds the months not yet there and leaves the others as they are.
        #[arg(long, conflicts_with = "month")]
        months: Option<crate::demo::year::MonthRange>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Officers: issue a key and certificate, revoke, list.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Write the month's sealed labor scores to the scoring database
    /// (PostgreSQL or one speaking its protocol), or check what is there.
    Link {
        #[arg(long)]
        month: Month,
        #[arg(long)]
        district: Option<DistrictId>,
        /// The database, `postgres://USER@HOST:PORT/DB` (no password in it:
        /// TALLY_LINK_PASSWORD or --password-file).
        #[arg(long, env = "TALLY_LINK_URL", hide_env_values = true)]
        url: String,
        /// A file holding the database password (else TALLY_LINK_PASSWORD).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The CA certificate (PEM) the database server's is checked
        /// against: TLS, required (also with `?sslmode=require` in the URL).
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Link months not sealed (or amended since the seal) too, marked unsealed.
        #[arg(long)]
        unsealed: bool,
        /// Read the rows back and name every difference from tally's reports.
        #[arg(long)]
        check: bool,
    },
    /// Rule sets (规则版本): show the one in force, publish a new one.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Confirm a day's records as a second officer (二次签名确认).
    Confirm {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        date: Date,
        /// Only this inmate (default: every inmate with records that day, and the team counts).
        #[arg(long)]
        inmate: Option<InmateNo>,
    },
    /// The month's entries (bonuses and deductions) of a district's document:
    /// id, date, inmate, amount, reason, level and state.
    Entries {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        json: bool,
    },
    /// Record the district scoring group's weekly review (周评议; chief).
    Review {
        #[arg(long)]
        district: DistrictId,
        /// The week, YYYY-Www (ISO: Monday to Sunday).
        #[arg(long)]
        week: crdt_schema::Week,
        /// Members of the district scoring group (all of them, present or not).
        #[arg(long)]
        members: u32,
        /// Those in favour; a decision needs two thirds of all members.
        #[arg(long)]
        yes: u32,
        /// Those present (default: every member).
        #[arg(long)]
        present: Option<u32>,
        /// When the review was held (default: today).
        #[arg(long)]
        held: Option<Date>,
        /// Pass an entry (通过), by the id `tally entries` shows.
        #[arg(long = "pass", value_name = "ID")]
        pass: Vec<String>,
        /// Correct an entry to an amount in centipoints (更正), e.g. ID=-150.
        #[arg(long = "correct", value_name = "ID=CP", allow_hyphen_values = true)]
        correct: Vec<String>,
        /// Return an entry (退回): it does not count.
        #[arg(long = "return", value_name = "ID")]
        returned: Vec<String>,
        /// Dissent to record with the decisions.
        #[arg(long)]
        dissent: Option<String>,
    },
    /// Post (公示) the month's report as it stands (chief): a signed record of
    /// the digest posted and the first day of posting.
    Post {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        /// The first day of posting (default: today).
        #[arg(long)]
        from: Option<Date>,
    },
    /// Record an inmate's application for 复查 (or, with --follows, 复核) of
    /// an entry or a figure (officer).
    Apply {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        inmate: InmateNo,
        /// The entry applied against (its id, from `tally entries`).
        #[arg(long)]
        entry: Option<String>,
        /// The figure applied against, in words, when it is not an entry.
        #[arg(long)]
        figure: Option<String>,
        #[arg(long)]
        reason: String,
        /// The day the application was received.
        #[arg(long)]
        received: Date,
        /// For a 复核: the 复查 it follows (its application id).
        #[arg(long)]
        follows: Option<String>,
    },
    /// Answer an application: a 复查 for the district group (chief), a 复核
    /// for the prison group (prison_group; final).
    Answer {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        /// The application's id (from `tally applications`).
        #[arg(long)]
        application: String,
        /// 维持: the entry or figure stands.
        #[arg(long, conflicts_with = "correct")]
        upheld: bool,
        /// 更正: the entry counts at this amount in centipoints (0: not at all).
        #[arg(long, allow_hyphen_values = true)]
        correct: Option<String>,
        /// The day of the answer (default: today).
        #[arg(long)]
        decided: Option<Date>,
        #[arg(long)]
        note: Option<String>,
        /// For the group's answer to a 复查: its members (all of them)…
        #[arg(long, requires = "yes")]
        members: Option<u32>,
        /// …and those in favour (two thirds of all members).
        #[arg(long, requires = "members")]
        yes: Option<u32>,
    },
    /// Record the inmate's acknowledgement of the monthly sheet (月评表; officer).
    Acknowledge {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        inmate: InmateNo,
        /// signed, refused or not-available.
        #[arg(long)]
        state: String,
        #[arg(long)]
        date: Date,
        #[arg(long)]
        note: Option<String>,
    },
    /// The month's applications with their answers and deadlines.
    Applications {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        json: bool,
    },
    /// Approve an inmate's entries awaiting the prison scoring working group
    /// (prison_group): those the district group passed, special bonuses and
    /// the over-fulfilment bonus from the approval line.
    Approve {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        inmate: InmateNo,
    },
    /// Seal the month (chief): a signed statement of the heads and report digest.
    Seal {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        /// Seal before the posting has ended or with applications
        /// unanswered; the seal records what was not done.
        #[arg(long)]
        force: bool,
    },
    /// Record a signed objection (procurator).
    Object {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        inmate: Option<InmateNo>,
        #[arg(long)]
        date: Option<Date>,
        #[arg(long)]
        text: String,
    },
    /// The signed changes behind an inmate's month.
    Audit {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        #[arg(long)]
        inmate: InmateNo,
        #[arg(long)]
        json: bool,
    },
    /// Write a district-month's scores for the 计分考核 file: an XLSX
    /// workbook or a printable HTML report (A4 landscape).
    Report {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        /// xlsx or html (default: from the extension of --out).
        #[arg(long, value_enum)]
        format: Option<crate::export::Format>,
        /// The posted sheet (公示表, HTML) instead: entries marked not for
        /// posting left off.
        #[arg(long)]
        posted: bool,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Write the weekly sheet (周评议表) of a district-week: per inmate the
    /// week's labor days and rate, and each entry with its state; the
    /// reviews held (XLSX or printable HTML).
    Weekly {
        #[arg(long)]
        district: DistrictId,
        /// The week, YYYY-Www (ISO: Monday to Sunday).
        #[arg(long)]
        week: crdt_schema::Week,
        /// xlsx or html (default: from the extension of --out).
        #[arg(long, value_enum)]
        format: Option<crate::export::Format>,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Write the monthly sheets (月评表) of a district-month, one page per
    /// inmate, for the inmates to sign: figures, entries with their
    /// decisions, the posting, applications and answers (XLSX or HTML).
    Sheets {
        #[arg(long)]
        district: DistrictId,
        #[arg(long)]
        month: Month,
        /// xlsx or html (default: from the extension of --out).
        #[arg(long, value_enum)]
        format: Option<crate::export::Format>,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Write a self-contained bundle of a month's signed changes.
    Export {
        /// One district (default: every district of the month).
        #[arg(long)]
        district: Option<DistrictId>,
        #[arg(long)]
        month: Month,
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Merge a bundle into this replica: accepted changes are stored, the
    /// rest quarantined with their reason.
    Merge {
        bundle: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The node daemon: serve and sync this replica with its peers.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Devices (nodes) allowed to connect.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Verify a bundle from scratch against an authority public key. With
    /// `--data DIR` or `TALLY_DATA` (a replica of one's own: the procuratorate's), against
    /// that replica's authority and the checkpoints it collected from every
    /// node it synced with: a change a device had and the bundle leaves out
    /// is named, with the exporter. With `--data DIR --month M` and no
    /// bundle, that replica's own documents of the month.
    Verify {
        /// The authority's public key file (authority.pub); not needed with
        /// `--data`, whose replica pins it.
        #[arg(long)]
        authority: Option<PathBuf>,
        bundle: Option<PathBuf>,
        /// Without a bundle: the month of the replica's (`--data`) own documents to verify.
        #[arg(long)]
        month: Option<Month>,
        #[arg(long)]
        json: bool,
        /// Fail unless the bundle's statement of what it carries is signed
        /// by a device the authority enrolled (an unsigned or stripped one
        /// is otherwise a note).
        #[arg(long)]
        require_statement: bool,
    },
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Run the node until SIGINT/SIGTERM (settings from DATA/node.toml, flags win).
    Run {
        /// Address to listen on, e.g. 0.0.0.0:7700.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// A peer to keep connected: ENDPOINT_ID@HOST:PORT (repeatable).
        #[arg(long = "peer")]
        peers: Vec<crate::net::PeerAddr>,
        /// Do not look for peers on the LAN by mDNS.
        #[arg(long)]
        no_mdns: bool,
        /// Log to daily files in this directory (the last 14 kept) instead of
        /// standard error (which systemd puts in the journal).
        #[arg(long, value_name = "DIR")]
        log_dir: Option<PathBuf>,
    },
    /// Run as the Windows service (started by the service control manager,
    /// not by hand): the node of `node run`, logging to DATA\\logs.
    #[command(hide = cfg!(not(windows)))]
    Service,
    /// Print this node's endpoint id (its device key is created on first use).
    Id,
    /// Peers, last contact and heads of every document.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Enrol a device (needs the authority key).
    Enroll {
        endpoint_id: String,
        #[arg(long)]
        label: String,
    },
    /// The devices enrolled.
    List,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// The rule set in force for a month (default: this month), and every version.
    Show {
        #[arg(long)]
        month: Option<Month>,
        /// Print the rule set in force as JSON: the file `rules publish` reads.
        #[arg(long)]
        json: bool,
    },
    /// Publish a rule set from a TOML or JSON file (labor section only),
    /// effective from its `effective_from` month.
    Publish {
        file: PathBuf,
        /// Publish even if it changes sealed months (they show amended_after_seal).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OfficerCommand {
    /// Issue a key and certificate (needs the authority key) and enrol it.
    Add {
        no: String,
        #[arg(long)]
        name: String,
        /// The district of an officer or chief.
        #[arg(long)]
        district: Option<DistrictId>,
        #[arg(long)]
        role: Role,
        #[arg(long = "key-out")]
        key_out: PathBuf,
        /// First day of validity (default: today).
        #[arg(long)]
        valid_from: Option<Date>,
        /// Last day of validity (default: two years from today).
        #[arg(long)]
        valid_to: Option<Date>,
    },
    /// Revoke every key of an officer (needs the authority key).
    Revoke { no: String },
    /// The officers this replica knows.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `tally import --help`: each kind's columns (required, then [optional]).
fn import_columns() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use clap::ValueEnum;
        let mut out = String::from("Columns of each kind (header row; [optional]):\n");
        for kind in Kind::value_variants() {
            let (required, optional) = kind.columns();
            let name = kind
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            let mut cols: Vec<String> = required.iter().map(|c| c.to_string()).collect();
            cols.extend(optional.iter().map(|c| format!("[{c}]")));
            out.push_str(&format!("  {name:<12} {}\n", cols.join(",")));
        }
        out
    });
    TEXT.as_str()
}

/// The `tally` program: runs the command line, prints errors, and exits
/// with their status.
pub fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // A reader that went away (`tally score | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once: a cause whose words
/// the line already ends with (an I/O error its wrapper prints too: "…
/// (os error 21): … (os error 21)") is not repeated.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if out.ends_with(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    // `parse` prints help and usage errors the way clap does, and exits.
    execute(Cli::parse())
}

/// Runs `tally` with these arguments (the first is the program name): for
/// tools and tests that set up data directories in process.
pub fn run_from<I, T>(args: I) -> Result<ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    execute(Cli::try_parse_from(args)?)
}

fn execute(cli: Cli) -> Result<ExitCode> {
    // Whether a replica was named (verify then uses its checkpoints).
    let data_given = cli.data.is_some();
    let data = cli.data.unwrap_or_else(platform::default_data_dir);
    // The packaged data directory is shared by the service and the officers.
    platform::share_new_files_with_group(&data);
    let ctx = Ctx {
        data,
        config: cli.config,
        as_key: cli.as_key,
    };
    match cli.command {
        Command::Init { prison, authority } => {
            setup::init(&ctx, prison.as_deref(), authority.as_deref())
        }
        Command::Import {
            kind,
            file,
            sheet,
            force,
        } => write::import(&ctx, kind, &file, sheet.as_deref(), force),
        Command::Score {
            district,
            month,
            inmate,
            json,
        } => read::score(&ctx, district, month, inmate, json),
        Command::Board {
            district,
            date,
            json,
        } => read::board(&ctx, &district, date, json),
        Command::Demo {
            inmates,
            month: _,
            months: Some(months),
            seed,
        } => setup::demo_year(
            &ctx,
            crate::demo::year::YearOptions {
                months,
                inmates,
                seed,
            },
        ),
        Command::Demo {
            inmates,
            month,
            months: None,
            seed,
        } => setup::demo(
            &ctx,
            crate::demo::DemoOptions {
                inmates,
                month,
                seed,
            },
        ),
        Command::Officer { command } => match command {
            OfficerCommand::Add {
                no,
                name,
                district,
                role,
                key_out,
                valid_from,
                valid_to,
            } => setup::officer_add(
                &ctx, &no, &name, district, role, &key_out, valid_from, valid_to,
            ),
            OfficerCommand::Revoke { no } => setup::officer_revoke(&ctx, &no),
            OfficerCommand::List { json } => read::officers(&ctx, json),
        },
        Command::Link {
            month,
            district,
            url,
            password_file,
            ca_file,
            unsealed,
            check,
        } => exchange::link(
            &ctx,
            month,
            district.as_ref(),
            &url,
            password_file.as_deref(),
            ca_file.as_deref(),
            unsealed,
            check,
        ),
        Command::Rules { command } => match command {
            RulesCommand::Show { month, json } => read::rules(&ctx, month, json),
            RulesCommand::Publish { file, force } => write::publish_rules(&ctx, &file, force),
        },
        Command::Confirm {
            district,
            date,
            inmate,
        } => write::confirm(&ctx, &district, date, inmate.as_ref()),
        Command::Entries {
            district,
            month,
            json,
        } => read::entries(&ctx, &district, month, json),
        Command::Review {
            district,
            week,
            members,
            yes,
            present,
            held,
            pass,
            correct,
            returned,
            dissent,
        } => write::review(
            &ctx,
            write::ReviewArgs {
                district,
                week,
                members,
                yes,
                present,
                held,
                pass,
                correct,
                returned,
                dissent,
            },
        ),
        Command::Apply {
            district,
            month,
            inmate,
            entry,
            figure,
            reason,
            received,
            follows,
        } => write::apply(
            &ctx, &district, month, inmate, entry, figure, reason, received, follows,
        ),
        Command::Answer {
            district,
            month,
            application,
            upheld,
            correct,
            decided,
            note,
            members,
            yes,
        } => write::answer(
            &ctx,
            &district,
            month,
            &application,
            (upheld, correct),
            decided,
            note,
            members.zip(yes),
        ),
        Command::Acknowledge {
            district,
            month,
            inmate,
            state,
            date,
            note,
        } => write::acknowledge(&ctx, &district, month, &inmate, &state, date, note),
        Command::Applications {
            district,
            month,
            json,
        } => read::applications(&ctx, &district, month, json),
        Command::Post {
            district,
            month,
            from,
        } => write::post(&ctx, &district, month, from),
        Command::Approve {
            district,
            month,
            inmate,
        } => write::approve(&ctx, &district, month, &inmate),
        Command::Seal {
            district,
            month,
            force,
        } => write::seal(&ctx, &district, month, force),
        Command::Object {
            district,
            month,
            inmate,
            date,
            text,
        } => write::object(&ctx, &district, month, inmate, date, &text),
        Command::Audit {
            district,
            month,
            inmate,
            json,
        } => read::audit(&ctx, &district, month, &inmate, json),
        Command::Report {
            district,
            month,
            format: _,
            posted: true,
            out,
        } => read::posted_sheet(&ctx, &district, month, &out),
        Command::Report {
            district,
            month,
            format,
            posted: false,
            out,
        } => read::report(&ctx, &district, month, format, &out),
        Command::Weekly {
            district,
            week,
            format,
            out,
        } => read::weekly(&ctx, &district, week, format, &out),
        Command::Sheets {
            district,
            month,
            format,
            out,
        } => read::monthly_sheets(&ctx, &district, month, format, &out),
        Command::Export {
            district,
            month,
            out,
        } => exchange::export(&ctx, district.as_ref(), month, &out),
        Command::Merge { bundle, json } => exchange::merge(&ctx, &bundle, json),
        Command::Node { command } => match command {
            NodeCommand::Run {
                listen,
                peers,
                no_mdns,
                log_dir,
            } => daemon::run(&ctx, listen, peers, no_mdns, log_dir.as_deref()),
            NodeCommand::Service => daemon::service(ctx),
            NodeCommand::Id => daemon::id(&ctx),
            NodeCommand::Status { json } => daemon::status(&ctx, json),
        },
        Command::Device { command } => match command {
            DeviceCommand::Enroll { endpoint_id, label } => {
                daemon::enroll(&ctx, &endpoint_id, &label)
            }
            DeviceCommand::List => daemon::devices(&ctx),
        },
        Command::Verify {
            authority,
            bundle,
            month,
            json,
            require_statement,
        } => exchange::verify(
            data_given.then_some(ctx.data.as_path()),
            authority.as_deref(),
            bundle.as_deref(),
            month,
            json,
            require_statement,
        ),
    }
}

/// What every command needs from the command line.
struct Ctx {
    data: PathBuf,
    /// `--config`: the node's settings file, when not `DATA/node.toml`.
    config: Option<PathBuf>,
    as_key: Option<PathBuf>,
}

impl Ctx {
    fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.data)?)
    }

    fn service(&self) -> Result<Service> {
        Ok(Service::open(&self.data)?)
    }

    /// The writing officer: `--as KEYFILE`, else the data directory's admin key.
    fn writer(&self) -> Result<Identity> {
        let path = match &self.as_key {
            Some(p) => p.clone(),
            None => {
                let p = identity::admin_key_path(&self.data);
                if !p.exists() {
                    anyhow::bail!(
                        "this replica has no admin key ({}); write with --as KEYFILE",
                        p.display()
                    );
                }
                p
            }
        };
        // The passphrase protects the key; still, a key file others can read
        // is one they can try passphrases on: say so.
        if let Ok(Some(problem)) = platform::private_problem(&path) {
            eprintln!("warning: key file {}: {problem}", path.display());
        }
        let pass = identity::passphrase(&path.display().to_string())?;
        Ok(identity::unlock_officer(&path, &pass)?)
    }
}

/// Seconds since the epoch, as this machine's clock says: the time an author
/// states for a change.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Today's date in China Standard Time.
fn today() -> Result<Date> {
    crate::validate::date_of(now()).context("the system clock is outside the supported years")
}

fn label(path: &Path) -> String {
    path.display().to_string()
}
