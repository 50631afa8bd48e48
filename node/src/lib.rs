//! # node
//!
//! A tally replica: on-disk storage of signed documents, CSV/XLSX import, XLSX
//! and HTML export of a month's scores, the demo prison, and the `tally`
//! command line. The binary (`src/main.rs`) only calls
//! [`cli::run`].
//!
//! Layering: [`store`] owns files; [`session`] is the write path (lock, load,
//! typed writes, append); [`read`] is the read path (load, score in parallel);
//! [`import`] and [`demo`] produce [`ops::Plan`]s of typed writes; [`export`]
//! turns a scored month into the XLSX workbook and printable report.

pub mod about;
pub mod audit;
pub mod bundle;
pub mod cli;
pub mod close;
pub mod demo;
pub mod export;
mod fault;
pub mod identity;
pub mod import;
pub mod input;
pub mod keyfile;
pub mod logging;
pub mod merge;
pub mod net;
pub mod ops;
pub mod prison;
pub mod read;
pub mod replica;
pub mod service;
pub mod session;
pub mod store;
pub mod verify;

// The pure core, where its modules always were: `node::validate`, `node::sync`.
pub use replica_core::{sync, validate};
