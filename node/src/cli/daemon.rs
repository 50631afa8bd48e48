//! `node run|id|status` and `device enroll|list`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use crdt_schema::RegistryKey;
use keys::{DeviceBody, DeviceCert, PublicKey};

use super::{Ctx, now, today};
use crate::identity;
use crate::net::{self, Node, NodeConfig, NodeOptions, PeerAddr, StatusFile};
use crate::prison::trust_key;
use crate::read;
use crate::session::WriteSession;
use crate::validate::Trust;

pub(super) fn run(
    ctx: &Ctx,
    listen: Option<SocketAddr>,
    peers: Vec<PeerAddr>,
    no_mdns: bool,
    log_dir: Option<&Path>,
) -> Result<ExitCode> {
    init_logging(log_dir)?;
    let opts = options(ctx, listen, peers, no_mdns)?;
    serve(&ctx.data, opts, wait_for_signal())?;
    Ok(ExitCode::SUCCESS)
}

/// The settings: the config file, with the command line's flags winning.
fn options(
    ctx: &Ctx,
    listen: Option<SocketAddr>,
    peers: Vec<PeerAddr>,
    no_mdns: bool,
) -> Result<NodeOptions> {
    let config = NodeConfig::load(&ctx.data, ctx.config.as_deref())?;
    let mut all_peers = config.peers.clone();
    for p in peers {
        if !all_peers.contains(&p) {
            all_peers.push(p);
        }
    }
    Ok(NodeOptions {
        listen: listen.or(config.listen),
        peers: all_peers,
        mdns: config.mdns && !no_mdns,
        link: config.link,
        checkpoint_every: crate::net::CHECKPOINT_EVERY,
    })
}

fn init_logging(dir: Option<&Path>) -> Result<()> {
    Ok(crate::logging::init(dir, "tally-node")?)
}

/// Runs the node on `data` until `stop` completes.
fn serve(
    data: &Path,
    opts: NodeOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let node = Node::start(data, opts).await?;
        eprintln!("node {} listening on {:?}", node.id(), node.bound());
        stop.await;
        tracing::info!("shutting down");
        eprintln!("shutting down");
        node.shutdown().await;
        anyhow::Ok(())
    })
}

/// What the Windows service runs with: set once before the service starts.
static SERVICE_CTX: std::sync::OnceLock<(PathBuf, Option<PathBuf>)> = std::sync::OnceLock::new();

/// `tally node service`: the node as the Windows service `tally`, logging
/// to `DATA\logs`, stopped by the service control manager.
pub(super) fn service(ctx: Ctx) -> Result<ExitCode> {
    let _ = SERVICE_CTX.set((ctx.data, ctx.config));
    platform::service::run("tally", service_main).map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}

