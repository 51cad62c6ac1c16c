//! A TCP proxy on a fixed loopback port that can be taken down and brought back, to cut a
//! process off from another for a while (the storage node from the chain node's API).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// A running (or paused) proxy to one upstream address.
pub struct TcpProxy {
    runtime: Arc<Runtime>,
    listen: SocketAddr,
    upstream: SocketAddr,
    stop: Option<watch::Sender<bool>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start(upstream: SocketAddr) -> Result<Self> {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?,
        );
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let listen = listener.local_addr()?;
        let mut proxy = Self {
            runtime,
            listen,
            upstream,
            stop: None,
        };
        proxy.serve(listener);
        Ok(proxy)
    }

    /// `http://ADDR` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Closes the listening socket and every open connection: clients see connection refused.
    pub fn pause(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }

    /// Listens again on the same port.
    ///
    /// # Errors
    /// When the port cannot be bound again.
    pub fn resume(&mut self) -> Result<()> {
        let listener = self
            .runtime
            .block_on(TcpListener::bind(self.listen))
            .with_context(|| format!("rebinding {}", self.listen))?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop_tx, stop_rx) = watch::channel(false);
        self.stop = Some(stop_tx);
        let upstream = self.upstream;
        self.runtime.spawn(async move {
            let mut accept_stop = stop_rx.clone();
            loop {
                tokio::select! {
                    _ = accept_stop.changed() => return,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let mut conn_stop = stop_rx.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(upstream).await else { return };
                            tokio::select! {
                                _ = conn_stop.changed() => {}
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            }
                        });
                    }
                }
            }
        });
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.pause();
    }
}
