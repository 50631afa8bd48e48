//! # link
//!
//! The month-end link into the scoring database (计分考核数据库): each
//! district-month's report as tally scored it — sealed, unless asked
//! otherwise — written to PostgreSQL (or a database speaking its protocol:
//! KingbaseES, openGauss, HighGo) in one transaction per district-month, and
//! read back to check. The tables are `sql/schema.sql`'s; the other systems
//! read the view `tally_labor_month`.
//!
//! This crate is the database shell only: it is given the reports (the node
//! scores them) and knows nothing of the store or the network.

use std::collections::BTreeMap;

use crdt_schema::{Flag, InmateResult, Report};
use postgres::{Client, GenericClient};

pub use postgres;

/// The version of the tables this tally writes.
pub const SCHEMA_VERSION: i32 = 2;
/// The tables, created when absent (every statement may run again).
pub const SCHEMA_SQL: &str = include_str!("../sql/schema.sql");
/// From version 1 (the first `tally link`): the seal's signature, the
/// sources, the posting and a forced seal's reasons on each month row; the history tables are `SCHEMA_SQL`'s. Plain
/// `ADD COLUMN` (no `IF NOT EXISTS`, which not every derivative takes): it
/// runs once, in the transaction that records version 2.
const FROM_VERSION_1: &str = "ALTER TABLE tally_months ADD COLUMN seal_signature text; \
     ALTER TABLE tally_months ADD COLUMN sources text NOT NULL DEFAULT ''; \
     ALTER TABLE tally_months ADD COLUMN posted_from text; \
     ALTER TABLE tally_months ADD COLUMN posted_to text; \
     ALTER TABLE tally_months ADD COLUMN seal_forced text NOT NULL DEFAULT ''";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to the scoring database at {target}: {detail}")]
    Connect { target: String, detail: String },
    #[error("the scoring database: {what}: {detail}")]
    Database { what: String, detail: String },
    #[error(
        "the scoring database holds tally's tables at version {found}, newer than this tally's {SCHEMA_VERSION}: upgrade tally"
    )]
    NewerSchema { found: i32 },
    /// The URL is not repeated: a malformed one may hold a password.
    #[error("the database URL is not one: {reason}")]
    BadUrl { reason: String },
    #[error(
        "the database URL carries a password: give it in a password file or the environment instead (a URL is shown in logs)"
    )]
    PasswordInUrl,
    #[error(
        "the database URL asks for TLS (sslmode=require) but no CA certificate was given to check the server against (--ca-file, or ca_file in [link])"
    )]
    TlsWithoutCa,
    #[error(
        "a CA certificate was given but the database URL says sslmode=disable: drop one or the other"
    )]
    CaWithoutTls,
    #[error("the CA certificate file: {reason}")]
    BadCa { reason: String },
}

/// What went wrong, in the server's words where it said any (the driver's
/// own message is only "db error").
fn detail(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn db(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> LinkError {
    let what = what.into();
    move |e| LinkError::Database {
        what,
        detail: detail(&e),
    }
}

/// One district-month to link: its report and what identifies its state.
#[derive(Debug, Clone)]
pub struct MonthInput<'a> {
    pub prison: &'a str,
    pub report: &'a Report,
    /// Inmates' names, by number.
    pub names: &'a BTreeMap<String, String>,
    /// The month document's heads (hex), what a reader checks the rows against.
    pub heads: Vec<String>,
    /// The seal change's stated time, seconds since 1970.
    pub sealed_at: Option<i64>,
    /// The seal change's signature (hex), by the sealing chief.
    pub seal_signature: Option<String>,
    /// The other districts' documents the sealed report read, with the
    /// heads the seal names: `D02=h1,h2;D05=h3`.
    pub sources: String,
    pub entries: Vec<EntryInput>,
}

/// A bonus or deduction of the month, as scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInput {
    pub inmate_no: String,
    pub id: String,
    pub date: String,
    pub points_cp: i64,
    pub reason: String,
    pub status: String,
}

/// What linking one district-month did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// First linked, at version 1.
    New { rows: usize },
    /// The report changed since (an amendment, a re-seal): the rows were
    /// replaced and the previous ones kept in `tally_labor_history`.
    Replaced { rows: usize, version: i32 },
    /// The same report as linked: nothing written but the log line.
    Unchanged { version: i32 },
}

