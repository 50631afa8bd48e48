//! The simulated network and calendar: seeded delays, duplication,
//! connection loss, partitions, devices offline for days, restarts and clock
//! skew, all derived from the seed. Time is simulated milliseconds.
//!
//! A connection behaves as a QUIC stream does: messages arrive in order, or
//! the connection breaks (a "lost" message breaks it; the nodes reconnect
//! after a backoff and resume from what they saved). Duplicated messages
//! model a misbehaving network below that.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

pub const SECOND: u64 = 1000;
pub const HOUR: u64 = 3600 * SECOND;
pub const DAY: u64 = 24 * HOUR;

/// The seeded fault parameters of one run.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Per message, in parts per million: the connection breaks.
    pub loss_ppm: u32,
    /// Per message, in parts per million: delivered twice.
    pub dup_ppm: u32,
    pub max_delay_ms: u64,
    /// Partitions: (start, end, nodes on the far side).
    pub partitions: Vec<(u64, u64, BTreeSet<usize>)>,
    /// Offline periods: (node, start, end).
    pub offline: Vec<(usize, u64, u64)>,
    /// Restarts: (node, at, keeps its saved sync state).
    pub restarts: Vec<(usize, u64, bool)>,
    /// Per node, the skew of its clock in seconds.
    pub skew_s: Vec<i64>,
}

impl Faults {
    /// No faults at all.
    pub fn none(nodes: usize) -> Faults {
        Faults {
            loss_ppm: 0,
            dup_ppm: 0,
            max_delay_ms: 5,
            partitions: Vec::new(),
            offline: Vec::new(),
            restarts: Vec::new(),
            skew_s: vec![0; nodes],
        }
    }

    /// Faults drawn from `rng` for `nodes` nodes over `days` days. Node 0
    /// (the records office) is never offline.
    pub fn draw(rng: &mut ChaCha8Rng, nodes: usize, days: u64) -> Faults {
        let mut f = Faults {
            loss_ppm: rng.random_range(0..20_000),
            dup_ppm: rng.random_range(0..20_000),
            max_delay_ms: rng.random_range(5..300),
            partitions: Vec::new(),
            offline: Vec::new(),
            restarts: Vec::new(),
            skew_s: (0..nodes)
                .map(|_| rng.random_range(-6 * 3600..=6 * 3600))
                .collect(),
        };
        let mut t = rng.random_range(0..3 * DAY);
        while t < days * DAY {
            let len = rng.random_range(HOUR..2 * DAY);
            let side: BTreeSet<usize> = (1..nodes)
                .filter(|_| rng.random_range(0..100) < 40)
                .collect();
            f.partitions.push((t, t + len, side));
            t += len + rng.random_range(DAY..4 * DAY);
        }
        for day in 0..days {
            for n in 1..nodes {
                if rng.random_range(0..1000) < 30 {
                    let start = day * DAY + rng.random_range(0..DAY);
                    f.offline
                        .push((n, start, start + rng.random_range(DAY..5 * DAY)));
                }
                if rng.random_range(0..1000) < 30 {
                    f.restarts.push((
                        n,
                        day * DAY + rng.random_range(0..DAY),
                        rng.random_range(0..2) == 0,
                    ));
                }
            }
        }
        f
    }

    pub fn is_offline(&self, node: usize, t: u64) -> bool {
        self.offline
            .iter()
            .any(|&(n, s, e)| n == node && s <= t && t < e)
    }

    pub fn partitioned(&self, a: usize, b: usize, t: u64) -> bool {
        self.partitions
            .iter()
            .any(|(s, e, side)| *s <= t && t < *e && side.contains(&a) != side.contains(&b))
    }
}

/// A message in flight.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    pub from: usize,
    pub to: usize,
    /// The connection it was sent on; dropped if that connection is gone.
    pub epoch: u64,
    /// The message's number in the run, for traces.
    pub seq: u64,
    pub bytes: Vec<u8>,
}

/// Connections between nodes and the messages in flight on them.
pub struct Net {
    pub rng: ChaCha8Rng,
    pub faults: Faults,
    /// Undirected links of the topology.
    pub links: BTreeSet<(usize, usize)>,
    /// Current connection epoch of each link; `None` when down.
    pub up: BTreeMap<(usize, usize), u64>,
    next_epoch: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Delivery)>>,
    seq: u64,
    /// Last delivery time per direction, to keep each stream in order.
    last: BTreeMap<(usize, usize), u64>,
    /// Bytes put on the wire, in total and of changes.
    pub bytes: u64,
    pub messages: u64,
}

pub fn link(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Net {
    /// Every node links to the records office (node 0) and to `degree` others.
    pub fn new(seed: u64, nodes: usize, degree: usize, faults: Faults) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b00);
        let mut links = BTreeSet::new();
        for n in 1..nodes {
            links.insert(link(0, n));
            for _ in 0..degree {
                let m = rng.random_range(1..nodes);
                if m != n {
                    links.insert(link(n, m));
                }
            }
        }
        Net {
            rng,
            faults,
            links,
            up: BTreeMap::new(),
            next_epoch: 1,
            queue: BinaryHeap::new(),
            seq: 0,
            last: BTreeMap::new(),
            bytes: 0,
            messages: 0,
        }
    }

    /// How many links a node has.
    pub fn degree(&self, n: usize) -> usize {
        self.links
            .iter()
            .filter(|(a, b)| *a == n || *b == n)
            .count()
    }

    /// Brings a link up with a new epoch.
    pub fn connect(&mut self, a: usize, b: usize) -> u64 {
        let e = self.next_epoch;
        self.next_epoch += 1;
        self.up.insert(link(a, b), e);
        e
    }

    pub fn disconnect(&mut self, a: usize, b: usize) {
        self.up.remove(&link(a, b));
    }

    pub fn epoch(&self, a: usize, b: usize) -> Option<u64> {
        self.up.get(&link(a, b)).copied()
    }

    /// Sends `bytes` from `from` to `to` at time `now`. Returns false if the
    /// message "was lost": the connection broke (the caller tears it down).
    pub fn send(&mut self, now: u64, from: usize, to: usize, bytes: Vec<u8>, faulty: bool) -> bool {
        let Some(epoch) = self.epoch(from, to) else {
            return true;
        };
        if faulty && self.rng.random_range(0..1_000_000) < self.faults.loss_ppm {
            return false;
        }
        let copies = if faulty && self.rng.random_range(0..1_000_000) < self.faults.dup_ppm {
            2
        } else {
            1
        };
        let delay = if faulty {
            self.rng.random_range(1..=self.faults.max_delay_ms)
        } else {
            1
        };
        let at = (now + delay).max(self.last.get(&(from, to)).copied().unwrap_or(0) + 1);
        self.last.insert((from, to), at);
        for _ in 0..copies {
            self.bytes += bytes.len() as u64;
            self.messages += 1;
            self.seq += 1;
            let seq = self.seq;
            self.queue.push(Reverse((
                at,
                seq,
                Delivery {
                    from,
                    to,
                    epoch,
                    seq,
                    bytes: bytes.clone(),
                },
            )));
        }
        true
    }

    /// The next message due, if any, with its time.
    pub fn next_time(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse((t, _, _))| *t)
    }

    pub fn pop(&mut self) -> Option<(u64, Delivery)> {
        self.queue.pop().map(|Reverse((t, _, d))| (t, d))
    }

    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}
