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

pub(super) fn export(
    ctx: &Ctx,
    district: Option<&DistrictId>,
    month: Month,
    out: &Path,
) -> Result<ExitCode> {
    let store = ctx.store()?;
    let _lock = store.lock_shared()?;
    let registry = store
        .load(&DocId::Registry)?
        .typed(RegistryDoc::from_document)?;
    present::issues(&registry.issues);
    let facts = registry.doc.facts();
    let districts: Vec<DistrictId> = match district {
        Some(d) => {
            if !facts.districts.contains_key(d) {
                bail!("unknown district {d}");
            }
            vec![d.clone()]
        }
        None => facts.districts.keys().cloned().collect(),
    };
    let mut bundle = Bundle {
        header: Bundle::new_header(
            &store.config().prison,
            month,
            district.map(|d| d.as_str()),
            &store.config().authority,
        ),
        registry: verify::signed_changes(registry.doc.document().automerge(), &registry.signatures)
            .map_err(|e| anyhow::anyhow!("registry: {e}"))?,
        months: Default::default(),
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
    if bundle.months.is_empty() {
        bail!("no records for {month} to export");
    }
    let bytes = bundle.encode();
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

pub(super) fn verify(authority: &Path, bundle: &Path, json: bool) -> Result<ExitCode> {
    let key = identity::read_authority_pub(authority)?.public_key;
    let bytes =
        crate::input::read_bounded(bundle, crate::bundle::MAX_BUNDLE_BYTES as u64, "bundle")?;
    let report = verify::verify(&bytes, &key);
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
