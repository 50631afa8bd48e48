//! End-to-end tests across tally's crates: real iroh endpoints on loopback,
//! real data directories, real processes. The fixtures live here; the tests
//! in `tests/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_schema::{Attendance, DocId, Month, RegistryKey};
use keys::{DeviceBody, DeviceCert, PublicKey, Role, SecretKey};
use node::demo::{self, DemoOptions};
use node::identity;
use node::net::{Node, NodeOptions, PeerAddr};
use node::prison::{issue_cert, trust_key};
use node::session::{Identity, WriteSession};
use node::store::Store;

pub const PASSPHRASE: &str = "e2e passphrase";
pub const MONTH: &str = "2026-10";

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn month() -> Month {
    MONTH.parse().expect("month")
}

/// A prison: the records office's data directory (authority, admin, a demo
/// month) and as many replicas as a test asks for.
pub struct Prison {
    pub root: tempfile::TempDir,
    pub records: PathBuf,
    pub authority: SecretKey,
    pub admin: Identity,
    pub districts: Vec<crdt_schema::DistrictId>,
}

impl Prison {
    /// The records office with a demo month of `inmates` inmates.
    pub fn new(inmates: u32) -> Prison {
        let root = tempfile::tempdir().expect("temp dir");
        let records = root.path().join("records");
        let today = node::validate::date_of(now()).expect("today");
        node::prison::init_prison(&records, "端到端测试监狱", PASSPHRASE, today, now())
            .expect("init");
        let store = Store::open(&records).expect("open");
        let admin = identity::unlock_officer(&identity::admin_key_path(&records), PASSPHRASE)
            .expect("admin");
        let authority = identity::unlock_authority(&records, PASSPHRASE).expect("authority");
        let g = demo::generate(
            &store,
            &admin,
            &authority,
            now(),
            DemoOptions {
                inmates,
                month: month(),
                seed: 3,
            },
        )
        .expect("demo");
        Prison {
            root,
            records,
            authority,
            admin,
            districts: g.districts,
        }
    }

    /// A new, empty replica trusting this prison's authority; enrolled unless asked not to be.
    pub fn replica(&self, name: &str, enrolled: bool) -> PathBuf {
        let data = self.root.path().join(name);
        Store::init(&data, "端到端测试监狱", &self.authority.public()).expect("replica");
        if enrolled {
            self.enroll(&data, name);
        }
        data
    }

    /// Enrols the node of `data` in the records office's registry.
    pub fn enroll(&self, data: &Path, label: &str) {
        let device = node::net::node_key(data).expect("node key");
        let key = PublicKey::from_bytes(*device.public().as_bytes()).expect("key");
        let cert = DeviceCert::issue(
            &self.authority,
            DeviceBody {
                endpoint_id: key,
                label: label.into(),
                enrolled: node::validate::date_of(now()).expect("today"),
            },
        )
        .expect("device cert");
        self.as_admin(|s| {
            s.write_registry(|w| {
                w.put_trust(&RegistryKey::Device(trust_key(&key)), &cert.to_json())
            })
            .map(|_| ())
        });
    }

    /// Issues an officer of `district` (valid all of 2026) and enrols it.
    pub fn officer(&self, no: &str, district: &str, seed: u8) -> Identity {
        let key = SecretKey::from_seed(&[seed; 32]);
        let certificate = issue_cert(
            &self.authority,
            &key,
            no,
            "测试警官",
            Some(district.parse().expect("district")),
            Role::Officer,
            "2026-01-01".parse().expect("date"),
            "2026-12-31".parse().expect("date"),
        )
        .expect("cert");
        self.as_admin(|s| {
            s.write_registry(|w| {
                w.put_trust(
                    &RegistryKey::Officer(trust_key(&key.public())),
                    &certificate.to_json(),
                )
            })
            .map(|_| ())
        });
        Identity { key, certificate }
    }

