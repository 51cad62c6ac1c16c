//! The shutdown signal of every daemon: SIGINT (Ctrl-C) or SIGTERM.

use std::future::Future;
use std::io;
use std::time::Duration;

/// A future that completes on the first SIGINT or SIGTERM (Ctrl-C elsewhere than Unix).
///
/// The handlers are installed when this function is called, not when the future is first
/// polled, so a signal that arrives while the program is still starting up is not lost (and
/// does not kill the process with the default action). Call it inside a tokio runtime.
///
/// # Errors
///
/// If a handler cannot be installed (the error names which).
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        fn context(name: &'static str) -> impl FnOnce(io::Error) -> io::Error {
            move |e| io::Error::new(e.kind(), format!("installing the {name} handler: {e}"))
        }
        let mut interrupt = signal(SignalKind::interrupt()).map_err(context("SIGINT"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(context("SIGTERM"))?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Tells when open requests have had enough time after a shutdown: see [`with_grace`].
#[derive(Debug)]
pub struct GraceDeadline {
    started: tokio::sync::oneshot::Receiver<()>,
}

impl GraceDeadline {
    /// Completes `grace` after the shutdown future given to [`with_grace`] completed; never if
    /// it does not complete.
    pub async fn after(self, grace: Duration) {
        if self.started.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    }
}

/// A graceful shutdown with a time limit, for a server that stops accepting when `shutdown`
/// completes and then waits for its open requests: pass the returned future to the server
/// (warp's `.graceful(…)`), and race the server against [`GraceDeadline::after`] so that
/// requests still open `grace` after the shutdown are cut.
///
/// ```ignore
/// let (graceful, deadline) = with_grace(shutdown);
/// let server = warp::serve(routes).incoming(listener).graceful(graceful).run();
/// tokio::select! {
///     () = server => {}
///     () = deadline.after(GRACE) => tracing::warn!("requests still open; closing them"),
/// }
/// ```
pub fn with_grace(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (impl Future<Output = ()> + Send + 'static, GraceDeadline) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let graceful = async move {
        shutdown.await;
        let _ = tx.send(());
    };
    (graceful, GraceDeadline { started: rx })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn completes_on_sigterm_sent_before_it_is_polled() {
        let signal = shutdown_signal().unwrap();
        // The handler is in place: SIGTERM does not kill the test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(10), signal)
            .await
            .expect("the signal future completes");
    }

    #[tokio::test(start_paused = true)]
    async fn the_grace_runs_from_the_shutdown() {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (graceful, deadline) = with_grace(async move {
            let _ = stop_rx.await;
        });
        let deadline = tokio::spawn(deadline.after(Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!deadline.is_finished(), "no shutdown yet: no deadline");
        let _ = stop_tx.send(());
        graceful.await;
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert!(!deadline.is_finished());
        tokio::time::sleep(Duration::from_secs(2)).await;
        deadline.await.unwrap();
    }
}
