//! The handle to a running process and the task that drives it, shared by both backends.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use futures::future::OptionFuture;
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::ExecEvent;

/// How many events may wait unread before the process is made to wait (back-pressure).
const EVENT_CAPACITY: usize = 256;
/// How many parsed lines the driver holds before it stops reading output.
const QUEUE_HIGH_WATER: usize = 64;
/// A line longer than this is delivered in pieces, so a process that never writes a newline
/// cannot make the server buffer without bound.
const MAX_LINE: usize = 16 << 20;

/// A request to kill; the sender (if any) is told when the kill procedure is over.
type KillRequest = Option<oneshot::Sender<()>>;

/// A running process in an agent's environment: its output events and its kill switch.
///
/// Read [`ExecHandle::events`] until [`ExecEvent::Exited`]. Dropping the handle kills the
/// process (and everything it started), so an abandoned tool call cannot leave Codex
/// running.
#[derive(Debug)]
pub struct ExecHandle {
    /// Output lines in order, then exactly one `Exited`.
    pub events: mpsc::Receiver<ExecEvent>,
    killer: Killer,
}

/// A second kill switch for the same process, kept by a backend so that `stop` and
/// `remove` can end an agent's processes. Holding one does not keep the process alive.
#[derive(Clone, Debug)]
pub(crate) struct Killer(mpsc::UnboundedSender<KillRequest>);

impl Killer {
    /// See [`ExecHandle::kill`].
    pub(crate) async fn kill(&self) {
        let (ack, done) = oneshot::channel();
        if self.0.send(Some(ack)).is_ok() {
            // An error means the driver ended: the process is gone either way.
            let _ = done.await;
        }
    }

    /// Whether the process's driver has finished (nothing left to kill).
    pub(crate) fn is_done(&self) -> bool {
        self.0.is_closed()
    }
}

/// Everything a finished process printed, for callers that do not need streaming.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Stdout lines.
    pub stdout: Vec<String>,
    /// Stderr lines.
    pub stderr: Vec<String>,
    /// The exit code (`None`: killed or unknown).
    pub code: Option<i32>,
}

impl ExecHandle {
    /// Kills the process and all its descendants: SIGTERM, a grace period, then SIGKILL.
    /// Returns once they are gone (or the process had already ended). The events then end
    /// with `Exited(None)`.
    pub async fn kill(&self) {
        self.killer.kill().await;
    }

    /// Another kill switch for the same process.
    pub(crate) fn killer(&self) -> Killer {
        self.killer.clone()
    }

    /// Reads all remaining events into an [`ExecOutput`].
    pub async fn collect(&mut self) -> ExecOutput {
        let mut out = ExecOutput::default();
        while let Some(ev) = self.events.recv().await {
            match ev {
                ExecEvent::Stdout(l) => out.stdout.push(l),
                ExecEvent::Stderr(l) => out.stderr.push(l),
                ExecEvent::Exited(c) => {
                    out.code = c;
                    break;
                }
            }
        }
        out
    }
}

impl ExecHandle {
    /// Like [`Self::collect`], but holds at most `max_bytes` of output (both streams,
    /// a byte per line end): past that the process is killed and the output dropped,
    /// so a process printing without end cannot grow the server's memory.
    pub async fn collect_bounded(
        &mut self,
        max_bytes: usize,
    ) -> Result<ExecOutput, OutputTooLarge> {
        let mut out = ExecOutput::default();
        let mut held = 0usize;
        while let Some(ev) = self.events.recv().await {
            let (line, lines) = match ev {
                ExecEvent::Stdout(l) => (l, &mut out.stdout),
                ExecEvent::Stderr(l) => (l, &mut out.stderr),
                ExecEvent::Exited(c) => {
                    out.code = c;
                    break;
                }
            };
            held = held.saturating_add(line.len() + 1);
            if held > max_bytes {
                drop(out);
                self.kill().await;
                return Err(OutputTooLarge { limit: max_bytes });
            }
            lines.push(line);
        }
        Ok(out)
    }
}

/// A process printed more than [`ExecHandle::collect_bounded`] would hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the process printed more than {limit} bytes; it was stopped and its output dropped")]
pub struct OutputTooLarge {
    /// The bound, in bytes.
    pub limit: usize,
}

