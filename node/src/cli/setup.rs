//! Setting up: `init`, `officer add|revoke`, `demo`.

use crate::keyfile::KeyFileIo;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use crdt_schema::{Date, DistrictId, DocId, RegistryKey};
use keys::{KdfParams, KeyFile, KeyKind, Revocation, RevocationBody, Role, SecretKey};

use super::{Ctx, now, present, today};
use crate::demo::{self, DemoOptions};
use crate::identity;
use crate::prison::{self, issue_cert, trust_key};
use crate::read;
use crate::session::WriteSession;
use crate::store::Store;

/// The passphrase of the demo prison's keys when `TALLY_PASSPHRASE` is unset.
/// The demo is for showing tally, never for real records.
const DEMO_PASSPHRASE: &str = "tally-demo";

pub(super) fn init(ctx: &Ctx, prison: Option<&str>, authority: Option<&Path>) -> Result<ExitCode> {
    match (prison, authority) {
        (Some(prison), None) => {
            let pass = identity::new_passphrase("the authority and admin keys")?;
            prison::init_prison(&ctx.data, prison, &pass, today()?, now())?;
            println!(
                "initialized {} for {prison}\n  authority public key: {}\n  keep {} offline; give {} to replicas and the procuratorate",
                ctx.data.display(),
                identity::authority_pub_path(&ctx.data).display(),
                identity::authority_key_path(&ctx.data).display(),
                identity::authority_pub_path(&ctx.data).display(),
            );
        }
        (None, Some(file)) => {
            let a = identity::read_authority_pub(file)?;
            Store::init(&ctx.data, &a.prison, &a.public_key)?;
            identity::write_authority_pub(
                &identity::authority_pub_path(&ctx.data),
                &a.prison,
                &a.public_key,
            )?;
            println!(
                "initialized {} as a replica of {} (authority {})",
                ctx.data.display(),
                a.prison,
                a.public_key
            );
        }
        _ => bail!("give either --prison NAME or --authority FILE"),
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn officer_add(
    ctx: &Ctx,
    no: &str,
    name: &str,
    district: Option<DistrictId>,
    role: Role,
    key_out: &Path,
    valid_from: Option<Date>,
    valid_to: Option<Date>,
) -> Result<ExitCode> {
    let store = ctx.store()?;
    if key_out.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key file",
            key_out.display()
        );
    }
    let writer = ctx.writer()?;
    let authority =
        identity::unlock_authority(&ctx.data, &identity::passphrase("the authority key")?)?;
    if authority.public() != store.authority()? {
        bail!(
            "the authority key in {} is not the one this replica trusts",
            ctx.data.display()
        );
    }
    let from = match valid_from {
        Some(d) => d,
        None => today()?,
    };
    let to = match valid_to {
        Some(d) => d,
        None => Date::from_ordinal(from.ordinal() + 730).context("date out of range")?,
    };
    if let Some(d) = &district {
        let facts = read::registry(&store)?.0.facts();
        if !facts.districts.contains_key(d) {
            bail!("unknown district {d}");
        }
    }
    let key = SecretKey::generate()?;
    let cert = issue_cert(&authority, &key, no, name, district, role, from, to)?;
    let pass = identity::new_passphrase(&format!("the key of officer {no}"))?;
    // Enrol first (a refused enrolment writes no key file), then write the key.
    let mut s = WriteSession::begin(&store, &writer, now(), format!("officer add {no}"))?;
    s.write_registry(|w| {
        w.put_trust(
            &RegistryKey::Officer(trust_key(&key.public())),
            &cert.to_json(),
        )
    })?;
    KeyFile::seal(
        &key,
        KeyKind::Officer,
        &pass,
        KdfParams::STANDARD,
        Some(cert.clone()),
    )?
    .write_new(key_out)?;
    s.commit()?;
    println!(
        "officer {no} {name} ({role}{}) valid {from} to {to}: key written to {}",
        cert.body
            .district
            .as_ref()
            .map(|d| format!(" of {d}"))
            .unwrap_or_default(),
        key_out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn officer_revoke(ctx: &Ctx, no: &str) -> Result<ExitCode> {
    let store = ctx.store()?;
    let writer = ctx.writer()?;
    let authority =
        identity::unlock_authority(&ctx.data, &identity::passphrase("the authority key")?)?;
    let mut s = WriteSession::begin(&store, &writer, now(), format!("officer revoke {no}"))?;
    let keys: Vec<keys::PublicKey> = s
        .trust()
        .by_officer_no(no)
        .iter()
        .map(|c| c.body.public_key)
        .filter(|k| !s.trust().is_revoked(k))
        .collect();
    if keys.is_empty() {
        bail!("no unrevoked key of officer {no} is known to this replica");
    }
    let date = today()?;
    let revocations = keys
        .iter()
        .map(|k| {
            Revocation::issue(
                &authority,
                RevocationBody {
                    officer_no: no.into(),
                    public_key: *k,
                    date,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    s.write_registry(|w| {
        for r in &revocations {
            w.put_trust(
                &RegistryKey::Revocation(trust_key(&r.body.public_key)),
                &r.to_json(),
            )?;
        }
        Ok(())
    })?;
    s.commit()?;
    println!("revoked {} key(s) of officer {no}", revocations.len());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn demo(ctx: &Ctx, opts: DemoOptions) -> Result<ExitCode> {
    if opts.inmates == 0 {
        bail!("--inmates must be at least 1");
    }
    let DemoPrison {
        pass,
        store,
        admin,
        authority,
    } = demo_prison(ctx)?;
    let started = std::time::Instant::now();
    let generated = demo::generate(&store, &admin, &authority, now(), opts)?;
    eprintln!(
        "demo: {} inmates in {} districts, {} — {} signed changes in {} documents ({:.1?})",
        opts.inmates,
        generated.districts.len(),
        opts.month,
        generated.committed.changes,
        generated.committed.documents.len(),
        started.elapsed()
    );
    demo_keys(ctx, &generated.staff, &generated.districts[0], &pass)?;
    demo_summary(ctx, &store, &generated.districts, opts.month)
}

/// `tally demo --months FIRST..LAST`: a consistent run of months, each
/// written whole or not at all, said as it goes.
pub(super) fn demo_year(ctx: &Ctx, opts: demo::year::YearOptions) -> Result<ExitCode> {
    if opts.inmates == 0 {
        bail!("--inmates must be at least 1");
    }
    let DemoPrison {
        pass,
        store,
        admin,
        authority,
    } = demo_prison(ctx)?;
    let started = std::time::Instant::now();
    let generated = demo::year::generate_year(&store, &admin, &authority, now(), opts, |m| {
        if m.skipped && m.changes > 0 {
            eprintln!(
                "demo: {} already there; {} district(s) left open sealed now",
                m.month, m.changes
            );
        } else if m.skipped {
            eprintln!("demo: {} already there, left as it is", m.month);
        } else {
            eprintln!(
                "demo: {} — {} signed changes in {} documents ({:.1?})",
                m.month, m.changes, m.documents, m.elapsed
            );
        }
    })?;
    eprintln!(
        "demo: {} inmates in {} districts, {} — {} signed changes in {} documents ({:.1?})",
        opts.inmates,
        generated.districts.len(),
        opts.months,
        generated.changes,
        generated.documents.len(),
        started.elapsed()
    );
    demo_keys(ctx, &generated.staff, &generated.districts[0], &pass)?;
    demo_summary(ctx, &store, &generated.districts, opts.months.last)
}

/// The demo prison opened: its passphrase, store, admin and authority.
struct DemoPrison {
    pass: String,
    store: Store,
    admin: crate::session::Identity,
    authority: SecretKey,
}

/// Creates the demo prison if the data directory has none, and opens it.
fn demo_prison(ctx: &Ctx) -> Result<DemoPrison> {
    let pass =
        std::env::var(identity::PASSPHRASE_ENV).unwrap_or_else(|_| DEMO_PASSPHRASE.to_string());
    if !ctx.data.join("tally.toml").exists() {
        prison::init_prison(&ctx.data, "演示监狱", &pass, today()?, now())?;
        eprintln!(
            "created the demo prison in {} (key passphrase: {})",
            ctx.data.display(),
            if std::env::var(identity::PASSPHRASE_ENV).is_ok() {
                "$TALLY_PASSPHRASE"
            } else {
                DEMO_PASSPHRASE
            }
        );
    }
    let store = ctx.store()?;
    let admin = identity::unlock_officer(&identity::admin_key_path(&ctx.data), &pass)?;
    let authority = identity::unlock_authority(&ctx.data, &pass)?;
    Ok(DemoPrison {
        pass,
        store,
        admin,
        authority,
    })
}

/// Key files of some of the demo staff, to try `--as`.
fn demo_keys(ctx: &Ctx, staff: &demo::Staff, first: &DistrictId, pass: &str) -> Result<()> {
    let keys_dir = ctx.data.join("demo-keys");
    std::fs::create_dir_all(&keys_dir)?;
    for who in [
        &staff.records,
        &staff.labor,
        &staff.officers[first],
        &staff.chiefs[first],
        &staff.prison_group,
    ] {
        let path = keys_dir.join(format!("{}.key", who.certificate.body.officer_no));
        if !path.exists() {
            KeyFile::seal(
                &who.key,
                KeyKind::Officer,
                pass,
                KdfParams::STANDARD,
                Some(who.certificate.clone()),
            )?
            .write_new(&path)?;
        }
    }
    Ok(())
}

/// The summary of `month`'s reports, and what to try next.
fn demo_summary(
    ctx: &Ctx,
    store: &Store,
    districts: &[DistrictId],
    month: crdt_schema::Month,
) -> Result<ExitCode> {
    let first = &districts[0];
    let keys_dir = ctx.data.join("demo-keys");
    let registry = read::registry_facts(store, Some(crdt_schema::Year::of_month(month)))?.0;
    let ids: Vec<DocId> = districts
        .iter()
        .map(|x| DocId::month(x.clone(), month))
        .collect();
    let reports: Vec<_> = read::score(store, &registry, &ids)
        .into_iter()
        .map(|r| r.map(|s| s.report))
        .collect::<Result<_, _>>()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    present::summary(&mut out, &registry, &reports)?;
    writeln!(
        out,
        "\nnext: tally --data {} score --district {first} --month {}\n      officer keys to try --as: {}",
        ctx.data.display(),
        month,
        keys_dir.display()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