/// Where months are linked: the database the IT officer named, with its
/// password (never part of the URL) and, when the URL asks for TLS, the CA
/// the server's certificate is checked against.
///
/// TLS is verified or not used: `sslmode=require` without a CA is refused,
/// since an unchecked certificate lets anyone on the segment pose as the
/// scoring database and collect the password. A server with a self-signed
/// certificate is checked against that certificate as its own CA. A CA file
/// with no `sslmode` in the URL means TLS is required.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// How long a connection attempt may take before the link says the
/// database is down (unless the URL sets `connect_timeout`).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Two minutes: a 300-inmate district-month is written in well under one second.
const STATEMENT_TIMEOUT: &str = "SET statement_timeout = 120000";

impl Target {
    /// `url` as `postgres://USER@HOST:PORT/DB[?sslmode=require]` (no
    /// password), `ca_pem` the PEM certificates of the CA that signed the
    /// server's certificate.
    pub fn new(
        url: &str,
        password: Option<&str>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Target, LinkError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| LinkError::BadUrl { reason: detail(&e) })?;
        if config.get_password().is_some() {
            return Err(LinkError::PasswordInUrl);
        }
        if let Some(p) = password {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A connection dropped without a word (a cable, a firewall) is
        // noticed within minutes, not the system's two hours.
        config.keepalives_idle(std::time::Duration::from_secs(60));
        let asked = url.contains("sslmode=");
        let tls = match (config.get_ssl_mode(), ca_pem) {
            (postgres::config::SslMode::Disable, Some(_)) => return Err(LinkError::CaWithoutTls),
            (postgres::config::SslMode::Require, None) => return Err(LinkError::TlsWithoutCa),
            (_, None) => {
                // The driver's default is `prefer`; without a CA tally
                // cannot check a server, so it speaks plain (as the URL
                // allowed) rather than pretend.
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            (mode, Some(pem)) => {
                if !asked || mode == postgres::config::SslMode::Prefer {
                    config.ssl_mode(postgres::config::SslMode::Require);
                }
                Some(std::sync::Arc::new(client_tls(pem)?))
            }
        };
        Ok(Target { config, tls })
    }

    /// The database, without its password: `USER@HOST:PORT/DB`, with `(TLS)`.
    pub fn describe(&self) -> String {
        let mut out = describe(&self.config);
        if self.tls.is_some() {
            out.push_str(" (TLS)");
        }
        out
    }

    /// Connects; an error names the database, never the password.
    pub fn connect(&self) -> Result<Client, LinkError> {
        let connected = match &self.tls {
            None => self.config.connect(postgres::NoTls),
            Some(tls) => self
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                    rustls::ClientConfig::clone(tls),
                )),
        };
        let mut client = connected.map_err(|e| LinkError::Connect {
            target: self.describe(),
            detail: detail(&e),
        })?;
        // A statement that waits longer (on a lock another system holds, a
        // server that stopped answering) fails, and the node tries again
        // later, rather than hang its link for ever.
        client
            .batch_execute(STATEMENT_TIMEOUT)
            .map_err(db("set statement_timeout"))?;
        Ok(client)
    }
}

