//! The log writer: request threads append finished lines to a shared
//! buffer; a background thread writes it out in one `write(2)` per batch.
//!
//! Writing never blocks a request on I/O, and the buffer is bounded: when
//! it already holds its limit of lines, new lines are dropped and counted
//! (`obskit_log_lines_dropped_total`). The writer thread is woken only when
//! the buffer goes from empty to non-empty; it then lets lines gather for
//! [`GATHER`] before it writes them, so a busy service costs one wake-up and
//! one write per interval instead of one per line, and an idle one costs
//! nothing.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

/// How long lines gather after the first one before they are written.
pub(crate) const GATHER: Duration = Duration::from_millis(5);

struct Buffer {
    bytes: Vec<u8>,
    lines: usize,
}

struct Shared {
    buffer: Mutex<Buffer>,
    max_lines: usize,
    dropped: AtomicU64,
    closed: AtomicBool,
    thread: std::sync::OnceLock<Thread>,
}

/// Where formatted lines go: cheap to clone, usable as a `MakeWriter`.
#[derive(Clone)]
pub(crate) struct LineWriter {
    shared: Arc<Shared>,
}

/// Counts lines dropped because the buffer was full.
#[derive(Clone)]
pub(crate) struct DroppedLines(Arc<Shared>);

impl DroppedLines {
    pub(crate) fn get(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

/// The lines of an [in-memory](LineWriter::in_memory) writer.
#[derive(Clone)]
pub(crate) struct CapturedLines(Arc<Shared>);

impl CapturedLines {
    /// Every byte written so far: whole lines, in order.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.buffer.lock().bytes).into_owned()
    }
}

/// Flushes what is buffered and stops the writer thread, within a bound.
pub(crate) struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LineWriter {
    /// Starts the writer thread on `output`, holding at most `max_lines`.
    pub(crate) fn start(
        output: Box<dyn Write + Send>,
        max_lines: usize,
    ) -> std::io::Result<(Self, DroppedLines, WriterGuard)> {
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer {
                bytes: Vec::with_capacity(64 * 1024),
                lines: 0,
            }),
            max_lines: max_lines.max(1),
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            thread: std::sync::OnceLock::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("obskit-log-writer".into())
            .spawn(move || run(&worker, output))?;
        let _ = shared.thread.set(thread.thread().clone());
        Ok((
            Self {
                shared: Arc::clone(&shared),
            },
            DroppedLines(Arc::clone(&shared)),
            WriterGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// A writer that keeps every line in memory, with no thread: for
    /// tests, which read the lines back through [`CapturedLines`].
    pub(crate) fn in_memory() -> (Self, DroppedLines, WriterGuard, CapturedLines) {
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer {
                bytes: Vec::new(),
                lines: 0,
            }),
            max_lines: usize::MAX,
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            thread: std::sync::OnceLock::new(),
        });
        (
            Self {
                shared: Arc::clone(&shared),
            },
            DroppedLines(Arc::clone(&shared)),
            WriterGuard {
                shared: Arc::clone(&shared),
                thread: None,
            },
            CapturedLines(shared),
        )
    }

    /// Appends one or more complete lines.
    pub(crate) fn append(&self, line: &[u8]) {
        let mut buf = self.shared.buffer.lock();
        if buf.lines >= self.shared.max_lines {
            drop(buf);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let was_empty = buf.bytes.is_empty();
        buf.bytes.extend_from_slice(line);
        buf.lines += 1;
        drop(buf);
        if was_empty && let Some(t) = self.shared.thread.get() {
            t.unpark();
        }
    }
}

fn run(shared: &Shared, mut output: Box<dyn Write + Send>) {
    let mut spare: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let closed = shared.closed.load(Ordering::Acquire);
        let empty = shared.buffer.lock().bytes.is_empty();
        if empty {
            if closed {
                let _ = output.flush();
                return;
            }
            std::thread::park();
            continue;
        }
        if !closed {
            // Let the burst gather: one write for all of it.
            std::thread::sleep(GATHER);
        }
        {
            let mut buf = shared.buffer.lock();
            std::mem::swap(&mut buf.bytes, &mut spare);
            buf.lines = 0;
        }
        let _ = output.write_all(&spare);
        let _ = output.flush();
        spare.clear();
        if spare.capacity() > 1024 * 1024 {
            spare = Vec::with_capacity(64 * 1024);
        }
    }
}

impl WriterGuard {
    /// Writes what is buffered and ends the thread, waiting at most `bound`.
    pub(crate) fn finish(mut self, bound: Duration) {
        self.stop(bound);
    }

    fn stop(&mut self, bound: Duration) {
        self.shared.closed.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let deadline = Instant::now() + bound;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(1));
    }
}

/// The `io::Write` handed out per event by [`MakeWriter`]; every write is
/// one appended chunk (formatters write a whole event at once).
pub(crate) struct EventWriter<'a>(&'a LineWriter);

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineWriter {
    type Writer = EventWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_in_memory_writer_keeps_every_line_at_once() {
        let (w, dropped, guard, lines) = LineWriter::in_memory();
        w.append(b"one\n");
        w.append(b"two\n");
        assert_eq!(lines.text(), "one\ntwo\n");
        guard.finish(Duration::from_secs(1));
        assert_eq!(lines.text(), "one\ntwo\n", "kept after the guard is gone");
        assert_eq!(dropped.get(), 0);
    }

    #[test]
    fn lines_arrive_in_order_and_are_flushed_at_finish() {
        let sink = Sink::default();
        let (w, dropped, guard) = LineWriter::start(Box::new(sink.clone()), 1000).unwrap();
        for i in 0..500 {
            w.append(format!("line {i}\n").as_bytes());
        }
        guard.finish(Duration::from_secs(5));
        let text = String::from_utf8(sink.0.lock().clone()).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 500);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[499], "line 499");
        assert_eq!(dropped.get(), 0);
    }

    /// A writer that blocks until told to go on: the buffer fills, and
    /// further lines are dropped and counted instead of blocking.
    #[test]
    fn a_stuck_output_drops_and_counts_instead_of_blocking() {
        /// Blocks every write until the gate opens; says when the writer
        /// is inside its first write.
        struct Stuck {
            gate: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
            entered: std::sync::mpsc::Sender<()>,
        }
        impl Write for Stuck {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                let _ = self.entered.send(());
                let (lock, cv) = &*self.gate;
                let mut go = lock.lock().unwrap();
                while !*go {
                    go = cv.wait(go).unwrap();
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let stuck = Stuck {
            gate: Arc::clone(&gate),
            entered: entered_tx,
        };
        let (w, dropped, guard) = LineWriter::start(Box::new(stuck), 10).unwrap();
        w.append(b"first\n");
        // The writer has taken the first line and is blocked on it: the
        // queue is empty again, with room for 10 lines.
        entered
            .recv_timeout(Duration::from_secs(30))
            .expect("the writer never wrote the first line");
        // Appending from another thread: if it blocked on the stuck output
        // this would never report back (a liveness bound, not a timing one).
        let (tx, rx) = std::sync::mpsc::channel();
        let appender = w.clone();
        std::thread::spawn(move || {
            for _ in 0..1000 {
                appender.append(b"x\n");
            }
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("appending must not block on a stuck output");
        assert_eq!(dropped.get(), 990);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        guard.finish(Duration::from_secs(5));
    }
}
