//! `export` and `verify`: bundles carried between replicas and to the
//! procuratorate.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use crdt_schema::{DistrictId, DocId, Month, MonthDoc, RegistryDoc};

use super::{Ctx, present};
use crate::bundle::Bundle;
use crate::identity;
use crate::verify;

/// A bundle of `month` (one district's, with the documents its report
/// reads, or every district's) from the store, unsigned; and how many
/// changes it carries.
fn bundle_of(
    store: &crate::store::Store,
    district: Option<&DistrictId>,
    month: Month,
) -> Result<(Bundle, usize)> {
    let _lock = store.lock_shared()?;
    let registry = store
        .load(&DocId::Registry)?
        .typed(RegistryDoc::from_document)?;
    present::issues(&registry.issues);
    // The roster as the month's reports read it: the shards up to its year,
    // each read once, for its facts and for the bundle (as `months` entries:
    // the bundle names every document it carries).
    let mut shards = Vec::new();
    let mut carried_shards = Vec::new();
    for id in store.roster_ids()? {
        if matches!(id, DocId::Roster { year } if year > crdt_schema::Year::of_month(month)) {
            continue;
        }
        let loaded = store.load(&id)?;
        present::issues(&loaded.issues);
        let signed = verify::signed_changes(loaded.doc.automerge(), &loaded.signatures)
            .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
        let shard = loaded.typed(crdt_schema::RosterDoc::from_document)?;
        shards.push(shard.doc.facts());
        carried_shards.push((id, signed));
    }
    let facts = registry.doc.facts().with_roster(&shards);
    let districts: Vec<DistrictId> = match district {
        Some(d) => {
            if !facts.districts.contains_key(d) {
                bail!("unknown district {d}");
            }
            vec![d.clone()]
        }
        None => facts.districts.keys().cloned().collect(),
    };
    // The prison as the signed registry names it (what `verify` shows).
    let prison = facts
        .prison
        .clone()
        .unwrap_or_else(|| store.config().prison.clone());
    let mut bundle = Bundle {
        header: Bundle::new_header(
            &prison,
            month,
            district.map(|d| d.as_str()),
            &store.config().authority,
        ),
        registry: verify::signed_changes(registry.doc.document().automerge(), &registry.signatures)
            .map_err(|e| anyhow::anyhow!("registry: {e}"))?,
        months: Default::default(),
        statement: None,
        content_digest: [0; 32],
    };
    let mut changes = bundle.registry.len();
    // Each report reads the documents of the districts that held its
    // inmates this month (transfers): they go in too, so `verify` can
    // recompute it.
    let mut districts: std::collections::BTreeSet<DistrictId> = districts.into_iter().collect();
    let sources: Vec<DistrictId> = districts
        .iter()
        .flat_map(|d| facts.sources_of(d, month))
        .collect();
    districts.extend(sources);
    for (id, signed) in carried_shards {
        changes += signed.len();
        if !signed.is_empty() {
            bundle.months.insert(id, signed);
        }
    }
    for d in districts {
        let id = DocId::month(d, month);
        let loaded = store.load(&id)?.typed(MonthDoc::from_document)?;
        present::issues(&loaded.issues);
        let signed = verify::signed_changes(loaded.doc.document().automerge(), &loaded.signatures)
            .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
        changes += signed.len();
        if !signed.is_empty() {
            bundle.months.insert(id, signed);
        }
    }
    Ok((bundle, changes))
}

