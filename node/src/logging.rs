//! Where the programs log: standard error (the journal, under systemd), or
//! daily files in a directory, 14 of them kept — the Windows service and
//! the Windows app have no console, so they log to `DATA\\logs`.
//!
//! A flood from one place in the code (a stranger's garbage packets, a
//! hostile peer's thousands of refused changes) is cut to [`BURST`] lines a
//! minute from that place; the next line it lets through says how many like
//! it were dropped. What a node logs stays readable, and a log cannot be
//! filled by someone outside.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::layer::{Context as LayerContext, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Lines one place in the code may log per [`WINDOW`].
pub const BURST: u32 = 20;
/// The window [`BURST`] counts in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Why logging to files could not start.
#[derive(Debug, thiserror::Error)]
#[error("log directory {}: {source}", path.display())]
pub struct LogError {
    pub path: std::path::PathBuf,
    #[source]
    pub source: tracing_appender::rolling::InitError,
}

/// Installs the global subscriber (`RUST_LOG` filters; default `info`,
/// iroh's chatter at `warn`). Files are named `PREFIX.YYYY-MM-DD.log`.
pub fn init(dir: Option<&Path>, prefix: &str) -> Result<(), LogError> {
    match dir {
        Some(dir) => {
            let files = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix(prefix)
                .filename_suffix("log")
                .max_log_files(14)
                .build(dir)
                .map_err(|source| LogError {
                    path: dir.to_path_buf(),
                    source,
                })?;
            let _ = tracing_subscriber::registry()
                .with(layer(files, false, Flood::new(BURST, WINDOW)))
                .try_init();
        }
        None => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let _ = tracing_subscriber::registry()
                .with(layer(std::io::stderr, ansi, Flood::new(BURST, WINDOW)))
                .try_init();
        }
    }
    Ok(())
}

/// The formatting layer: `RUST_LOG`'s filter, and the flood's.
fn layer<S, W>(writer: W, ansi: bool, flood: Flood) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,iroh=warn,noq=warn"));
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .event_format(Counted {
            inner: format::Format::default(),
            flood: flood.clone(),
        })
        .with_filter(env.and(flood))
}

/// How many lines each place in the code logged in its current window, and
/// how many were dropped since its last line.
#[derive(Clone)]
pub struct Flood {
    burst: u32,
    window: Duration,
    // Keyed by callsite; never iterated, so its order reaches no output.
    sites: Arc<Mutex<HashMap<Identifier, Site>>>,
}

struct Site {
    since: Instant,
    lines: u32,
    dropped: u64,
}

impl Flood {
    pub fn new(burst: u32, window: Duration) -> Flood {
        Flood {
            burst,
            window,
            sites: Arc::default(),
        }
    }

    /// Whether a line from this place goes out now.
    fn admit(&self, meta: &Metadata<'_>) -> bool {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let site = sites.entry(meta.callsite()).or_insert(Site {
            since: now,
            lines: 0,
            dropped: 0,
        });
        if now.duration_since(site.since) >= self.window {
            site.since = now;
            site.lines = 0;
        }
        if site.lines < self.burst {
            site.lines += 1;
            true
        } else {
            site.dropped += 1;
            false
        }
    }

    /// Lines from this place dropped since its last one (and now counted as said).
    fn take_dropped(&self, meta: &Metadata<'_>) -> u64 {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        sites
            .get_mut(&meta.callsite())
            .map_or(0, |s| std::mem::take(&mut s.dropped))
    }
}

impl<S> Filter<S> for Flood {
    fn enabled(&self, _: &Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &LayerContext<'_, S>) -> bool {
        self.admit(event.metadata())
    }
}

/// The default line, after a word on the lines like it that were dropped.
struct Counted<F> {
    inner: F,
    flood: Flood,
}

impl<S, N, F> FormatEvent<S, N> for Counted<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let dropped = self.flood.take_dropped(event.metadata());
        if dropped > 0 {
            write!(writer, "({dropped} more lines like this one were dropped) ")?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn a_flood_from_one_place_is_cut_and_says_how_much_was_dropped() {
        let out = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(layer(
            out.clone(),
            false,
            Flood::new(20, Duration::from_millis(200)),
        ));
        // One place in the code, logging each packet.
        let packet = |i: u32| tracing::warn!("garbage packet {i} from 203.0.113.9");
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..10_000 {
                packet(i);
            }
            // Another place is not held back by the first.
            tracing::warn!("quarantined change 1234");
            std::thread::sleep(Duration::from_millis(250));
            packet(10_000);
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // 20 of the 10,000 in the window, the other place's line, and the
        // first of the next window saying what was dropped.
        assert_eq!(lines.len(), 22, "{text}");
        assert!(lines[19].contains("garbage packet 19"), "{}", lines[19]);
        assert!(lines[20].contains("quarantined change 1234"));
        assert!(
            lines[21].starts_with("(9980 more lines like this one were dropped) ")
                && lines[21].contains("garbage packet 10000"),
            "{}",
            lines[21]
        );
    }
}