fn service_main(stop: std::sync::mpsc::Receiver<()>) -> Result<(), String> {
    let Some((data, config)) = SERVICE_CTX.get().cloned() else {
        return Err("no service settings".into());
    };
    let run = || -> Result<()> {
        init_logging(Some(&data.join("logs")))?;
        // Installed before the IT officer has run `tally init`: wait for the
        // data directory rather than fail and be restarted in a loop.
        let mut said = false;
        while let Err(e) = crate::store::Store::open(&data) {
            if !said {
                tracing::warn!(
                    "waiting for the data directory ({e}); run `tally init --authority FILE`"
                );
                said = true;
            }
            match stop.recv_timeout(std::time::Duration::from_secs(10)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return Ok(()),
            }
        }
        let ctx = Ctx {
            data: data.clone(),
            config,
            as_key: None,
        };
        let opts = options(&ctx, None, Vec::new(), false)?;
        let stopped = async {
            let _ = tokio::task::spawn_blocking(move || stop.recv()).await;
        };
        serve(&data, opts, stopped)
    };
    run().map_err(|e| {
        tracing::error!("the node stopped: {e:#}");
        format!("{e:#}")
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

pub(super) fn id(ctx: &Ctx) -> Result<ExitCode> {
    ctx.store()?;
    let key = net::node_key(&ctx.data)?;
    println!("{}", key.public());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn status(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let status: Option<StatusFile> = net::read_status(&ctx.data);
    // A node holds the node lock while it runs; a status file alone may be
    // left over from one that crashed.
    let running = net::running_elsewhere(&ctx.data).is_some()
        && status
            .as_ref()
            .is_some_and(|s| now().saturating_sub(s.updated as i64) <= 5);
    // Heads from the store itself, whether or not a daemon runs.
    let heads: std::collections::BTreeMap<String, Vec<String>> = {
        let _lock = store.lock_shared()?;
        store
            .doc_ids()?
            .into_iter()
            .map(|id| {
                let l = store.load(&id)?;
                Ok((
                    id.to_string(),
                    l.doc.heads().iter().map(|h| h.to_string()).collect(),
                ))
            })
            .collect::<Result<_, crate::store::StoreError>>()?
    };
    // Read only: a status asked by another user must not create the device
    // key (the service could not read a key another user owns).
    let id = match net::node_key_if_made(&ctx.data)? {
        Some(k) => k.public().to_string(),
        None => "(no device key yet: `tally node id` or the first `node run` makes it)".into(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({
                "endpoint_id": id,
                "running": running,
                "peers": status.as_ref().map(|s| s.peers.clone()).unwrap_or_default(),
                "link": status.as_ref().filter(|_| running).and_then(|s| s.link.clone()),
                "awake": status.as_ref().filter(|_| running).map(|s| s.awake),
                "resting": status.as_ref().filter(|_| running).map(|s| s.resting),
                "heads": heads,
            }),
        )?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "node {id}: {}",
            if running { "running" } else { "not running" }
        )?;
        if let Some(s) = status.filter(|_| running) {
            writeln!(out, "listening on {}", s.listening.join(", "))?;
            writeln!(
                out,
                "documents: {} in memory, {} at rest (sealed months on disk until a peer or a write needs them)",
                s.awake, s.resting
            )?;
            if let Some(l) = &s.link {
                link_status(&mut out, l)?;
            }
            for (peer, p) in &s.peers {
                let connected = p["connected"].as_bool().unwrap_or(false);
                let last = p["last_message"].as_u64().unwrap_or(0);
                writeln!(
                    out,
                    "peer {}…  {}  last message {}  sent {} B  received {} B{}",
                    &peer[..16.min(peer.len())],
                    if connected {
                        "connected"
                    } else {
                        "disconnected"
                    },
                    if last == 0 {
                        "never".to_string()
                    } else {
                        format!("{}s ago", now().saturating_sub(last as i64))
                    },
                    p["sent_change_bytes"],
                    p["received_change_bytes"],
                    p["last_error"]
                        .as_str()
                        .map(|e| format!("  ({e})"))
                        .unwrap_or_default()
                )?;
            }
        }
        for (doc, h) in &heads {
            let short: Vec<&str> = h.iter().map(|x| &x[..12]).collect();
            writeln!(out, "{doc:<22} {}", short.join(" "))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The month-end link's lines of `node status`.
fn link_status(out: &mut impl Write, l: &net::LinkStatus) -> Result<()> {
    let sealed = l.linked.values().filter(|m| m.sealed).count();
    writeln!(
        out,
        "link to {}: {sealed} sealed district-month(s) linked, {} waiting",
        l.target,
        l.waiting.len()
    )?;
    for (at, m) in &l.linked {
        writeln!(
            out,
            "  linked  {at}  version {}  {}  report {}",
            m.version,
            if m.sealed {
                "sealed"
            } else {
                "amended since its seal (rows marked sealed = false)"
            },
            &m.digest[..16.min(m.digest.len())]
        )?;
    }
    for at in &l.waiting {
        writeln!(out, "  waiting {at}")?;
    }
    if let Some(e) = &l.last_error {
        writeln!(out, "  last error: {e}")?;
    }
    if let Some(at) = l.next_attempt {
        writeln!(
            out,
            "  next attempt in {}s",
            (at as i64).saturating_sub(now()).max(0)
        )?;
    }
    Ok(())
}

pub(super) fn enroll(ctx: &Ctx, endpoint_id: &str, label: &str) -> Result<ExitCode> {
    let store = ctx.store()?;
    let endpoint: iroh::EndpointId = endpoint_id.parse().with_context(|| {
        format!("`{endpoint_id}` is not an endpoint id (see `tally node id` on that machine)")
    })?;
    let key = PublicKey::from_bytes(*endpoint.as_bytes())?;
    let writer = ctx.writer()?;
    let authority =
        identity::unlock_authority(&ctx.data, &identity::passphrase("the authority key")?)?;
    if authority.public() != store.authority()? {
        bail!(
            "the authority key in {} is not the one this replica trusts",
            ctx.data.display()
        );
    }
    let cert = DeviceCert::issue(
        &authority,
        DeviceBody {
            endpoint_id: key,
            label: label.to_string(),
            enrolled: today()?,
        },
    )?;
    let mut s = WriteSession::begin(&store, &writer, now(), format!("device enroll {label}"))?;
    s.write_registry(|w| w.put_trust(&RegistryKey::Device(trust_key(&key)), &cert.to_json()))?;
    s.commit()?;
    println!("enrolled device {endpoint} ({label})");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn devices(ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let _lock = store.lock_shared()?;
    let registry = read::registry(&store)?.0;
    let trust = Trust::from_registry(store.authority()?, registry.document().automerge());
    for d in trust.devices() {
        println!(
            "{}  {}  enrolled {}",
            d.body.endpoint_id, d.body.label, d.body.enrolled
        );
    }
    Ok(ExitCode::SUCCESS)
}
