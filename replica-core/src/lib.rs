//! # replica-core — the pure core of a tally replica
//!
//! Everything a replica decides, and nothing it does: [`validate`] judges
//! whether a signed change may enter a document (signature, certificate,
//! revocation, role × record); [`sync`] is the sync protocol with one peer as
//! a state machine, with its bounded [`sync::wire`] encoding; [`replica`]
//! holds a replica's documents in memory and admits changes through the
//! validator, leaving what is stored to the [`replica::Persist`] it is given;
//! [`driver::step`] is one step of a connection, which the daemon and the
//! simulator both run; [`checkpoint`] is what each node signs of the heads it
//! holds, gossiped so a verifier can see what a bundle leaves out.
//!
//! No I/O, no clock, no randomness, no threads: the node's daemon, the
//! officers' app and the simulations drive this very code, and Cargo enforces
//! it — the crate depends on no async runtime, network or filesystem crate.

pub mod checkpoint;
pub mod driver;
pub mod replica;
pub mod sync;
pub mod validate;
