//! The iroh transport and the node daemon: the imperative shell around the
//! sync core and the replica.
//!
//! An iroh endpoint with relays and internet address lookup off (preset
//! `Minimal`), a custom ALPN, peers from configuration and (optionally) mDNS on
//! the LAN. Only enrolled devices — device certificates signed by the
//! authority, kept in the registry — may connect: others are refused at the
//! handshake. (A configured peer is also accepted on connections this node
//! opens, so a new replica can fetch the registry that enrols everyone.)
//! A change stored on this node (received, or written by a CLI beside it) is
//! offered to every connected peer at once.

pub mod config;
mod linker;
mod peer;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crdt_schema::DocId;
use iroh::endpoint::{AfterHandshakeOutcome, Connection, EndpointHooks, presets};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use iroh::{Endpoint, EndpointAddr, EndpointId, RelayMode, TransportAddr};
use serde::Serialize;
use tokio::sync::watch;

pub use config::{LinkSettings, NodeConfig, PeerAddr, node_key, node_key_if_made};
pub use linker::{LinkStatus, LinkedMonth};

use crate::replica::{Replica, Rest};
use crate::store::{Store, StoreError};

/// The protocol's ALPN.
pub const ALPN: &[u8] = b"tally/sync/1";

/// How a peer is doing, for `tally node status`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct PeerStatus {
    pub connected: bool,
    /// When the current (or last) connection began (Unix seconds).
    pub since: u64,
    /// Connections made with this peer since the node started: a first
    /// sync that needed more than one shows here.
    #[serde(default)]
    pub connections: u64,
    /// When a message last arrived.
    pub last_message: u64,
    pub sent_change_bytes: u64,
    pub received_change_bytes: u64,
    pub last_error: Option<String>,
    /// Documents not level with the peer, as of its last message.
    pub lag: BTreeMap<String, crate::sync::Lag>,
}

/// What every task of the node shares.
pub struct Shared {
    data: PathBuf,
    replica: Mutex<Replica>,
    /// Devices enrolled in the registry (endpoint ids).
    enrolled: RwLock<BTreeSet<[u8; 32]>>,
    /// Peers from the configuration: accepted on connections we open.
    configured: BTreeSet<[u8; 32]>,
    /// Bumped whenever the replica gains changes; every connection offers them.
    changed: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    peers: Mutex<BTreeMap<String, PeerStatus>>,
    /// Connections refused at the handshake (devices not enrolled), and when
    /// each device's refusal was last logged: once per device per
    /// [`REFUSAL_LOG_EVERY`], so a stranger dialling on cannot flood the log.
    refusals: std::sync::atomic::AtomicU64,
    refusal_logged: Mutex<BTreeMap<[u8; 32], std::time::Instant>>,
    /// The month-end link's state, when node.toml has `[link]`.
    link: Mutex<Option<LinkStatus>>,
    /// This device's key, which signs its checkpoints (the endpoint's key,
    /// as the authority enrolled it).
    device: keys::SecretKey,
    /// Seconds between two checkpoints of one document by this device.
    checkpoint_every: i64,
}

/// How often a node signs a new checkpoint of a document that changed: a
/// checkpoint a minute at most, so a first sync of hundreds of changes
/// makes one, not hundreds, and the latest state is signed within a minute.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// How often the refusal of one device is logged.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(600);

/// The longest a node waits before dialling again a peer that refused it as
/// not enrolled. The wait doubles from a quarter second: the refusal may pass
/// by itself (the peer is new and has not yet received the registry that
/// enrols this device) or need the records office (then it is paperwork, and
/// a dial a minute is plenty).
const NOT_ENROLLED_BACKOFF: Duration = Duration::from_secs(60);

/// What a refused device is told (the close reason) and shows in its status.
const NOT_ENROLLED: &str = "device not enrolled";

impl Shared {
    fn set_link(&self, status: LinkStatus) {
        if let Ok(mut l) = self.link.lock() {
            *l = Some(status);
        }
    }

    fn update_link(&self, f: impl FnOnce(&mut LinkStatus)) {
        if let Ok(mut l) = self.link.lock()
            && let Some(s) = l.as_mut()
        {
            f(s);
        }
    }

    fn update_enrolled(&self, replica: &Replica) {
        if let Ok(mut e) = self.enrolled.write() {
            *e = replica.core.enrolled();
        }
    }

    fn peer_status(&self, peer: &str, f: impl FnOnce(&mut PeerStatus)) {
        if let Ok(mut p) = self.peers.lock() {
            f(p.entry(peer.to_string()).or_default());
        }
    }

