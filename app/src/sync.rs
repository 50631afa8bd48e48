//! The node the app embeds: the very `node::net::Node` the records office
//! runs headless, on a tokio runtime of its own beside eframe. Saves made in
//! the app reach it through the store's notify port (as CLI writes do) and
//! are pushed to peers at once; what peers send is stored by the node, and
//! the app's next load shows it. The UI reads [`SyncStatus`], refreshed every
//! second, and never waits on the network.
//!
//! One replica per machine has one node: where the service (or `tally node
//! run`) already runs on the data directory, the app starts none and shows
//! the service's status file instead; should the service stop, the app's own
//! node takes over within a second.

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
    /// Why the node is not running, if it is not (said by `ui::words::sync_failure`).
    pub error: Option<SyncFailure>,
    /// Sync is done by another process on this data directory (the
    /// service): its pid, when known. The figures above are from its status file.
    pub by_service: Option<Option<u32>>,
    /// The month-end link to the scoring database, where this node (or the
    /// service) has `[link]` in node.toml.
    pub link: Option<node::net::LinkStatus>,
}

/// Why the embedded node is not running: error values, put into words by
/// the screen in the officer's language.
#[derive(Debug, Clone)]
pub enum SyncFailure {
    /// The async runtime could not be made (out of threads or memory).
    Runtime(Arc<std::io::Error>),
    /// `DATA/node.toml` could not be read or is not valid.
    Config(Arc<node::store::StoreError>),
    /// The node did not start.
    Start(Arc<node::net::StartError>),
}

impl std::fmt::Display for SyncFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncFailure::Runtime(e) => write!(f, "starting the sync runtime: {e}"),
            SyncFailure::Config(e) => write!(f, "{e}"),
            SyncFailure::Start(e) => write!(f, "{e}"),
        }
    }
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
                let fail = |e: SyncFailure| {
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
                    Err(e) => return fail(SyncFailure::Runtime(Arc::new(e))),
                };
                rt.block_on(async {
                    let mut node: Option<Node> = None;
                    // A start that failed (a bad node.toml, a port in use) is
                    // tried again, but not every second: it loads the replica.
                    let mut next_try = tokio::time::Instant::now();
                    loop {
                        if node.is_none() && tokio::time::Instant::now() >= next_try {
                            match node::net::running_elsewhere(&data) {
                                Some(other) => {
                                    if let Some(file) = node::net::read_status(&data) {
                                        let changed = from_status_file(&st, other.pid, file);
                                        if changed {
                                            wake();
                                        }
                                    }
                                }
                                None => match start(&data, options.clone()).await {
                                    Ok(n) => {
                                        if let Ok(mut s) = st.lock() {
                                            s.id = Some(n.id().to_string());
                                            s.listening =
                                                n.bound().iter().map(|a| a.to_string()).collect();
                                            s.error = None;
                                            s.by_service = None;
                                        }
                                        node = Some(n);
                                        wake();
                                    }
                                    Err(e) => {
                                        // Lost a race with a starting service: the next
                                        // round reads its status instead.
                                        if !matches!(
                                            e,
                                            SyncFailure::Start(ref s)
                                                if matches!(**s, node::net::StartError::AlreadyRunning(_))
                                        ) {
                                            fail(e);
                                            wake();
                                            next_try = tokio::time::Instant::now()
                                                + Duration::from_secs(30);
                                        }
                                    }
                                },
                            }
                        }
                        if let Some(n) = &node {
                            let (peers, heads) = (n.peers(), n.heads());
                            let link = set_link(&st, n.link_status());
                            if update(&st, peers, heads) || link {
                                wake();
                            }
                        }
                        tokio::select! {
                            _ = &mut stopped => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                    if let Some(n) = node {
                        n.shutdown().await;
                    }
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

/// Starts this app's own node: `options`, else the data directory's `node.toml`.
async fn start(data: &std::path::Path, options: Option<NodeOptions>) -> Result<Node, SyncFailure> {
    let opts = match options {
        Some(o) => o,
        None => {
            let c = NodeConfig::read(data).map_err(|e| SyncFailure::Config(Arc::new(e)))?;
            NodeOptions {
                listen: c.listen,
                peers: c.peers,
                mdns: c.mdns,
                link: c.link,
                checkpoint_every: node::net::CHECKPOINT_EVERY,
            }
        }
    };
    Node::start(data, opts)
        .await
        .map_err(|e| SyncFailure::Start(Arc::new(e)))
}

/// Takes the link's state; says whether it changed.
fn set_link(st: &Mutex<SyncStatus>, link: Option<node::net::LinkStatus>) -> bool {
    let Ok(mut s) = st.lock() else { return false };
    let changed = s.link != link;
    s.link = link;
    changed
}

/// Takes the peers and heads of a node; says whether the screen should
/// redraw (the generation moves when the heads do, and the screen reloads).
fn update(
    st: &Mutex<SyncStatus>,
    peers: BTreeMap<String, PeerStatus>,
    heads: BTreeMap<DocId, Vec<String>>,
) -> bool {
    let Ok(mut s) = st.lock() else { return false };
    let changed = s.heads != heads || s.peers.len() != peers.len();
    if s.heads != heads {
        s.generation += 1;
    }
    s.peers = peers;
    s.heads = heads;
    changed
}

/// The status the service on this data directory writes every second.
fn from_status_file(st: &Mutex<SyncStatus>, pid: Option<u32>, file: node::net::StatusFile) -> bool {
    let peers = file
        .peers
        .into_iter()
        .filter_map(|(k, v)| Some((k, serde_json::from_value(v).ok()?)))
        .collect();
    let heads = file
        .heads
        .into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
        .collect();
    let first = {
        let Ok(mut s) = st.lock() else { return false };
        let first = s.by_service.is_none();
        s.by_service = Some(pid.or(Some(file.pid)));
        s.id = Some(file.endpoint_id);
        s.listening = file.listening;
        s.error = None;
        first
    };
    let link = set_link(st, file.link);
    update(st, peers, heads) || first || link
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