/// A rustls client on ring (the provider the rest of tally uses) trusting
/// only the given CA certificates.
fn client_tls(pem: &[u8]) -> Result<rustls::ClientConfig, LinkError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bad = |reason: String| LinkError::BadCa { reason };
    let mut roots = rustls::RootCertStore::empty();
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| bad(format!("not PEM certificates: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("certificate {}: {e}", n + 1)))?;
        n += 1;
    }
    if n == 0 {
        return Err(bad(
            "holds no certificate (-----BEGIN CERTIFICATE-----)".into()
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The database a configuration names, without its password.
fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let port = config
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!(
        "{}@{}{port}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Creates tally's tables where absent and checks their version. When they
/// are there at this version nothing is executed, so a role that may only
/// read and write the tables (not own them) can link.
pub fn ensure_schema(client: &mut Client) -> Result<(), LinkError> {
    match create_schema(client) {
        // Two tallies making the tables of a fresh database at one moment
        // (the node and `tally link`): the one that lost finds them made.
        Err(LinkError::Database { .. }) if schema_version(client)? == Some(SCHEMA_VERSION) => {
            Ok(())
        }
        other => other,
    }
}

/// The version tally's tables are at, `None` when there are none.
fn schema_version(client: &mut Client) -> Result<Option<i32>, LinkError> {
    let present: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tally_schema' \
             AND table_schema = current_schema()",
            &[],
        )
        .map_err(db("look for tally's tables"))?
        .try_get(0)
        .map_err(db("look for tally's tables"))?;
    if present == 0 {
        return Ok(None);
    }
    client
        .query_one("SELECT max(version) FROM tally_schema", &[])
        .map_err(db("read the schema version"))?
        .try_get(0)
        .map_err(db("read the schema version"))
}

fn create_schema(client: &mut Client) -> Result<(), LinkError> {
    let present: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tally_schema' \
             AND table_schema = current_schema()",
            &[],
        )
        .map_err(db("look for tally's tables"))?
        .try_get(0)
        .map_err(db("look for tally's tables"))?;
    if present > 0 {
        let found: Option<i32> = client
            .query_one("SELECT max(version) FROM tally_schema", &[])
            .map_err(db("read the schema version"))?
            .try_get(0)
            .map_err(db("read the schema version"))?;
        match found {
            Some(v) if v > SCHEMA_VERSION => return Err(LinkError::NewerSchema { found: v }),
            Some(v) if v == SCHEMA_VERSION => return Ok(()),
            _ => {}
        }
    }
    let mut tx = client.transaction().map_err(db("begin"))?;
    // Under the transaction: another tally creating them at the same moment
    // waits here, then finds them made.
    let found: Option<i32> = if present > 0 {
        tx.execute("LOCK TABLE tally_schema IN EXCLUSIVE MODE", &[])
            .map_err(db("lock the schema version"))?;
        tx.query_one("SELECT max(version) FROM tally_schema", &[])
            .map_err(db("read the schema version"))?
            .try_get(0)
            .map_err(db("read the schema version"))?
    } else {
        None
    };
    // Version 1's month table (recorded as such, or with its version row
    // lost): the columns version 2 added are missing.
    let v1_columns: i64 = tx
        .query_one(
            "SELECT count(*) FROM information_schema.tables t WHERE t.table_name = 'tally_months' \
             AND t.table_schema = current_schema() \
             AND NOT EXISTS (SELECT 1 FROM information_schema.columns c \
             WHERE c.table_name = 'tally_months' AND c.table_schema = current_schema() \
             AND c.column_name = 'seal_signature')",
            &[],
        )
        .map_err(db("look at tally_months"))?
        .try_get(0)
        .map_err(db("look at tally_months"))?;
    match found {
        Some(v) if v > SCHEMA_VERSION => return Err(LinkError::NewerSchema { found: v }),
        Some(v) if v == SCHEMA_VERSION => return tx.commit().map_err(db("commit")),
        _ if v1_columns > 0 => tx
            .batch_execute(FROM_VERSION_1)
            .map_err(db("upgrade tally's tables from version 1"))?,
        _ => {}
    }
    tx.batch_execute(SCHEMA_SQL)
        .map_err(db("create tally's tables"))?;
    tx.execute(
        "INSERT INTO tally_schema (version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .map_err(db("record the schema version"))?;
    tx.commit().map_err(db("commit"))
}

fn flags(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes one district-month in one transaction: nothing when the report
/// linked is this one (same digest and seal state), else its rows replace
/// the previous ones (kept in the history) at the next version.
pub fn link_month(client: &mut Client, m: &MonthInput<'_>) -> Result<Linked, LinkError> {
    let r = m.report;
    let district = r.district.to_string();
    let month = r.month.to_string();
    let sealed = r.seal.as_ref().is_some_and(|s| s.current);
    let key: [&(dyn postgres::types::ToSql + Sync); 3] = [&m.prison, &district, &month];
    let mut tx = client.transaction().map_err(db("begin"))?;
    let old = tx
        .query_opt(
            "SELECT digest, sealed, version, seal_change FROM tally_months \
             WHERE prison = $1 AND district = $2 AND month = $3 FOR UPDATE",
            &key,
        )
        .map_err(db(format!("read {district}/{month}")))?
        .map(|row| {
            Ok::<_, postgres::Error>((
                row.try_get::<_, String>(0)?,
                row.try_get::<_, bool>(1)?,
                row.try_get::<_, i32>(2)?,
                row.try_get::<_, Option<String>>(3)?,
            ))
        })
        .transpose()
        .map_err(db(format!("read {district}/{month}")))?;
    let seal_change = r.seal.as_ref().map(|s| s.change.clone());
    let log =
        |tx: &mut postgres::Transaction<'_>, action: &str, rows: usize, version: i32| {
            tx.execute(
            "INSERT INTO tally_link_log (prison, district, month, digest, action, rows, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&m.prison, &district, &month, &r.digest.0, &action, &(rows as i32), &version],
        )
        .map(|_| ())
        .map_err(db("log the link"))
        };
    if let Some((digest, was_sealed, version, change)) = &old
        && *digest == r.digest.0
        && *change == seal_change
        && *was_sealed == sealed
    {
        log(&mut tx, "unchanged", 0, *version)?;
        tx.commit().map_err(db("commit"))?;
        return Ok(Linked::Unchanged { version: *version });
    }
    let version = old.as_ref().map_or(1, |(_, _, v, _)| v + 1);
    let seal = r.seal.as_ref();
    let heads = m.heads.join(",");
    if old.is_some() {
        tx.execute(
            "INSERT INTO tally_months_history (prison, district, month, digest, sealed, \
             sealed_by, seal_change, sealed_at, heads, rule_set, version, linked_at, \
             seal_signature, sources, posted_from, posted_to, seal_forced) \
             SELECT prison, district, month, digest, sealed, sealed_by, seal_change, sealed_at, \
             heads, rule_set, version, linked_at, seal_signature, sources, posted_from, \
             posted_to, seal_forced FROM tally_months \
             WHERE prison = $1 AND district = $2 AND month = $3",
            &key,
        )
        .map_err(db("keep the replaced month"))?;
        tx.execute(
            "INSERT INTO tally_entries_history (prison, district, month, inmate_no, entry_id, \
             entry_date, points_cp, reason, status, version) \
             SELECT prison, district, month, inmate_no, entry_id, entry_date, points_cp, reason, \
             status, version FROM tally_entries \
             WHERE prison = $1 AND district = $2 AND month = $3",
            &key,
        )
        .map_err(db("keep the replaced entries"))?;
        tx.execute(
            "INSERT INTO tally_labor_history (prison, district, month, inmate_no, inmate_name, \
             base_cp, bonus_cp, pending_bonus_cp, deduct_cp, pending_deduct_cp, labor_cp, flags, \
             custody_days, labor_days, work_days, digest, sealed, version) \
             SELECT prison, district, month, inmate_no, inmate_name, base_cp, bonus_cp, \
             pending_bonus_cp, deduct_cp, pending_deduct_cp, labor_cp, flags, custody_days, \
             labor_days, work_days, digest, sealed, version FROM tally_labor \
             WHERE prison = $1 AND district = $2 AND month = $3",
            &key,
        )
        .map_err(db("keep the replaced rows"))?;
        for table in ["tally_labor", "tally_entries"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE prison = $1 AND district = $2 AND month = $3"),
                &key,
            )
            .map_err(db(format!("replace {table}")))?;
        }
        tx.execute(
            "DELETE FROM tally_months WHERE prison = $1 AND district = $2 AND month = $3",
            &key,
        )
        .map_err(db("replace the month"))?;
    }
    tx.execute(
        "INSERT INTO tally_months (prison, district, month, digest, sealed, sealed_by, \
         seal_change, sealed_at, heads, rule_set, version, seal_signature, sources, \
         posted_from, posted_to, seal_forced) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &m.prison,
            &district,
            &month,
            &r.digest.0,
            &sealed,
            &seal.map(|s| s.by.clone()),
            &seal.map(|s| s.change.clone()),
            &m.sealed_at,
            &heads,
            &r.body.rule_set,
            &version,
            &m.seal_signature,
            &m.sources,
            &r.posting.as_ref().map(|p| p.first_day.to_string()),
            &r.posting.as_ref().map(|p| p.last_day.to_string()),
            &seal.map(|s| s.forced.clone()).unwrap_or_default(),
        ],
    )
    .map_err(db("write the month"))?;
    type Param<'p> = &'p (dyn postgres::types::ToSql + Sync);
    struct LaborRow {
        no: String,
        name: String,
        flags: String,
        days: [i32; 3],
    }
    let labor: Vec<(LaborRow, &InmateResult)> = r
        .body
        .inmates
        .iter()
        .map(|i| {
            let no = i.inmate_no.to_string();
            let row = LaborRow {
                name: m.names.get(&no).cloned().unwrap_or_default(),
                flags: flags(&i.flags),
                days: [
                    i.custody_days as i32,
                    i.labor_days as i32,
                    i.work_days as i32,
                ],
                no,
            };
            (row, i)
        })
        .collect();
    insert_rows(
        &mut tx,
        "tally_labor (prison, district, month, inmate_no, inmate_name, base_cp, bonus_cp, \
         pending_bonus_cp, deduct_cp, pending_deduct_cp, labor_cp, flags, custody_days, \
         labor_days, work_days, digest, sealed, version)",
        &labor,
        |(row, i)| -> Vec<Param<'_>> {
            vec![
                &m.prison,
                &district,
                &month,
                &row.no,
                &row.name,
                &i.base_cp.0,
                &i.bonus_cp.0,
                &i.pending_bonus_cp.0,
                &i.deduct_cp.0,
                &i.pending_deduct_cp.0,
                &i.labor_cp.0,
                &row.flags,
                &row.days[0],
                &row.days[1],
                &row.days[2],
                &r.digest.0,
                &sealed,
                &version,
            ]
        },
        |(row, _)| format!("write the rows from inmate {} on", row.no),
    )?;
    insert_rows(
        &mut tx,
        "tally_entries (prison, district, month, inmate_no, entry_id, entry_date, points_cp, \
         reason, status, version)",
        &m.entries,
        |e| -> Vec<Param<'_>> {
            vec![
                &m.prison,
                &district,
                &month,
                &e.inmate_no,
                &e.id,
                &e.date,
                &e.points_cp,
                &e.reason,
                &e.status,
                &version,
            ]
        },
        |e| format!("write the entries from {} on", e.id),
    )?;
    let rows = r.body.inmates.len();
    log(
        &mut tx,
        if old.is_some() { "relinked" } else { "linked" },
        rows,
        version,
    )?;
    tx.commit().map_err(db("commit"))?;
    Ok(if old.is_some() {
        Linked::Replaced { rows, version }
    } else {
        Linked::New { rows }
    })
}