    fn as_admin(
        &self,
        f: impl FnOnce(&mut WriteSession<'_>) -> Result<(), node::session::WriteError>,
    ) {
        let store = Store::open(&self.records).expect("open");
        let mut s = WriteSession::begin(&store, &self.admin, now(), "e2e").expect("session");
        f(&mut s).expect("write");
        s.commit().expect("commit");
    }
}

/// Writes `days` days of attendance for one inmate of `district` into `data`
/// as `who`, one signed change per day (stated on that day). Returns the
/// number of changes.
pub fn write_days(
    data: &Path,
    who: &Identity,
    district: &str,
    inmate: &str,
    days: std::ops::RangeInclusive<u8>,
) -> usize {
    let store = Store::open(data).expect("open");
    let mut s = WriteSession::begin(&store, who, now(), "e2e day").expect("session");
    let district: crdt_schema::DistrictId = district.parse().expect("district");
    let mut n = 0;
    for day in days {
        let date = month().day(day).expect("day");
        s.set_time(date.ordinal() * 86_400 + 10 * 3600);
        s.write_month(&district, month(), |w| {
            w.put_attendance(
                &inmate.parse().expect("inmate"),
                date,
                &Attendance::from_fields("sick", "", "").expect("att"),
            )
            .map(|_| ())
        })
        .expect("write");
        n += 1;
    }
    s.commit().expect("commit");
    n
}

/// Starts a node on loopback (any port), no mDNS, dialling `peers`.
pub async fn start(data: &Path, peers: &[&Node]) -> Node {
    start_to(data, peers.iter().map(|n| addr_of(n)).collect()).await
}

pub async fn start_to(data: &Path, peers: Vec<PeerAddr>) -> Node {
    Node::start(
        data,
        NodeOptions {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            peers,
            mdns: false,
            link: None,
            // A checkpoint a second (a minute in a prison), so tests see
            // them travel without waiting.
            checkpoint_every: std::time::Duration::from_secs(1),
        },
    )
    .await
    .expect("node starts")
}

pub fn addr_of(node: &Node) -> PeerAddr {
    PeerAddr {
        id: node.id(),
        addr: node.bound()[0],
    }
}

/// Waits until every node holds the same, non-empty heads; returns how long it took.
pub async fn converge(nodes: &[&Node], timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let heads: Vec<BTreeMap<DocId, Vec<String>>> = nodes.iter().map(|n| n.heads()).collect();
        if heads[0].len() > 1 && heads.iter().all(|h| *h == heads[0]) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The heads of every document stored in `data`.
pub fn stored_heads(data: &Path) -> BTreeMap<DocId, Vec<String>> {
    let store = Store::open(data).expect("open");
    let _lock = store.lock_shared().expect("lock");
    store
        .doc_ids()
        .expect("ids")
        .into_iter()
        .map(|id| {
            let heads = store
                .load(&id)
                .expect("load")
                .doc
                .heads()
                .iter()
                .map(|h| h.to_string())
                .collect();
            (id, heads)
        })
        .collect()
}

/// Waits until every node holds exactly what is stored in `data` (after a
/// write there); returns how long it took.
pub async fn reach(nodes: &[&Node], data: &Path, timeout: Duration) -> Option<Duration> {
    let target = stored_heads(data);
    let start = Instant::now();
    while start.elapsed() < timeout {
        if nodes.iter().all(|n| n.heads() == target) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// The report digest of every district-month of `data` for the test month.
pub fn digests(data: &Path) -> Vec<String> {
    let store = Store::open(data).expect("open");
    let _lock = store.lock_shared().expect("lock");
    let registry = node::read::registry_facts(&store, None)
        .expect("registry")
        .0;
    let ids: Vec<DocId> = registry
        .districts
        .keys()
        .map(|d| DocId::month(d.clone(), month()))
        .collect();
    node::read::score(&store, &registry, &ids)
        .into_iter()
        .map(|r| r.expect("score").report.digest.0)
        .collect()
}