pub(super) fn export(
    ctx: &Ctx,
    district: Option<&DistrictId>,
    month: Month,
    out: &Path,
) -> Result<ExitCode> {
    let store = ctx.store()?;
    let (mut bundle, changes) = bundle_of(&store, district, month)?;
    if !bundle
        .months
        .keys()
        .any(|d| matches!(d, DocId::Month { .. }))
    {
        bail!("no records for {month} to export");
    }
    // Signed by this device's key: the statement of what it exported. (The
    // endpoint's key is an Ed25519 seed like every key of tally's: the one
    // the authority enrolled the device by.) Where this user cannot read it
    // (the service's own key, owner-only), the bundle goes out unsigned,
    // and says so here as `verify` will there.
    // The key is never made here: made by this user, the service (another
    // user) could not read its own key.
    let bytes = match crate::net::config::node_key_if_made(&ctx.data) {
        Ok(Some(key)) => {
            let seed = zeroize::Zeroizing::new(key.to_bytes());
            bundle.encode_signed(&keys::SecretKey::from_seed(&seed), super::now())
        }
        Ok(None) => {
            eprintln!(
                "warning: the bundle's statement is not signed: this node has no device key yet (`tally node id` or the service makes it, and the authority enrolls it)"
            );
            bundle.encode()
        }
        Err(e) => {
            eprintln!(
                "warning: the bundle's statement is not signed ({e}): run the export as the user the tally service runs as, so the procuratorate can attribute what it carries"
            );
            bundle.encode()
        }
    };
    crate::store::write_atomic(out, &bytes)?;
    println!(
        "{}: {} signed changes of {} document(s), {} bytes",
        out.display(),
        changes,
        bundle.months.len() + 1,
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn merge(ctx: &Ctx, bundle: &Path, json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let bytes =
        crate::input::read_bounded(bundle, crate::bundle::MAX_BUNDLE_BYTES as u64, "bundle")?;
    let b = Bundle::decode(&bytes).with_context(|| format!("{}", bundle.display()))?;
    let report = crate::merge::merge(&store, b)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for (doc, n) in &report.accepted {
            writeln!(out, "{doc}: {n} new signed change(s)")?;
        }
        writeln!(out, "{} change(s) already here", report.already)?;
        for (doc, hash, reason) in &report.quarantined {
            writeln!(out, "quarantined {doc} {}: {reason}", &hash[..12])?;
        }
        if report.pending > 0 {
            writeln!(
                out,
                "{} change(s) pending: kept until what they depend on arrives",
                report.pending
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn verify(
    data: Option<&Path>,
    authority: Option<&Path>,
    bundle: Option<&Path>,
    month: Option<Month>,
    json: bool,
    require_statement: bool,
) -> Result<ExitCode> {
    // The verifier's own replica, if named: its authority, and what it
    // collected on its own (checkpoints of every device it heard of).
    let own = match data {
        Some(dir) => {
            let store = crate::store::Store::open(dir)?;
            let replica = crate::replica::Replica::open(store.clone())?;
            let core = &replica.core;
            let witnesses = verify::Witnesses {
                checkpoints: core.checkpoints().iter().cloned().collect(),
                devices: core
                    .trust()
                    .devices()
                    .map(|d| (*d.body.endpoint_id.as_bytes(), d.body.label.clone()))
                    .collect(),
                own: bundle.is_none(),
                held: core
                    .doc_ids()
                    .into_iter()
                    .filter_map(|id| {
                        let hashes = core
                            .document(&id)?
                            .automerge()
                            .get_changes_meta(&[])
                            .into_iter()
                            .map(|c| (c.hash, c.timestamp))
                            .collect();
                        Some((id, hashes))
                    })
                    .collect(),
            };
            Some((store, witnesses))
        }
        None => None,
    };
    let key = match (authority, &own) {
        (Some(file), own) => {
            let key = identity::read_authority_pub(file)?.public_key;
            if let Some((store, _)) = own
                && store.authority()? != key
            {
                bail!(
                    "{} is not the authority the replica {} trusts",
                    file.display(),
                    store.root().display()
                );
            }
            key
        }
        (None, Some((store, _))) => store.authority()?,
        (None, None) => bail!(
            "give the authority's public key (--authority authority.pub), or a replica of your own (--data DIR)"
        ),
    };
    let bytes = match (bundle, month, &own) {
        (Some(b), _, _) => {
            crate::input::read_bounded(b, crate::bundle::MAX_BUNDLE_BYTES as u64, "bundle")?
        }
        (None, Some(m), Some((store, _))) => bundle_of(store, None, m)?.0.encode(),
        (None, _, Some(_)) => {
            bail!("name a bundle to verify, or the month of this replica's own documents (--month)")
        }
        (None, _, None) => bail!("name a bundle to verify"),
    };
    let mut report = verify::verify_against(&bytes, &key, own.as_ref().map(|(_, w)| w));
    if require_statement && bundle.is_some() {
        report.require_statement();
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        present::verification(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `tally link`: each district-month of `month` written to the scoring
/// database in one transaction (or, with `check`, read back and compared).
#[allow(clippy::too_many_arguments)]
pub(super) fn link(
    ctx: &Ctx,
    month: Month,
    district: Option<&DistrictId>,
    url: &str,
    password_file: Option<&Path>,
    ca_file: Option<&Path>,
    unsealed: bool,
    check: bool,
) -> Result<ExitCode> {
    let target = crate::service::link::target(url, password_file, ca_file)?;
    let read = ctx.service()?.link_months(month, district, false)?;
    present::issues(&read.issues);
    let months = read.value;
    let mut client = target.connect()?;
    link::ensure_schema(&mut client)?;
    let mut differences = 0;
    for m in &months.months {
        let r = &m.report;
        let at = format!("{}/{}", r.district, r.month);
        let sealed = r.seal.as_ref().is_some_and(|s| s.current);
        let amended = r.seal.is_some() && !sealed;
        let input = m.input(&months);
        if check {
            // A month amended since its seal is compared too: the database
            // holds the sealed version (stale).
            if !(sealed || unsealed || amended) {
                println!("{at}: not sealed: not linked (--unsealed links it, marked unsealed)");
                continue;
            }
            let found = link::check_month(&mut client, &input)?;
            if found.is_empty() {
                println!(
                    "{at}: the database matches tally's report {}",
                    &r.digest.0[..16]
                );
            }
            for d in &found {
                println!("{d}");
            }
            differences += found.len();
            continue;
        }
        match link::apply(&mut client, &input, unsealed)? {
            link::Applied::Linked(link::Linked::New { rows }) => {
                println!("{at}: linked {rows} rows (version 1)")
            }
            link::Applied::Linked(link::Linked::Replaced { rows, version }) => println!(
                "{at}: the report changed: {rows} rows linked as version {version}, the previous ones kept in tally_labor_history"
            ),
            link::Applied::Linked(link::Linked::Unchanged { version }) => {
                println!("{at}: unchanged (version {version})")
            }
            // Its linked rows are marked no longer sealed, so no reader takes
            // them for the current sealed part (an inmate transferred since
            // would otherwise show twice).
            link::Applied::MarkedUnsealed => println!(
                "{at}: amended since its seal: its linked rows are marked sealed = false until it is resealed and linked"
            ),
            link::Applied::NotLinked { amended } => println!(
                "{at}: {}: not linked (--unsealed links it, marked unsealed)",
                if amended {
                    "amended since its seal"
                } else {
                    "not sealed"
                }
            ),
        }
    }
    if differences > 0 {
        eprintln!("{differences} difference(s) between the database and tally");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