/// Rows written this many to a statement: a round trip per chunk rather
/// than per row (a 300-inmate district-month is two), with at most
/// 18 × 200 parameters, far below the protocol's 65,535.
const ROWS_PER_INSERT: usize = 200;

/// Inserts `items` into `table (columns)` with multi-row `VALUES` lists (plain
/// SQL every derivative takes), `params` giving each row's values in column
/// order. An error names the chunk's first row (`what`).
fn insert_rows<'a, T>(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    items: &'a [T],
    params: impl Fn(&'a T) -> Vec<&'a (dyn postgres::types::ToSql + Sync)>,
    what: impl Fn(&T) -> String,
) -> Result<(), LinkError> {
    let mut prepared: Option<(usize, postgres::Statement)> = None;
    for chunk in items.chunks(ROWS_PER_INSERT) {
        let values: Vec<Vec<&(dyn postgres::types::ToSql + Sync)>> =
            chunk.iter().map(&params).collect();
        let width = values.first().map_or(0, Vec::len);
        let statement = match &prepared {
            Some((n, st)) if *n == chunk.len() => st.clone(),
            _ => {
                let mut sql = format!("INSERT INTO {table} VALUES ");
                for row in 0..chunk.len() {
                    if row > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('(');
                    for col in 0..width {
                        if col > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!("${}", row * width + col + 1));
                    }
                    sql.push(')');
                }
                let st = tx.prepare(&sql).map_err(db("prepare"))?;
                prepared = Some((chunk.len(), st.clone()));
                st
            }
        };
        let flat: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.into_iter().flatten().collect();
        tx.execute(&statement, &flat).map_err(db(what(&chunk[0])))?;
    }
    Ok(())
}

