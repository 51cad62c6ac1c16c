//! Serving a warp API to strangers: the one serving loop of the node's API, the storage node's
//! API and the buyer's inbox.
//!
//! `warp::serve` sets no limit a hostile client would meet, so [`serve`] accepts the connections
//! itself and hands each to hyper's HTTP/1 with [`ServeOptions`]:
//!
//! - **a header read timeout**, which hyper starts whenever it waits for a request's head, so it
//!   is also the idle keep-alive timeout: a client that trickles its headers (slowloris) or sits
//!   idle on a kept-alive connection is disconnected after it;
//! - **a cap on open connections**: past it, new connections wait in the listen backlog until
//!   one closes, so a flood costs the server no file descriptors or tasks beyond the cap;
//! - **a graceful shutdown with a time limit**: on `shutdown` the listener closes, open requests
//!   may finish for `grace`, then the rest are cut.
//!
//! Request bodies are the routes' business: a route that streams a large body (an upload, a
//! delivery) enforces its own idle and minimum-rate limits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use warp::{Filter, Reply};

use crate::shutdown::with_grace;

/// The target of the serving loop's logs.
const TARGET: &str = "util::serve";

/// How a server meets its clients. [`Default`] is what Consign's servers use.
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// How long a client has to send a request's head, counted from when the server starts
    /// waiting for it (also between requests on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long open requests may run on after the shutdown before they are cut.
    pub grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            grace: Duration::from_secs(10),
        }
    }
}

impl ServeOptions {
    /// The defaults with another shutdown grace period.
    pub fn with_grace(grace: Duration) -> Self {
        Self {
            grace,
            ..Self::default()
        }
    }
}

/// How a server's open requests ended after its shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a server whose requests were cut usually says so in its log"]
pub enum Drained {
    /// Every open request finished within the grace period.
    All,
    /// Some were still open when the grace period ran out, and were cut.
    Cut,
}

/// Serves `routes` on `listener` as [`ServeOptions`] say until `shutdown` completes, then stops
/// accepting and waits at most `options.grace` for the requests still open. The routes must
/// answer every request (end in a `recover`), as each of Consign's servers does.
pub async fn serve<F, R>(
    routes: F,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Drained
where
    F: Filter<Extract = (R,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let (stopping, deadline) = with_grace(shutdown);
    let mut stopping = std::pin::pin!(stopping);
    let connections = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    loop {
        let permit = tokio::select! {
            () = &mut stopping => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut stopping => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin, and go on.
                    tracing::warn!(target: TARGET, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(target: TARGET, %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Drained::All,
        () = deadline.after(options.grace) => Drained::Cut,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    /// Serves `routes` with `options` until the returned sender is dropped or used.
    async fn start<F, R>(
        routes: F,
        options: ServeOptions,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Drained>,
    )
    where
        F: Filter<Extract = (R,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
        R: Reply + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            routes,
            listener,
            async move {
                let _ = stop_rx.await;
            },
            options,
        ));
        (addr, stop_tx, server)
    }

    /// Reads until the peer closes the connection; `None` if it stays open past `limit`.
    async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout_at(
                tokio::time::Instant::from_std(started + limit),
                stream.read(&mut buf),
            )
            .await
            {
                Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
                Ok(Ok(_)) => {}
                Err(_) => return None,
            }
        }
    }

    fn ok() -> impl Filter<Extract = (&'static str,), Error = std::convert::Infallible> + Clone {
        warp::any().map(|| "ok")
    }

    #[tokio::test]
    async fn a_request_still_open_after_the_grace_is_cut() {
        let routes = warp::path!("slow")
            .then(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            })
            .recover(|_| async { Ok::<_, std::convert::Infallible>("no such route") });
        let (addr, stop, server) =
            start(routes, ServeOptions::with_grace(Duration::from_millis(200))).await;
        // A request that will outlast the grace period, then the shutdown.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stop.send(());
        let drained = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the server stops within the grace period and a margin")
            .unwrap();
        assert_eq!(drained, Drained::Cut);
    }

    #[tokio::test]
    async fn an_idle_server_stops_at_once() {
        let (_addr, stop, server) =
            start(ok(), ServeOptions::with_grace(Duration::from_secs(60))).await;
        let _ = stop.send(());
        let drained = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("nothing to drain")
            .unwrap();
        assert_eq!(drained, Drained::All);
    }

    /// A connection to a server whose header read timeout is 300 ms, on which `sent` was
    /// written; the server runs until the test ends.
    async fn impatient_client(sent: &[u8]) -> TcpStream {
        let options = ServeOptions {
            header_read_timeout: Duration::from_millis(300),
            ..ServeOptions::default()
        };
        let (addr, stop, server) = start(ok(), options).await;
        // Neither stops the server when dropped: the sender is leaked, the task detached.
        std::mem::forget(stop);
        drop(server);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        stream
    }

    #[tokio::test]
    async fn a_client_trickling_its_headers_is_disconnected() {
        // Slowloris: a request line, then a header byte every 100 ms, never the blank line.
        let mut stream = impatient_client(b"GET / HTTP/1.1\r\nx-slow: ").await;
        let trickle = async {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
            }
        };
        let cut = tokio::time::timeout(Duration::from_secs(5), trickle).await;
        assert!(cut.is_ok(), "the server kept a trickling client for 5 s");
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed() {
        let mut stream = impatient_client(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
        let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "an idle connection stayed open for 5 s");
    }

    #[tokio::test]
    async fn connections_past_the_cap_wait_for_a_free_one() {
        let options = ServeOptions {
            header_read_timeout: Duration::from_secs(1),
            max_connections: 2,
            ..ServeOptions::default()
        };
        let (addr, _stop, _server) = start(ok(), options).await;
        // Two idle connections take both places.
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A third is not served while they hold them, and is once the timeout frees them.
        let started = Instant::now();
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), third.read_to_string(&mut answer))
            .await
            .expect("the third connection is served once a place is free")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "served at once although both places were taken"
        );
    }
}