impl Drop for ExecHandle {
    fn drop(&mut self) {
        let _ = self.killer.0.send(None);
    }
}

/// A boxed, sendable future.
pub(crate) type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A piece of raw output from one of the two streams.
pub(crate) enum Chunk {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// What a backend supplies to run one process.
pub(crate) struct ExecParts {
    /// Raw output, ending when both streams are closed.
    pub output: Pin<Box<dyn Stream<Item = Chunk> + Send>>,
    /// Kills the process tree and resolves once it is gone. Called at most once.
    pub kill: Box<dyn FnOnce() -> BoxFut<()> + Send>,
    /// After output ends: the exit code. The flag says whether `kill` ran.
    pub finish: Box<dyn FnOnce(bool) -> BoxFut<Option<i32>> + Send>,
}

/// Starts the driver task for `parts` and returns the caller's handle.
pub(crate) fn spawn(parts: ExecParts) -> ExecHandle {
    let (tx, events) = mpsc::channel(EVENT_CAPACITY);
    let (killer, kill_rx) = mpsc::unbounded_channel();
    tokio::spawn(drive(parts, tx, kill_rx));
    ExecHandle {
        events,
        killer: Killer(killer),
    }
}

async fn drive(
    parts: ExecParts,
    tx: mpsc::Sender<ExecEvent>,
    mut kill_rx: mpsc::UnboundedReceiver<KillRequest>,
) {
    let ExecParts {
        mut output,
        kill,
        finish,
    } = parts;
    let mut out_lines = LineSplitter::default();
    let mut err_lines = LineSplitter::default();
    let mut queue: VecDeque<ExecEvent> = VecDeque::new();
    let mut kill = Some(kill);
    let mut kill_fut: Option<BoxFut<()>> = None;
    let mut killed = false;
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    let mut output_done = false;
    let mut kill_open = true;
    let mut consumer_gone = false;

    loop {
        if output_done && queue.is_empty() && kill_fut.is_none() {
            break;
        }
        tokio::select! {
            biased;
            req = kill_rx.recv(), if kill_open => match req {
                Some(ack) => {
                    acks.extend(ack);
                    if let Some(k) = kill.take() {
                        killed = true;
                        kill_fut = Some(k());
                    } else if kill_fut.is_none() {
                        // Already killed and done.
                        acks.drain(..).for_each(|a| { let _ = a.send(()); });
                    }
                }
                None => kill_open = false,
            },
            Some(()) = OptionFuture::from(kill_fut.as_mut()), if kill_fut.is_some() => {
                kill_fut = None;
                acks.drain(..).for_each(|a| { let _ = a.send(()); });
            },
            permit = tx.reserve(), if !queue.is_empty() && !consumer_gone => match permit {
                Ok(p) => {
                    if let Some(ev) = queue.pop_front() {
                        p.send(ev);
                    }
                }
                Err(_) => consumer_gone = true,
            },
            chunk = output.next(), if !output_done && queue.len() < QUEUE_HIGH_WATER => match chunk {
                Some(Chunk::Stdout(b)) => queue.extend(out_lines.push(&b).into_iter().map(ExecEvent::Stdout)),
                Some(Chunk::Stderr(b)) => queue.extend(err_lines.push(&b).into_iter().map(ExecEvent::Stderr)),
                None => {
                    output_done = true;
                    queue.extend(out_lines.finish().map(ExecEvent::Stdout));
                    queue.extend(err_lines.finish().map(ExecEvent::Stderr));
                }
            },
            else => break,
        }
        if consumer_gone {
            queue.clear();
        }
    }
    // Pending and later kill requests are answered by closing the channel: the process is
    // gone, there is nothing left to kill.
    drop(kill_rx);
    acks.drain(..).for_each(|a| {
        let _ = a.send(());
    });
    let code = finish(killed).await;
    if !consumer_gone {
        let _ = tx.send(ExecEvent::Exited(code)).await;
    }
}

/// Cuts a byte stream into lines without their `\n` / `\r\n`.
#[derive(Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Adds bytes and returns the lines they completed.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.buf.extend_from_slice(&rest[..i]);
            lines.push(Self::take(&mut self.buf));
            rest = &rest[i + 1..];
        }
        self.buf.extend_from_slice(rest);
        if self.buf.len() >= MAX_LINE {
            lines.push(Self::take(&mut self.buf));
        }
        lines
    }

    /// The unterminated last line, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.buf.is_empty()).then(|| Self::take(&mut self.buf))
    }

    fn take(buf: &mut Vec<u8>) -> String {
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let line = String::from_utf8_lossy(buf).into_owned();
        buf.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"ab"), Vec::<String>::new());
        assert_eq!(s.push(b"c\nde\r\n\nf"), vec!["abc", "de", ""]);
        assert_eq!(s.push(b"\xff\n"), vec!["f\u{fffd}"]);
        assert_eq!(s.finish(), None);
        s.push(b"tail");
        assert_eq!(s.finish().as_deref(), Some("tail"));
    }

    fn parts(chunks: Vec<Chunk>, code: Option<i32>) -> ExecParts {
        ExecParts {
            output: Box::pin(futures::stream::iter(chunks)),
            kill: Box::new(|| Box::pin(async {})),
            finish: Box::new(move |killed| {
                Box::pin(async move { if killed { None } else { code } })
            }),
        }
    }

    #[tokio::test]
    async fn events_in_order_then_exit() {
        let mut h = spawn(parts(
            vec![
                Chunk::Stdout(b"one\ntw".to_vec()),
                Chunk::Stderr(b"err\n".to_vec()),
                Chunk::Stdout(b"o\n".to_vec()),
            ],
            Some(3),
        ));
        let out = h.collect().await;
        assert_eq!(out.stdout, vec!["one", "two"]);
        assert_eq!(out.stderr, vec!["err"]);
        assert_eq!(out.code, Some(3));
        // Killing after the end returns at once.
        h.kill().await;
    }

    #[tokio::test]
    async fn kill_runs_the_procedure_and_reports_none() {
        let (tx, rx) = mpsc::unbounded_channel::<Chunk>();
        let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let k2 = killed.clone();
        let mut h = spawn(ExecParts {
            output: Box::pin(tokio_stream_from(rx)),
            kill: Box::new(move || {
                Box::pin(async move {
                    k2.store(true, std::sync::atomic::Ordering::SeqCst);
                    drop(tx); // the process dies: its output ends
                })
            }),
            finish: Box::new(|killed| Box::pin(async move { if killed { None } else { Some(0) } })),
        });
        h.kill().await;
        assert!(killed.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(h.collect().await.code, None);
    }

    #[tokio::test]
    async fn bounded_collection_stops_an_endless_printer_and_keeps_small_output() {
        let (tx, rx) = mpsc::unbounded_channel::<Chunk>();
        let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let k2 = killed.clone();
        let printer = tx.clone();
        // Prints a kilobyte line after line until killed.
        let printing = tokio::spawn(async move {
            while printer
                .send(Chunk::Stdout(
                    [b'x'; 1023].iter().chain(b"\n").copied().collect(),
                ))
                .is_ok()
            {
                tokio::task::yield_now().await;
            }
        });
        let mut h = spawn(ExecParts {
            output: Box::pin(tokio_stream_from(rx)),
            kill: Box::new(move || {
                Box::pin(async move {
                    k2.store(true, std::sync::atomic::Ordering::SeqCst);
                    drop(tx);
                })
            }),
            finish: Box::new(|_| Box::pin(async { None })),
        });
        assert_eq!(
            h.collect_bounded(64 << 10).await,
            Err(OutputTooLarge { limit: 64 << 10 })
        );
        assert!(killed.load(std::sync::atomic::Ordering::SeqCst));
        printing.abort();

        let mut small = spawn(parts(vec![Chunk::Stdout(b"a\nb\n".to_vec())], Some(0)));
        assert_eq!(
            small.collect_bounded(4).await,
            Ok(ExecOutput {
                stdout: vec!["a".to_string(), "b".to_string()],
                stderr: vec![],
                code: Some(0),
            })
        );
    }

    fn tokio_stream_from(
        mut rx: mpsc::UnboundedReceiver<Chunk>,
    ) -> impl Stream<Item = Chunk> + Send {
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
