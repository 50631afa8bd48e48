//! What a build is: `tally --version` and the app's About say it, so an IT
//! officer can tell which build runs on a PC and whether two PCs speak the
//! same sync protocol.

use std::sync::LazyLock;

/// The release (the workspace's version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit built (`TALLY_COMMIT` when built from a tarball).
pub const COMMIT: &str = env!("TALLY_COMMIT");
/// The target triple built for, e.g. `x86_64-pc-windows-gnu`.
pub const TARGET: &str = env!("TALLY_TARGET");

/// The sync protocol's ALPN as text: two nodes connect only when it is
/// equal, and sync only when their protocol versions are too.
pub fn alpn() -> &'static str {
    std::str::from_utf8(crate::net::ALPN).unwrap_or("?")
}

/// The lines after the version: commit, target, sync protocol.
pub fn details() -> String {
    format!(
        "commit {COMMIT}\ntarget {TARGET}\nsync protocol (ALPN) {}, version {}",
        alpn(),
        replica_core::sync::wire::PROTOCOL_VERSION
    )
}

static LONG: LazyLock<String> = LazyLock::new(|| format!("{VERSION}\n{}", details()));

/// `tally --version`: the version, then [`details`].
pub fn long_version() -> &'static str {
    LONG.as_str()
}
