//! One step of a connection, the loop every transport runs: a message in
//! (or none, when the replica changed locally and has something to offer)
//! → decode → the protocol → admit what it carried (validated, and stored as
//! the replica's shell stores it) → poll → messages out.
//!
//! The node's daemon (`node::net::peer`, over QUIC) and the simulator
//! (`simulations`, over its simulated network) both call [`step`], so a
//! seeded run exercises the very sequence a district PC runs.

use crdt_schema::DocId;

use crate::checkpoint::SignedCheckpoint;
use crate::replica::{Admitted, Core};
use crate::sync::{Incoming, PeerSync, ProtocolError, Wire, WireError};

/// A replica a driver runs against: its documents in memory, and how it
/// admits changes (the daemon's through its store; the simulator's through
/// its own storage, or with a planted bug).
pub trait Admit {
    type Error;
    /// The documents the protocol reads to decide what to send.
    fn core(&mut self) -> &mut Core;
    /// Admits the changes one message carried.
    fn admit(&mut self, incoming: Incoming) -> Result<Admitted, Self::Error>;
    /// Takes the checkpoints one message carried; how many were kept (new,
    /// valid, of enrolled devices). Kept in memory only by default.
    fn checkpoints(&mut self, checkpoints: Vec<SignedCheckpoint>) -> Result<usize, Self::Error> {
        Ok(self.core().admit_checkpoints(checkpoints).len())
    }
    /// Wakes resting documents a peer is not level with: reads each back
    /// from storage whole into the core ([`Core::insert`]). No default: a
    /// replica that could not wake what rests would leave those documents
    /// unanswered for good.
    fn wake(&mut self, ids: &[DocId]) -> Result<(), Self::Error>;
}

/// What one step did.
#[derive(Debug, Default)]
pub struct Stepped {
    /// Messages to send the peer, in order.
    pub out: Vec<Wire>,
    /// The document that received changes, and what admitting them did.
    pub admitted: Option<(DocId, Admitted)>,
    /// Checkpoints the message brought that the replica kept.
    pub checkpoints: usize,
}

impl Stepped {
    /// Changes accepted in this step (the replica should offer them on).
    pub fn accepted(&self) -> usize {
        self.admitted.as_ref().map_or(0, |(_, a)| a.accepted)
    }

    /// Whether the replica gained anything to offer its other peers.
    pub fn gained(&self) -> bool {
        self.accepted() > 0 || self.checkpoints > 0
    }
}

/// Why a step failed: the peer broke the protocol (the connection ends), or
/// the replica could not admit (its own error, kept whole).
#[derive(Debug, thiserror::Error)]
pub enum StepError<E> {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Admit(E),
    /// The replica was asked to wake a resting document and did not: its
    /// peer's messages for it cannot be answered.
    #[error("{0} rests and was not woken")]
    NotWoken(DocId),
}

/// The first message of a connection.
pub fn start<R: Admit>(sync: &PeerSync, replica: &mut R) -> Wire {
    sync.hello(replica.core())
}

/// One step: `message` is a frame received from the peer, or `None` to
/// offer what changed locally. Documents at rest that the exchange needs
/// whole are woken ([`Admit::wake`]) before they are answered.
pub fn step<R: Admit>(
    sync: &mut PeerSync,
    replica: &mut R,
    message: Option<&[u8]>,
) -> Result<Stepped, StepError<R::Error>> {
    let mut admitted = None;
    let mut checkpoints = 0;
    if let Some(bytes) = message {
        let wire = Wire::decode(bytes)?;
        if let Some(incoming) = sync.receive(wire)? {
            let doc = incoming.doc.clone();
            let a = replica.admit(incoming).map_err(StepError::Admit)?;
            admitted = Some((doc, a));
        }
        let received = sync.take_checkpoints();
        if !received.is_empty() {
            checkpoints = replica.checkpoints(received).map_err(StepError::Admit)?;
        }
    }
    let mut out = sync.poll(replica.core());
    // Resting documents the peer is not level with: woken, then answered.
    let wake = sync.take_to_wake();
    if !wake.is_empty() {
        replica.wake(&wake).map_err(StepError::Admit)?;
        out.extend(sync.poll(replica.core()));
        if let Some(id) = sync.take_to_wake().into_iter().next() {
            return Err(StepError::NotWoken(id));
        }
    }
    Ok(Stepped {
        out,
        admitted,
        checkpoints,
    })
}

/// A core with no storage behind it (tests, and simulations that keep
/// nothing on disk).
impl Admit for Core {
    type Error = crate::replica::AdmitError;
    fn core(&mut self) -> &mut Core {
        self
    }
    fn admit(&mut self, incoming: Incoming) -> Result<Admitted, Self::Error> {
        Core::admit(self, incoming, &mut crate::replica::InMemory)
    }
    /// Nothing stored to read back: a document put to rest here cannot
    /// wake (rest documents only where storage holds them).
    fn wake(&mut self, ids: &[DocId]) -> Result<(), Self::Error> {
        match ids.first() {
            None => Ok(()),
            Some(id) => Err(crate::replica::AdmitError::Persist(
                format!("{id} rests, and an in-memory core cannot read it back").into(),
            )),
        }
    }
}
