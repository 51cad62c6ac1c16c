//! The shutdown signal of every daemon: SIGINT (Ctrl-C) or SIGTERM.

use std::future::Future;
use std::io;

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

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

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
}
