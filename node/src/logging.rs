//! Where the programs log: standard error (the journal, under systemd), or
//! daily files in a directory, 14 of them kept — the Windows service and
//! the Windows app have no console, so they log to `DATA\\logs`.

use std::path::Path;

use anyhow::{Context, Result};

/// Installs the global subscriber (`RUST_LOG` filters; default `info`,
/// iroh's chatter at `warn`). Files are named `PREFIX.YYYY-MM-DD.log`.
pub fn init(dir: Option<&Path>, prefix: &str) -> Result<()> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,iroh=warn,noq=warn"))
    };
    match dir {
        Some(dir) => {
            let files = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix(prefix)
                .filename_suffix("log")
                .max_log_files(14)
                .build(dir)
                .with_context(|| format!("log directory {}", dir.display()))?;
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(files)
                .with_ansi(false)
                .try_init();
        }
        None => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .try_init();
        }
    }
    Ok(())
}
