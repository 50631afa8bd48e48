//! Peer-to-peer sync. [`core`] is the protocol as a pure state machine;
//! [`wire`] its messages. The transport (iroh) is the node's `net`; the
//! documents it syncs are [`crate::replica::Core`]'s.

pub mod core;
pub mod wire;

pub use self::core::{Docs, Incoming, Lag, PeerSync, ProtocolError};
pub use wire::{Wire, WireError};

#[cfg(test)]
mod tests;
