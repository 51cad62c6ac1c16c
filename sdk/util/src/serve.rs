//! Serving a warp API until a shutdown, then draining its open requests for a limited time: the
//! one serving loop of the node's API, the storage node's API and the buyer's inbox.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use warp::{Filter, Reply};

use crate::shutdown::with_grace;

/// How a server's open requests ended after its shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a server whose requests were cut usually says so in its log"]
pub enum Drained {
    /// Every open request finished within the grace period.
    All,
    /// Some were still open when the grace period ran out, and were cut.
    Cut,
}

/// Serves `routes` on `listener` until `shutdown` completes, then stops accepting and waits at
/// most `grace` for the requests still open. The routes must answer every request (end in a
/// `recover`), as each of Consign's servers does.
pub async fn serve<F, R>(
    routes: F,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Drained
where
    F: Filter<Extract = (R,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let (graceful, deadline) = with_grace(shutdown);
    let server = warp::serve(routes)
        .incoming(listener)
        .graceful(graceful)
        .run();
    tokio::select! {
        () = server => Drained::All,
        () = deadline.after(grace) => Drained::Cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_still_open_after_the_grace_is_cut() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = warp::path!("slow")
            .then(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            })
            .recover(|_| async { Ok::<_, std::convert::Infallible>("no such route") });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            routes,
            listener,
            async move {
                let _ = stop_rx.await;
            },
            Duration::from_millis(200),
        ));
        // A request that will outlast the grace period, then the shutdown.
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stop_tx.send(());
        let drained = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the server stops within the grace period and a margin")
            .unwrap();
        assert_eq!(drained, Drained::Cut);
    }

    #[tokio::test]
    async fn an_idle_server_stops_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let routes = warp::any().map(|| "ok");
        let drained = tokio::time::timeout(
            Duration::from_secs(10),
            serve(routes, listener, async {}, Duration::from_secs(60)),
        )
        .await
        .expect("nothing to drain");
        assert_eq!(drained, Drained::All);
    }
}