    fn is_allowed(&self, id: &EndpointId, outgoing: bool) -> bool {
        let b = id.as_bytes();
        self.enrolled.read().is_ok_and(|e| e.contains(b))
            || (outgoing && self.configured.contains(b))
    }
}

/// Refuses, at the end of the TLS handshake, every device not enrolled.
#[derive(Debug)]
struct Gate(Arc<SharedRef>);

/// A late-bound reference to the shared state (the endpoint is built before it).
#[derive(Default)]
struct SharedRef(std::sync::OnceLock<Arc<Shared>>);

impl std::fmt::Debug for SharedRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRef")
    }
}

impl EndpointHooks for Gate {
    async fn after_handshake<'a>(&'a self, conn: &'a Connection) -> AfterHandshakeOutcome {
        let Some(shared) = self.0.0.get() else {
            return AfterHandshakeOutcome::Reject {
                error_code: 503u32.into(),
                reason: b"starting".to_vec(),
            };
        };
        let outgoing = conn.side() == iroh::endpoint::Side::Client;
        let id = conn.remote_id();
        if shared.is_allowed(&id, outgoing) {
            AfterHandshakeOutcome::accept()
        } else {
            shared
                .refusals
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let now = std::time::Instant::now();
            let log = shared.refusal_logged.lock().is_ok_and(|mut m| {
                let due = m
                    .get(id.as_bytes())
                    .is_none_or(|t| now.duration_since(*t) >= REFUSAL_LOG_EVERY);
                if due {
                    m.insert(*id.as_bytes(), now);
                }
                due
            });
            if log {
                tracing::warn!(
                    peer = %id.fmt_short(),
                    "refused: {NOT_ENROLLED} (logged once per device every 10 minutes)"
                );
            }
            AfterHandshakeOutcome::Reject {
                error_code: 403u32.into(),
                reason: NOT_ENROLLED.as_bytes().to_vec(),
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Accept(Arc<SharedRef>);

impl ProtocolHandler for Accept {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let Some(shared) = self.0.0.get().cloned() else {
            return Err(AcceptError::from_err(std::io::Error::other(
                "node starting",
            )));
        };
        peer::run(shared, connection, false).await;
        Ok(())
    }
}

/// How to start a node.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    pub listen: Option<SocketAddr>,
    pub peers: Vec<PeerAddr>,
    pub mdns: bool,
    /// Link sealed months to the scoring database (node.toml's `[link]`).
    pub link: Option<LinkSettings>,
    /// Least time between two of this device's checkpoints of a document
    /// ([`CHECKPOINT_EVERY`]; tests shorten it).
    pub checkpoint_every: Duration,
}

/// A running node.
pub struct Node {
    _lock: NodeLock,
    shared: Arc<Shared>,
    router: Router,
    tasks: tokio::task::JoinSet<()>,
    bound: Vec<SocketAddr>,
}

/// Where a running node writes the loopback UDP port a CLI write pokes so
/// the node offers the write at once (one mechanism on Windows and Unix; a
/// poke carries nothing but "look at the store", so who sends it is moot).
pub fn notify_path(data: &Path) -> PathBuf {
    data.join("node.port")
}

/// Tells a node running on `data` (if any) that the store changed. Best
/// effort: without a node, or on failure, nothing happens (it also polls).
pub fn notify(data: &Path) {
    let Some(port) = std::fs::read_to_string(notify_path(data))
        .ok()
        .and_then(|t| t.trim().parse::<u16>().ok())
    else {
        return;
    };
    if let Ok(s) = std::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)) {
        let _ = s.send_to(b"!", (std::net::Ipv4Addr::LOCALHOST, port));
    }
}

/// The file a running node holds locked: one node per data directory (two
/// would share one device key and endpoint id, and fight over its peers).
pub fn lock_path(data: &Path) -> PathBuf {
    data.join("node.lock")
}

/// Held by a running node; released when the node (or its process) ends.
#[derive(Debug)]
pub struct NodeLock(#[allow(dead_code)] std::fs::File);

/// Another node already runs on a data directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "a tally node already runs on {} (pid {}): stop it first, or use it (its status: `tally node status`)",
    data.display(),
    pid.map_or_else(|| "unknown".to_string(), |p| p.to_string())
)]
pub struct AlreadyRunning {
    pub data: PathBuf,
    /// From the running node's status file, when it has written one.
    pub pid: Option<u32>,
}

