//! Running a request's work in its own task, so that a client going away *cancels* it
//! instead of dropping it half-way: a dropped handler future would skip the clean-up a
//! cancelled Codex turn does (stopping Codex in its container, removing a suggest-mode
//! scratch copy, recording the call).

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// How long a request whose client went away may take to honour its (already
/// cancelled) token before its task is aborted.
pub(super) const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Aborts a spawned request task when dropped, unless the task ends by itself within
/// [`CANCEL_GRACE`]. Whoever drops it cancels the request's token first; aborting at
/// once would drop the handler before it could observe that and clean up.
pub(super) struct AbortOnDrop(pub(super) Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(mut handle) = self.0.take() else {
            return;
        };
        if handle.is_finished() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if tokio::time::timeout(CANCEL_GRACE, &mut handle)
                        .await
                        .is_err()
                    {
                        handle.abort();
                    }
                });
            }
            Err(_) => handle.abort(),
        }
    }
}

/// Runs `work` in its own task and waits for its output. Dropping the returned future
/// (the client went away) cancels `cancel`, which `work` observes, and gives `work`
/// [`CANCEL_GRACE`] to finish before it is aborted. `None` when `work` panicked.
pub(super) async fn until_done_or_cancelled<T, F>(cancel: CancellationToken, work: F) -> Option<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let task = AbortOnDrop(Some(tokio::spawn(async move {
        let _ = tx.send(work.await);
    })));
    let cancel_on_drop = cancel.drop_guard();
    let output = rx.await.ok();
    drop(cancel_on_drop.disarm());
    drop(task);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_output_comes_back() {
        let out = until_done_or_cancelled(CancellationToken::new(), async { 7 }).await;
        assert_eq!(out, Some(7));
    }

    #[tokio::test]
    async fn dropping_the_waiter_cancels_the_work_and_lets_it_finish() {
        let cancel = CancellationToken::new();
        let (cleaned_tx, cleaned_rx) = oneshot::channel();
        let seen = cancel.clone();
        let waiter = until_done_or_cancelled(cancel.clone(), async move {
            seen.cancelled().await;
            // Clean-up after the cancel still runs: the task was not dropped.
            let _ = cleaned_tx.send("cleaned up");
        });
        // Poll the waiter once so the work is spawned, then drop it.
        let waiter = tokio::time::timeout(Duration::from_millis(50), waiter).await;
        assert!(waiter.is_err(), "the work waits for its cancel");
        assert!(cancel.is_cancelled());
        assert_eq!(cleaned_rx.await, Ok("cleaned up"));
    }

    #[tokio::test]
    async fn a_panic_is_none() {
        let out: Option<()> =
            until_done_or_cancelled(CancellationToken::new(), async { panic!("boom") }).await;
        assert_eq!(out, None);
    }
}
