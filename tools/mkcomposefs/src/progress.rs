//! A progress line on stderr for long runs: files and bytes done, and the
//! rate. Silent unless enabled (a terminal and no `--quiet`), and for runs
//! shorter than half a second (`CFS_PROGRESS_DELAY_MS` changes that delay;
//! the tests set it to 0). The files are read in one pass with the walk of
//! the tree, so there is no total to show.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a run stays silent by default.
const DEFAULT_DELAY: Duration = Duration::from_millis(500);
/// How often the line is redrawn.
const INTERVAL: Duration = Duration::from_millis(200);

#[derive(Default)]
struct State {
    files: AtomicU64,
    bytes: AtomicU64,
    stop: AtomicBool,
    phase: Mutex<&'static str>,
    delay: Duration,
}

/// Progress reporting shared by the worker threads.
pub struct Progress {
    state: Option<Arc<State>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

impl Progress {
    /// A reporter; when `enabled` is false every call is a no-op.
    pub fn new(enabled: bool) -> Self {
        let delay = std::env::var("CFS_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_DELAY, Duration::from_millis);
        Progress {
            state: enabled.then(|| {
                Arc::new(State {
                    delay,
                    ..State::default()
                })
            }),
            thread: Mutex::new(None),
        }
    }

    /// Starts (or restarts) the display for a phase, with no files done.
    pub fn start(&self, phase: &'static str) {
        let Some(state) = &self.state else { return };
        self.stop_thread();
        state.files.store(0, Ordering::Relaxed);
        state.bytes.store(0, Ordering::Relaxed);
        state.stop.store(false, Ordering::Relaxed);
        if let Ok(mut p) = state.phase.lock() {
            *p = phase;
        }
        let st = Arc::clone(state);
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            let mut shown = false;
            loop {
                let stopping = st.stop.load(Ordering::Relaxed);
                let elapsed = start.elapsed();
                // Short runs stay silent.
                if elapsed >= st.delay || (stopping && shown) {
                    let files = st.files.load(Ordering::Relaxed);
                    let bytes = st.bytes.load(Ordering::Relaxed);
                    let rate = bytes as f64 / elapsed.as_secs_f64().max(1e-3);
                    let phase = st.phase.lock().map(|p| *p).unwrap_or("");
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\r\x1b[K{phase}: {files} files, {} ({}/s)",
                        human(bytes as f64),
                        human(rate),
                    );
                    if stopping {
                        let _ = writeln!(err);
                    }
                    let _ = err.flush();
                    shown = true;
                }
                if stopping {
                    break;
                }
                // Woken early when stopping.
                std::thread::park_timeout(INTERVAL);
            }
        });
        if let Ok(mut t) = self.thread.lock() {
            *t = Some(handle);
        }
    }

    /// Counts `files` more files and `bytes` more bytes as done.
    pub fn add(&self, files: u64, bytes: u64) {
        if let Some(s) = &self.state {
            s.files.fetch_add(files, Ordering::Relaxed);
            s.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    fn stop_thread(&self) {
        if let Some(s) = &self.state {
            s.stop.store(true, Ordering::Relaxed);
        }
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            h.thread().unpark();
            let _ = h.join();
        }
    }

    /// Ends the current display line.
    pub fn finish(&self) {
        self.stop_thread();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