/// Marks a linked month no longer sealed (amended since its seal, not yet
/// resealed): its rows stay, flagged `sealed = false`, with a log line.
/// `false` when the month was not linked (or already so marked).
pub fn mark_unsealed(client: &mut Client, m: &MonthInput<'_>) -> Result<bool, LinkError> {
    let r = m.report;
    let district = r.district.to_string();
    let month = r.month.to_string();
    let key: [&(dyn postgres::types::ToSql + Sync); 3] = [&m.prison, &district, &month];
    let mut tx = client.transaction().map_err(db("begin"))?;
    let changed = tx
        .execute(
            "UPDATE tally_months SET sealed = false \
             WHERE prison = $1 AND district = $2 AND month = $3 AND sealed",
            &key,
        )
        .map_err(db(format!("mark {district}/{month}")))?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE tally_labor SET sealed = false WHERE prison = $1 AND district = $2 AND month = $3",
        &key,
    )
    .map_err(db(format!("mark the rows of {district}/{month}")))?;
    tx.execute(
        "INSERT INTO tally_link_log (prison, district, month, digest, action, rows, version) \
         SELECT prison, district, month, digest, 'amended', 0, version FROM tally_months \
         WHERE prison = $1 AND district = $2 AND month = $3",
        &key,
    )
    .map_err(db("log the mark"))?;
    tx.commit().map_err(db("commit"))?;
    Ok(true)
}