/// Why a node did not start: each a value the app says in its language.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    AlreadyRunning(#[from] AlreadyRunning),
    /// The node lock file could not be opened or locked.
    #[error("{}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data directory, the device key or the replica could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address to listen on is not one (node.toml's `listen`).
    #[error("listen address: {0}")]
    Address(#[from] iroh::endpoint::InvalidSocketAddr),
    /// The network endpoint could not be opened (the port in use, say).
    #[error("opening the network endpoint: {0}")]
    Bind(#[from] iroh::endpoint::BindError),
    /// Loading the replica stopped before it finished (a panic in it).
    #[error("loading the replica: {0}")]
    Load(#[from] tokio::task::JoinError),
}

impl NodeLock {
    /// Takes the data directory's node lock, or says who holds it.
    pub fn acquire(data: &Path) -> Result<NodeLock, StartError> {
        let path = lock_path(data);
        let failed = |source| StartError::Lock {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(failed)?;
        match file.try_lock() {
            Ok(()) => Ok(NodeLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(AlreadyRunning {
                data: data.to_path_buf(),
                pid: read_status(data).map(|s| s.pid),
            }
            .into()),
            Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
        }
    }
}

/// Whether a node (the service, `tally node run`, or another app) runs on
/// `data` now: `Some` with what its status file says, when it does.
pub fn running_elsewhere(data: &Path) -> Option<AlreadyRunning> {
    match NodeLock::acquire(data) {
        Err(StartError::AlreadyRunning(a)) => Some(a),
        Ok(_released_at_once) => None,
        Err(_) => None,
    }
}

/// The status file a running node writes every second, if readable.
pub fn read_status(data: &Path) -> Option<StatusFile> {
    std::fs::read(status_path(data))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

pub fn status_path(data: &Path) -> PathBuf {
    data.join("node-status.json")
}

/// What `tally node status` shows.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StatusFile {
    pub pid: u32,
    pub endpoint_id: String,
    pub listening: Vec<String>,
    /// When this was written (Unix seconds): a stale file means no daemon.
    pub updated: u64,
    pub peers: BTreeMap<String, serde_json::Value>,
    pub heads: BTreeMap<String, Vec<String>>,
    /// The month-end link, when configured (absent in files of older nodes).
    #[serde(default)]
    pub link: Option<LinkStatus>,
    /// Documents held in memory, and those at rest (sealed months held on
    /// disk, their heads in memory): absent in files of older nodes.
    #[serde(default)]
    pub awake: usize,
    #[serde(default)]
    pub resting: usize,
}

impl Node {
    /// Opens the replica of `data` and starts serving and syncing.
    pub async fn start(data: &Path, opts: NodeOptions) -> Result<Node, StartError> {
        let store = Store::open(data)?;
        let lock = NodeLock::acquire(data)?;
        let key = node_key(data)?;
        // The same Ed25519 seed signs this device's checkpoints.
        let device = keys::SecretKey::from_seed(&zeroize::Zeroizing::new(key.to_bytes()));
        // Sealed months rest (held on disk, their heads in memory): a year
        // of them held whole takes more than a district PC has to spare.
        let replica =
            tokio::task::spawn_blocking(move || Replica::open_resting(store, Rest::Sealed))
                .await??;
        let late = Arc::new(SharedRef::default());
        let mut builder = Endpoint::builder(presets::Minimal)
            .secret_key(key)
            .relay_mode(RelayMode::Disabled)
            .alpns(vec![ALPN.to_vec()])
            .hooks(Gate(late.clone()));
        if let Some(listen) = opts.listen {
            builder = builder.clear_ip_transports().bind_addr(listen)?;
        }
        let endpoint = builder.bind().await?;
        let bound = endpoint.bound_sockets();
        let (changed, _) = watch::channel(0u64);
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            data: data.to_path_buf(),
            enrolled: RwLock::new(replica.core.enrolled()),
            replica: Mutex::new(replica),
            configured: opts.peers.iter().map(|p| *p.id.as_bytes()).collect(),
            changed,
            stop,
            peers: Mutex::new(BTreeMap::new()),
            refusals: Default::default(),
            refusal_logged: Mutex::new(BTreeMap::new()),
            link: Mutex::new(None),
            device,
            checkpoint_every: opts.checkpoint_every.as_secs().max(1) as i64,
        });
        let _ = late.0.set(shared.clone());
        let router = Router::builder(endpoint.clone())
            .accept(ALPN, Accept(late))
            .spawn();
        let mut tasks = tokio::task::JoinSet::new();
        for p in &opts.peers {
            tasks.spawn(dial(
                shared.clone(),
                endpoint.clone(),
                EndpointAddr::from_parts(p.id, [TransportAddr::Ip(p.addr)]),
            ));
        }
        if opts.mdns {
            start_mdns(&shared, &endpoint, &mut tasks);
        }
        tasks.spawn(watch_store(shared.clone()));
        tasks.spawn(rest_idle(shared.clone()));
        if let Some(settings) = &opts.link {
            // The link thread is woken on every change of the replica; it
            // ends when this task (its sender) is aborted at shutdown.
            let (wake, woken) = std::sync::mpsc::channel();
            let mut changed = shared.changed.subscribe();
            tasks.spawn(async move {
                while changed.changed().await.is_ok() {
                    if wake.send(()).is_err() {
                        return;
                    }
                }
            });
            linker::start(shared.clone(), settings, woken);
        }
        tasks.spawn(write_status(shared.clone(), endpoint.id(), bound.clone()));
        tracing::info!(id = %endpoint.id(), ?bound, "node running");
        Ok(Node {
            _lock: lock,
            shared,
            router,
            tasks,
            bound,
        })
    }

    pub fn id(&self) -> EndpointId {
        self.router.endpoint().id()
    }

    /// The addresses the endpoint is bound to.
    pub fn bound(&self) -> &[SocketAddr] {
        &self.bound
    }

    /// Connections refused at the handshake since start (devices not enrolled).
    pub fn refusals(&self) -> u64 {
        self.shared
            .refusals
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Tells the node the store changed (a write in this process).
    pub fn poke(&self) {
        self.shared.changed.send_modify(|v| *v += 0);
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || refresh_once(&shared));
    }

    /// Reads the replica (for tests, the app and measurements).
    pub fn with_replica<T>(&self, f: impl FnOnce(&Replica) -> T) -> Option<T> {
        self.shared.replica.lock().ok().map(|r| f(&r))
    }

    /// Heads of every document, hex.
    pub fn heads(&self) -> BTreeMap<DocId, Vec<String>> {
        self.with_replica(|r| {
            r.core
                .heads()
                .into_iter()
                .map(|(d, h)| (d, h.iter().map(|x| x.to_string()).collect()))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The month-end link's state, when configured.
    pub fn link_status(&self) -> Option<LinkStatus> {
        self.shared.link.lock().ok().and_then(|l| l.clone())
    }

    pub fn peers(&self) -> BTreeMap<String, PeerStatus> {
        self.shared
            .peers
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Stops accepting and dialling, closes connections, saves sync states.
    pub async fn shutdown(mut self) {
        let _ = self.shared.stop.send(true);
        let _ = self.router.shutdown().await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let _ = std::fs::remove_file(notify_path(&self.shared.data));
    }
}

/// Keeps a connection to one configured peer, reconnecting with backoff.
async fn dial(shared: Arc<Shared>, endpoint: Endpoint, addr: EndpointAddr) {
    let mut backoff = Duration::from_millis(250);
    let mut stop = shared.stop.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        let refused = match endpoint.connect(addr.clone(), ALPN).await {
            Ok(conn) => {
                peer::run(shared.clone(), conn.clone(), true).await;
                let refused = matches!(
                    conn.close_reason(),
                    Some(iroh::endpoint::ConnectionError::ApplicationClosed(c))
                        if u64::from(c.error_code) == 403
                );
                if !refused {
                    backoff = Duration::from_millis(250);
                }
                refused
            }
            Err(e) => {
                tracing::debug!(peer = %addr.id.fmt_short(), "connect failed: {e}");
                shared.peer_status(&addr.id.to_string(), |s| {
                    s.connected = false;
                    s.last_error = Some(e.to_string());
                });
                e.to_string().contains(NOT_ENROLLED)
            }
        };
        if refused {
            // Said in words the records office can act on, and not retried
            // every quarter second.
            let me = endpoint.id();
            tracing::info!(
                peer = %addr.id.fmt_short(),
                "this device is not enrolled at that node (or not yet known there): the records \
                 office enrols it with `tally device enroll {me} --label …`; trying again in {backoff:?}"
            );
            shared.peer_status(&addr.id.to_string(), |s| {
                s.connected = false;
                s.last_error = Some(format!(
                    "this device is not enrolled there (tally device enroll {me} --label …)"
                ));
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = if refused {
            (backoff * 2).min(NOT_ENROLLED_BACKOFF)
        } else {
            (backoff * 2).min(Duration::from_secs(30))
        };
    }
}

/// Finds enrolled devices on the LAN and keeps a connection to each.
fn start_mdns(shared: &Arc<Shared>, endpoint: &Endpoint, tasks: &mut tokio::task::JoinSet<()>) {
    use iroh_mdns_address_lookup::{DiscoveryEvent, MdnsAddressLookup};
    use n0_future::StreamExt;
    let mdns = match MdnsAddressLookup::builder().build(endpoint.id()) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("mDNS unavailable (peers from configuration only): {e}");
            return;
        }
    };
    match endpoint.address_lookup() {
        Ok(l) => l.add(mdns.clone()),
        Err(e) => {
            tracing::warn!("mDNS unavailable: {e}");
            return;
        }
    }
    let shared = shared.clone();
    let endpoint = endpoint.clone();
    tasks.spawn(async move {
        let mut events = mdns.subscribe().await;
        let mut dialling = BTreeSet::new();
        let mine = endpoint.id();
        while let Some(event) = events.next().await {
            if let DiscoveryEvent::Discovered { endpoint_info, .. } = event {
                let id = endpoint_info.endpoint_id;
                // The lower id dials, so two nodes make one connection.
                if id != mine && mine < id && shared.is_allowed(&id, false) && dialling.insert(id) {
                    tokio::spawn(dial(
                        shared.clone(),
                        endpoint.clone(),
                        EndpointAddr::new(id),
                    ));
                }
            }
        }
    });
}

fn refresh_once(shared: &Shared) {
    let Ok(mut r) = shared.replica.lock() else {
        return;
    };
    let mut offer = false;
    match r.refresh() {
        Ok(changed) if !changed.is_empty() => {
            if changed.contains(&DocId::Registry) {
                shared.update_enrolled(&r);
            }
            offer = true;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("reading the store: {e}"),
    }
    // This device's checkpoints of what changed (once a document's last
    // one is old enough), for its peers to carry on.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match r.sign_checkpoints(&shared.device, now, shared.checkpoint_every) {
        Ok(n) => offer |= n > 0,
        Err(e) => tracing::warn!("storing this device's checkpoints: {e}"),
    }
    drop(r);
    if offer {
        shared.changed.send_modify(|v| *v += 1);
    }
}

/// Picks up writes of other processes: at once when poked through the
/// notify port, and every second in any case.
async fn watch_store(shared: Arc<Shared>) {
    let socket = match tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await {
        Ok(s) => {
            let port = s.local_addr().map(|a| a.port()).unwrap_or(0);
            match crate::store::write_atomic(
                &notify_path(&shared.data),
                port.to_string().as_bytes(),
            ) {
                Ok(()) => Some(s),
                Err(e) => {
                    tracing::warn!("CLI writes are seen within a second, not at once: {e}");
                    None
                }
            }
        }
        Err(e) => {
            tracing::warn!("no notify port (CLI writes are seen within a second): {e}");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut buf = [0u8; 16];
    loop {
        match &socket {
            Some(s) => {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = s.recv(&mut buf) => {
                        // Many pokes at once are one look at the store.
                        while s.try_recv(&mut buf).is_ok() {}
                    }
                }
            }
            None => {
                tick.tick().await;
            }
        }
        let s = shared.clone();
        let _ = tokio::task::spawn_blocking(move || refresh_once(&s)).await;
    }
}

/// How often sealed months a peer or a write woke are put back to rest, if
/// nothing touched them meanwhile (so a month rests one to two periods
/// after its exchange is over).
const REST_EVERY: Duration = Duration::from_secs(60);

/// Puts woken sealed months back to rest, every [`REST_EVERY`].
async fn rest_idle(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(REST_EVERY);
    loop {
        tick.tick().await;
        let s = shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(mut r) = s.replica.lock() {
                let n = r.rest_idle();
                if n > 0 {
                    tracing::debug!(rested = n, "sealed months put back to rest");
                }
            }
        })
        .await;
    }
}

/// Writes `DATA/node-status.json` every second.
async fn write_status(shared: Arc<Shared>, id: EndpointId, bound: Vec<SocketAddr>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let (heads, resting) = shared
            .replica
            .lock()
            .map(|r| {
                let heads: BTreeMap<String, Vec<String>> = r
                    .core
                    .heads()
                    .into_iter()
                    .map(|(d, h)| (d.to_string(), h.iter().map(|x| x.to_string()).collect()))
                    .collect();
                (heads, r.core.resting_count())
            })
            .unwrap_or_default();
        let peers = shared
            .peers
            .lock()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let status = StatusFile {
            pid: std::process::id(),
            endpoint_id: id.to_string(),
            listening: bound.iter().map(|a| a.to_string()).collect(),
            updated: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            peers,
            awake: heads.len().saturating_sub(resting),
            resting,
            heads,
            link: shared.link.lock().ok().and_then(|l| l.clone()),
        };
        if let Ok(bytes) = serde_json::to_vec_pretty(&status) {
            let _ = crate::store::write_atomic(&status_path(&shared.data), &bytes);
        }
    }
}
