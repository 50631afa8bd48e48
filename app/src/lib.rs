//! # app — `tally-app`, the officers' app on the district PC
//!
//! Chinese by default (English on a switch), with its own CJK font
//! ([`fonts`]). The UI ([`ui`]) is a state machine drawn each frame; all
//! disk and key work happens on the [`backend`] worker thread, through the
//! node crate's own read and write paths, so the app signs and judges every
//! change exactly as the CLI and every peer do.

pub mod backend;
pub mod browse;
pub mod clock;
pub mod fonts;
pub mod sync;
pub mod ui;

pub use ui::{Lang, Options, SyncMode, TallyApp};