/// What the database holds of one district-month: what it was linked from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedState {
    pub digest: String,
    pub sealed: bool,
    /// The seal change the rows were linked from: a re-seal to the same
    /// digest (an amendment that left the figures alone) is a new seal.
    pub seal_change: Option<String>,
    pub version: i32,
}

/// Every district-month of `prison` the database holds, by (district, month).
pub fn linked_months(
    client: &mut Client,
    prison: &str,
) -> Result<BTreeMap<(String, String), LinkedState>, LinkError> {
    let rows = client
        .query(
            "SELECT district, month, digest, sealed, version, seal_change FROM tally_months \
             WHERE prison = $1",
            &[&prison],
        )
        .map_err(db("read the linked months"))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let get = |e| db("read the linked months")(e);
        out.insert(
            (row.try_get(0).map_err(get)?, row.try_get(1).map_err(get)?),
            LinkedState {
                digest: row.try_get(2).map_err(get)?,
                sealed: row.try_get(3).map_err(get)?,
                version: row.try_get(4).map_err(get)?,
                seal_change: row.try_get(5).map_err(get)?,
            },
        );
    }
    Ok(out)
}

/// Whether the node has work to do for a district-month, given what the
/// database holds of it: a sealed report not linked as such, or rows linked
/// from a seal the month has been amended since. Months never sealed are
/// the `--unsealed` CLI's, never the node's.
pub fn needs_link(report: &Report, linked: Option<&LinkedState>) -> bool {
    match &report.seal {
        Some(s) if s.current => linked.is_none_or(|l| l.digest != report.digest.0 || !l.sealed),
        Some(_) => linked.is_some_and(|l| l.sealed),
        None => false,
    }
}

/// What linking one district-month under the link's policy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Linked(Linked),
    /// Amended since its seal: the rows linked from the seal are marked
    /// `sealed = false` until it is resealed.
    MarkedUnsealed,
    /// Not linked: not sealed, or amended since its seal (and the rows, if
    /// any, already so marked). `--unsealed` links such months.
    NotLinked {
        amended: bool,
    },
}

/// Links one district-month as the policy says, for `tally link` and the
/// node alike: a sealed month (or any, with `unsealed`) is linked; one
/// amended since its seal has its linked rows marked unsealed; others are
/// left alone.
pub fn apply(
    client: &mut Client,
    m: &MonthInput<'_>,
    unsealed: bool,
) -> Result<Applied, LinkError> {
    let sealed = m.report.seal.as_ref().is_some_and(|s| s.current);
    let amended = m.report.seal.is_some() && !sealed;
    if sealed || unsealed {
        return link_month(client, m).map(Applied::Linked);
    }
    if amended && mark_unsealed(client, m)? {
        return Ok(Applied::MarkedUnsealed);
    }
    Ok(Applied::NotLinked { amended })
}

