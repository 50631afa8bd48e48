//! The node the app embeds: the very `node::net::Node` the records office
//! runs headless, on a tokio runtime of its own beside eframe. Saves made in
//! the app reach it through the store's notify socket (as CLI writes do) and
//! are pushed to peers at once; what peers send is stored by the node, and
//! the app's next load shows it. The UI reads [`SyncStatus`], refreshed every
//! second, and never waits on the network.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdt_schema::DocId;
use node::net::{Node, NodeConfig, NodeOptions, PeerStatus};

/// What the 同步 screen shows.
#[derive(Debug, Clone, Default)]
pub struct SyncStatus {
    /// This node's endpoint id, once started.
    pub id: Option<String>,
    pub listening: Vec<String>,
    pub peers: BTreeMap<String, PeerStatus>,
    pub heads: BTreeMap<DocId, Vec<String>>,
    /// Bumped whenever the replica's heads change (the UI reloads then).
    pub generation: u64,
    /// Why the node is not running, if it is not.
    pub error: Option<String>,
}

/// The embedded node; stops when dropped.
pub struct SyncNode {
    status: Arc<Mutex<SyncStatus>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SyncNode {
    /// Starts the node on `data` with `DATA/node.toml`'s settings, or with
    /// `options` when given (tests: loopback, no mDNS). `wake` is called when
    /// the status changes.
    pub fn start(
        data: PathBuf,
        options: Option<NodeOptions>,
        wake: impl Fn() + Send + 'static,
    ) -> SyncNode {
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name("tally-sync".into())
            .spawn(move || {
                let fail = |e: String| {
                    if let Ok(mut s) = st.lock() {
                        s.error = Some(e);
                    }
                };
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return fail(format!("starting the sync runtime: {e}")),
                };
                rt.block_on(async {
                    let opts = match options {
                        Some(o) => o,
                        None => match NodeConfig::read(&data) {
                            Ok(c) => NodeOptions {
                                listen: c.listen,
                                peers: c.peers,
                                mdns: c.mdns,
                            },
                            Err(e) => return fail(e.to_string()),
                        },
                    };
                    let node = match Node::start(&data, opts).await {
                        Ok(n) => n,
                        Err(e) => return fail(format!("{e:#}")),
                    };
                    if let Ok(mut s) = st.lock() {
                        s.id = Some(node.id().to_string());
                        s.listening = node.bound().iter().map(|a| a.to_string()).collect();
                        s.error = None;
                    }
                    wake();
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                        let (peers, heads) = (node.peers(), node.heads());
                        let changed = {
                            let Ok(mut s) = st.lock() else { break };
                            let changed = s.heads != heads || s.peers.len() != peers.len();
                            if s.heads != heads {
                                s.generation += 1;
                            }
                            s.peers = peers;
                            s.heads = heads;
                            changed
                        };
                        if changed {
                            wake();
                        }
                    }
                    node.shutdown().await;
                });
            })
            .expect("spawning the sync thread");
        SyncNode {
            status,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for SyncNode {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
