//! One connection with one peer: length-prefixed messages on one QUIC stream,
//! driven through the sans-IO [`PeerSync`]. Anything malformed or hostile
//! ends this connection with a logged reason; it never touches the others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crdt_schema::DocId;
use iroh::endpoint::{Connection, RecvStream, SendStream};

use super::Shared;
use crate::replica::ReplicaError;
use crate::sync::PeerSync;
use crate::sync::wire::MAX_MESSAGE_BYTES;
use replica_core::driver::{self, StepError};

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("connection: {0}")]
    Connection(String),
    #[error("peer sent a message of {0} bytes (limit {MAX_MESSAGE_BYTES})")]
    TooLarge(usize),
    #[error("{0}")]
    Wire(#[from] crate::sync::WireError),
    #[error("{0}")]
    Protocol(#[from] crate::sync::ProtocolError),
    #[error("storage: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("storage: {0}")]
    Replica(#[from] crate::replica::ReplicaError),
    #[error("node shutting down")]
    Shutdown,
    #[error("{0} rests and was not woken")]
    NotWoken(crdt_schema::DocId),
}

impl From<StepError<ReplicaError>> for PeerError {
    fn from(e: StepError<ReplicaError>) -> PeerError {
        match e {
            StepError::Wire(e) => PeerError::Wire(e),
            StepError::Protocol(e) => PeerError::Protocol(e),
            StepError::Admit(e) => PeerError::Replica(e),
            StepError::NotWoken(id) => PeerError::NotWoken(id),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn read_frame(recv: &mut RecvStream) -> Result<Option<Vec<u8>>, PeerError> {
    let mut len = [0u8; 4];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(PeerError::Connection(e.to_string())),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_MESSAGE_BYTES {
        return Err(PeerError::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    recv.read_exact(&mut buf)
        .await
        .map_err(|e| PeerError::Connection(e.to_string()))?;
    Ok(Some(buf))
}

async fn write_frame(send: &mut SendStream, bytes: &[u8]) -> Result<(), PeerError> {
    send.write_all(&(bytes.len() as u32).to_le_bytes())
        .await
        .map_err(|e| PeerError::Connection(e.to_string()))?;
    send.write_all(bytes)
        .await
        .map_err(|e| PeerError::Connection(e.to_string()))
}

fn state_path(shared: &Shared, peer: &str) -> PathBuf {
    shared.data.join("peers").join(format!("{peer}.sync"))
}

/// What this node remembers of a peer: per document, the heads shared.
fn load_state(shared: &Shared, peer: &str) -> BTreeMap<DocId, Vec<u8>> {
    let Ok(bytes) = std::fs::read(state_path(shared, peer)) else {
        return BTreeMap::new();
    };
    postcard::from_bytes::<Vec<(String, Vec<u8>)>>(&bytes)
        .map(|v| {
            v.into_iter()
                .filter_map(|(d, s)| Some((d.parse().ok()?, s)))
                .collect()
        })
        .unwrap_or_default()
}

fn save_state(shared: &Shared, peer: &str, sync: &PeerSync) {
    let v: Vec<(String, Vec<u8>)> = sync
        .saved()
        .into_iter()
        .map(|(d, s)| (d.to_string(), s))
        .collect();
    if let Ok(bytes) = postcard::to_allocvec(&v)
        && let Err(e) = crate::store::write_atomic(&state_path(shared, peer), &bytes)
    {
        tracing::warn!(peer, "could not save sync state: {e}");
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one connection until it ends; returns why.
pub async fn run(shared: Arc<Shared>, conn: Connection, outgoing: bool) -> PeerError {
    let peer = conn.remote_id().to_string();
    let result = serve(shared.clone(), &conn, &peer, outgoing).await;
    let reason = match result {
        Ok(()) => PeerError::Connection("closed by peer".into()),
        Err(e) => e,
    };
    match &reason {
        PeerError::Wire(_) | PeerError::Protocol(_) | PeerError::TooLarge(_) => {
            tracing::warn!(peer = %&peer[..12], "closing connection: {reason}");
            conn.close(400u32.into(), reason.to_string().as_bytes());
        }
        _ => tracing::info!(peer = %&peer[..12], "connection ended: {reason}"),
    }
    shared.peer_status(&peer, |s| {
        s.connected = false;
        s.last_error = Some(reason.to_string());
    });
    reason
}

async fn serve(
    shared: Arc<Shared>,
    conn: &Connection,
    peer: &str,
    outgoing: bool,
) -> Result<(), PeerError> {
    let (mut send, mut recv) = if outgoing {
        conn.open_bi()
            .await
            .map_err(|e| PeerError::Connection(e.to_string()))?
    } else {
        conn.accept_bi()
            .await
            .map_err(|e| PeerError::Connection(e.to_string()))?
    };
    let saved = load_state(&shared, peer);
    let mut sync = PeerSync::new(&saved);
    let hello = {
        let mut r = shared.replica.lock().map_err(|_| PeerError::Shutdown)?;
        driver::start(&sync, &mut *r)
    };
    write_frame(&mut send, &hello.encode()).await?;
    shared.peer_status(peer, |s| {
        s.connected = true;
        s.since = now();
        s.connections += 1;
        s.last_error = None;
    });
    let mut changed = shared.changed.subscribe();
    let mut stop = shared.stop.subscribe();
    let mut since_save = std::time::Instant::now();
    let mut since_lag = std::time::Instant::now();
    // Frames are read by their own task: a read cut off half-way (by a
    // select on another event) would lose bytes and desynchronise the stream.
    let (frames_tx, mut frames) = tokio::sync::mpsc::channel::<Result<Vec<u8>, PeerError>>(4);
    let reader = tokio::spawn(async move {
        loop {
            let r = read_frame(&mut recv).await;
            let end = !matches!(r, Ok(Some(_)));
            let msg = match r {
                Ok(Some(b)) => Ok(b),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            if frames_tx.send(msg).await.is_err() || end {
                break;
            }
        }
    });
    let _reader = AbortOnDrop(reader);
    loop {
        let incoming = tokio::select! {
            frame = frames.recv() => {
                let Some(bytes) = frame else { break };
                Some(bytes?)
            }
            r = changed.changed() => {
                if r.is_err() { return Err(PeerError::Shutdown) }
                None
            }
            _ = stop.changed() => return Err(PeerError::Shutdown),
        };
        let now_s = now();
        let lag_due = since_lag.elapsed().as_secs() >= 1;
        // Validation, storage and the protocol run off the async threads,
        // through the driver step the simulator runs too.
        let shared2 = shared.clone();
        let (s, stepped, lag) = tokio::task::spawn_blocking(move || -> Result<_, PeerError> {
            let mut sync = sync;
            let mut r = shared2.replica.lock().map_err(|_| PeerError::Shutdown)?;
            let stepped = driver::step(&mut sync, &mut *r, incoming.as_deref())?;
            if let Some((doc, a)) = &stepped.admitted {
                for (doc, hash, reason) in &a.quarantined {
                    tracing::warn!(
                        "quarantined change {} of {doc}: {reason}",
                        &hash.to_string()[..12]
                    );
                }
                if a.unkept > 0 {
                    tracing::warn!(
                        "{} refused change(s) not kept: their document holds {} refusals already",
                        a.unkept,
                        replica_core::replica::MAX_REFUSED
                    );
                }
                if *doc == DocId::Registry && a.accepted > 0 {
                    shared2.update_enrolled(&r);
                }
            }
            // What stands apart, for the status: when the exchange goes
            // quiet (the figure that stays on screen) and once a second.
            let lag = (stepped.out.is_empty() || lag_due).then(|| sync.lag(&mut r.core));
            Ok((sync, stepped, lag))
        })
        .await
        .map_err(|_| PeerError::Shutdown)??;
        sync = s;
        if stepped.gained() {
            // Others (and this connection) offer the new changes (and
            // checkpoints) on.
            shared.changed.send_modify(|v| *v += 1);
        }
        for w in &stepped.out {
            write_frame(&mut send, &w.encode()).await?;
        }
        if lag.is_some() {
            since_lag = std::time::Instant::now();
        }
        shared.peer_status(peer, |st| {
            st.last_message = now_s;
            st.sent_change_bytes = sync.sent_change_bytes;
            st.received_change_bytes = sync.received_change_bytes;
            if let Some(lag) = lag {
                st.lag = lag.into_iter().map(|(d, l)| (d.to_string(), l)).collect();
            }
        });
        if since_save.elapsed().as_secs() >= 5 {
            save_state(&shared, peer, &sync);
            since_save = std::time::Instant::now();
        }
    }
    save_state(&shared, peer, &sync);
    let _ = send.finish();
    Ok(())
}