/// The columns of a row compared with tally's report, by name.
fn figures(i: &InmateResult) -> [(&'static str, i64); 9] {
    [
        ("base_cp", i.base_cp.0),
        ("bonus_cp", i.bonus_cp.0),
        ("pending_bonus_cp", i.pending_bonus_cp.0),
        ("deduct_cp", i.deduct_cp.0),
        ("pending_deduct_cp", i.pending_deduct_cp.0),
        ("labor_cp", i.labor_cp.0),
        ("custody_days", i64::from(i.custody_days)),
        ("labor_days", i64::from(i.labor_days)),
        ("work_days", i64::from(i.work_days)),
    ]
}

/// Reads one district-month back and names every difference from tally's
/// report: the month not linked, linked from another report (stale), a row
/// edited, missing or extra.
pub fn check_month(client: &mut Client, m: &MonthInput<'_>) -> Result<Vec<String>, LinkError> {
    let r = m.report;
    let district = r.district.to_string();
    let month = r.month.to_string();
    let at = format!("{district}/{month}");
    let key: [&(dyn postgres::types::ToSql + Sync); 3] = [&m.prison, &district, &month];
    let mut out = Vec::new();
    let month_row = client
        .query_opt(
            "SELECT digest, version, sealed, seal_change, seal_signature, sealed_by, sealed_at, \
             heads, sources, rule_set FROM tally_months \
             WHERE prison = $1 AND district = $2 AND month = $3",
            &key,
        )
        .map_err(db(format!("read {at}")))?;
    let Some(month_row) = month_row else {
        out.push(format!("{at}: not linked"));
        return Ok(out);
    };
    let cell = |row: &postgres::Row, i: usize| -> Result<i64, LinkError> {
        match row.try_get::<_, i64>(i) {
            Ok(v) => Ok(v),
            Err(_) => row
                .try_get::<_, i32>(i)
                .map(i64::from)
                .map_err(db(format!("read {at}: column {i}"))),
        }
    };
    let text = |row: &postgres::Row, i: usize| -> Result<String, LinkError> {
        row.try_get::<_, String>(i)
            .map_err(db(format!("read {at}: column {i}")))
    };
    let flag = |row: &postgres::Row, i: usize| -> Result<bool, LinkError> {
        row.try_get::<_, bool>(i)
            .map_err(db(format!("read {at}: column {i}")))
    };
    let (digest, version) = (text(&month_row, 0)?, cell(&month_row, 1)?);
    let linked_sealed = flag(&month_row, 2)?;
    let maybe = |row: &postgres::Row, i: usize| -> Result<Option<String>, LinkError> {
        row.try_get::<_, Option<String>>(i)
            .map_err(db(format!("read {at}: column {i}")))
    };
    // Compared while the database holds this seal's rows (a stale month is
    // named once, below).
    if digest == r.digest.0 {
        let change = r.seal.as_ref().map(|s| s.change.clone());
        if maybe(&month_row, 3)? != change {
            out.push(format!(
                "{at}: seal_change in the database differs from tally's seal"
            ));
        }
        if maybe(&month_row, 4)? != m.seal_signature {
            out.push(format!(
                "{at}: seal_signature in the database differs from the seal's signature"
            ));
        }
        if maybe(&month_row, 5)? != r.seal.as_ref().map(|s| s.by.clone()) {
            out.push(format!(
                "{at}: sealed_by in the database differs from the sealing chief's key"
            ));
        }
        let sealed_at: Option<i64> = month_row
            .try_get(6)
            .map_err(db(format!("read {at}: sealed_at")))?;
        if sealed_at != m.sealed_at {
            out.push(format!(
                "{at}: sealed_at in the database differs from the seal's time"
            ));
        }
        for (i, name, want) in [
            (7, "heads", m.heads.join(",")),
            (8, "sources", m.sources.clone()),
            (9, "rule_set", r.body.rule_set.clone()),
        ] {
            let got = text(&month_row, i)?;
            if got != want {
                out.push(format!(
                    "{at}: {name} in the database `{got}`, tally `{want}`"
                ));
            }
        }
        check_entries(client, m, &at, &mut out)?;
    }
    let sealed = r.seal.as_ref().is_some_and(|s| s.current);
    if linked_sealed != sealed {
        out.push(format!(
            "{at}: linked as sealed = {linked_sealed}, tally's month is {}",
            if sealed {
                "sealed"
            } else {
                "not sealed (or amended since its seal)"
            }
        ));
    }
    if digest != r.digest.0 {
        out.push(format!(
            "{at}: stale: version {version} was linked from report {}, tally's report is now {}",
            short(&digest),
            short(&r.digest.0)
        ));
    }
    let rows = client
        .query(
            "SELECT inmate_no, base_cp, bonus_cp, pending_bonus_cp, deduct_cp, pending_deduct_cp, \
             labor_cp, custody_days, labor_days, work_days, flags, digest, sealed, inmate_name \
             FROM tally_labor \
             WHERE prison = $1 AND district = $2 AND month = $3 ORDER BY inmate_no",
            &key,
        )
        .map_err(db(format!("read the rows of {at}")))?;
    let mut linked: BTreeMap<String, postgres::Row> = BTreeMap::new();
    for row in rows {
        linked.insert(text(&row, 0)?, row);
    }
    for i in &r.body.inmates {
        let no = i.inmate_no.to_string();
        let Some(row) = linked.remove(&no) else {
            out.push(format!("{at} {no}: missing from the database"));
            continue;
        };
        for (n, (name, want)) in figures(i).into_iter().enumerate() {
            let got = cell(&row, n + 1)?;
            if got != want {
                out.push(format!(
                    "{at} {no}: {name} in the database {got}, tally {want}"
                ));
            }
        }
        let f = text(&row, 10)?;
        if f != flags(&i.flags) {
            out.push(format!(
                "{at} {no}: flags in the database `{f}`, tally `{}`",
                flags(&i.flags)
            ));
        }
        let d = text(&row, 11)?;
        if d != digest {
            out.push(format!(
                "{at} {no}: digest {} differs from the month's {}",
                short(&d),
                short(&digest)
            ));
        }
        if flag(&row, 12)? != linked_sealed {
            out.push(format!(
                "{at} {no}: sealed differs from the month's {linked_sealed}"
            ));
        }
        let name = text(&row, 13)?;
        let want = m.names.get(&no).cloned().unwrap_or_default();
        if name != want {
            out.push(format!(
                "{at} {no}: name in the database `{name}`, tally `{want}`"
            ));
        }
    }
    for no in linked.keys() {
        out.push(format!(
            "{at} {no}: in the database but not in tally's report"
        ));
    }
    Ok(out)
}

/// The month's entries read back and compared: missing, extra, edited.
fn check_entries(
    client: &mut Client,
    m: &MonthInput<'_>,
    at: &str,
    out: &mut Vec<String>,
) -> Result<(), LinkError> {
    let district = m.report.district.to_string();
    let month = m.report.month.to_string();
    let rows = client
        .query(
            "SELECT inmate_no, entry_id, entry_date, points_cp, reason, status FROM tally_entries \
             WHERE prison = $1 AND district = $2 AND month = $3",
            &[&m.prison, &district, &month],
        )
        .map_err(db(format!("read the entries of {at}")))?;
    let mut linked: BTreeMap<(String, String), EntryInput> = BTreeMap::new();
    for row in rows {
        let get = |e| db(format!("read the entries of {at}"))(e);
        let e = EntryInput {
            inmate_no: row.try_get(0).map_err(get)?,
            id: row.try_get(1).map_err(get)?,
            date: row.try_get(2).map_err(get)?,
            points_cp: row.try_get(3).map_err(get)?,
            reason: row.try_get(4).map_err(get)?,
            status: row.try_get(5).map_err(get)?,
        };
        linked.insert((e.inmate_no.clone(), e.id.clone()), e);
    }
    for e in &m.entries {
        match linked.remove(&(e.inmate_no.clone(), e.id.clone())) {
            None => out.push(format!(
                "{at} {}: entry {} missing from the database",
                e.inmate_no, e.id
            )),
            Some(got) if got != *e => out.push(format!(
                "{at} {}: entry {} in the database ({} cp, {}, {}, `{}`) differs from tally's ({} cp, {}, {}, `{}`)",
                e.inmate_no,
                e.id,
                got.points_cp,
                got.status,
                got.date,
                got.reason,
                e.points_cp,
                e.status,
                e.date,
                e.reason
            )),
            Some(_) => {}
        }
    }
    for (no, id) in linked.keys() {
        out.push(format!(
            "{at} {no}: entry {id} in the database but not in tally's month"
        ));
    }
    Ok(())
}

fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

/// Rows of the view for a month (for tests and a quick look).
pub fn view_rows(
    client: &mut impl GenericClient,
    month: &str,
) -> Result<Vec<(String, String, String)>, LinkError> {
    let rows = client
        .query(
            "SELECT district, inmate_no, CAST(labor_points AS text) FROM tally_labor_month \
             WHERE month = $1 ORDER BY district, inmate_no",
            &[&month],
        )
        .map_err(db("read tally_labor_month"))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
