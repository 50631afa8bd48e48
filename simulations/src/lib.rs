//! # simulations
//!
//! Seeded, deterministic many-node simulations of tally, the way FoundationDB
//! and TigerBeetle test theirs: N nodes run the very sans-IO sync core and
//! replica core the node daemon runs (`node::sync::PeerSync`,
//! `node::replica::Core`), over a simulated network ([`net`]) with message
//! delays, duplication, broken connections, partitions that form and heal,
//! devices offline for days, restarts with and without their saved sync
//! state, clock skew, officers writing the same records concurrently, and
//! hostile nodes ([`prison::Behaviour`]): forged signatures, out-of-district
//! writes, replays into other documents, a revoked officer writing on,
//! garbage messages, floods of changes nobody can judge.
//!
//! One seed reproduces one run exactly ([`world::World`]). After every heal
//! the invariants are checked: equal heads and report digests on every honest
//! node, no acknowledged change lost, no invalid change applied, the same
//! refusal reason everywhere, bytes within a stated bound of the useful ones.
//! [`baseline`] runs the same workload over plain unsigned Automerge sync,
//! to measure what signing and validation cost.
//!
//! Architecture invariant: no wall clock, no OS randomness, no I/O — a run is
//! a pure function of its configuration.

pub mod baseline;
pub mod disk;
pub mod net;
pub mod prison;
pub mod world;
