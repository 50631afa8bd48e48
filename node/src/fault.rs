//! Fault points for the crash and full-disk tests, compiled only with the
//! `fault-points` feature (the `tests` crate's build of the program): with
//! `TALLY_FAULT=abort-after:N` a write session kills its own process before
//! its (N+1)-th document append (or before its commit point, when N is the
//! number of documents), as SIGKILL would; with `fail-after:N` that append
//! fails as a full disk does. Without the feature these are no-ops.

use crate::store::StoreError;

#[cfg(feature = "fault-points")]
pub fn before_append(done: usize) -> Result<(), StoreError> {
    let Ok(spec) = std::env::var("TALLY_FAULT") else {
        return Ok(());
    };
    let at = |prefix: &str| {
        spec.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n == done)
    };
    if at("abort-after:") {
        std::process::abort();
    }
    if at("fail-after:") {
        return Err(StoreError::Io {
            path: "(injected)".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (injected by TALLY_FAULT)",
            ),
        });
    }
    Ok(())
}

#[cfg(not(feature = "fault-points"))]
pub fn before_append(_: usize) -> Result<(), StoreError> {
    Ok(())
}
