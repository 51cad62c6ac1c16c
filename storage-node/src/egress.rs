//! The egress policy: where the storage node may send requests.
//!
//! A buyer chooses the delivery endpoint, so a hostile buyer could name an address inside the
//! operator's network (`http://127.0.0.1:8500/…`, `http://10.0.0.5/admin`, the cloud metadata
//! service at `169.254.169.254`). By default only public addresses are reached; the operator can
//! lift this for local use with `--allow-private-egress`.
//!
//! Three places enforce it:
//!
//! - [`EgressPolicy::check_url`] checks a URL before a request: the scheme (`http`/`https`) and,
//!   for an IP literal host, the address (IP literals never reach a resolver).
//! - The [`client`](EgressPolicy::client)'s DNS resolver resolves each name and keeps only the
//!   permitted addresses, so a name that resolves to loopback or a private range
//!   (`localhost`, `metadata.google.internal`, a rebinding name) is never connected to.
//! - Its redirect policy checks every hop the same way, caps the hops at [`MAX_REDIRECTS`], and
//!   refuses 301/302/303, which would turn the delivery's `POST` into a `GET` without its body
//!   (and so make a `2xx` for nothing look like a delivery). 307/308 keep the method and body;
//!   reqwest cannot replay a streamed body, so the fulfiller follows those itself with
//!   [`EgressPolicy::redirect_target`], which applies the same checks.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// The classification of addresses, shared with `consign buy`, which warns a buyer who names an
/// address this policy refuses.
pub use consign_client::ip::{classify, AddressKind};

/// The most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The flag that lifts the policy, named in every refusal.
const ALLOW_FLAG_HINT: &str =
    "private egress is off (start with --allow-private-egress for local use)";

/// An outbound request was refused, or its URL is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    /// An IP literal that is not public.
    #[error("{addr} is {kind}; {ALLOW_FLAG_HINT}")]
    Refused {
        /// The address.
        addr: IpAddr,
        /// Why it is not public.
        kind: AddressKind,
    },
    /// A name that resolves only to addresses that are not public (the first is named).
    #[error("{host} resolves to {addr}, {kind}; {ALLOW_FLAG_HINT}")]
    RefusedName {
        /// The name.
        host: String,
        /// The first refused address it resolved to.
        addr: IpAddr,
        /// Why that address is not public.
        kind: AddressKind,
    },
    /// The name could not be resolved.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The name.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// The name resolved to no address at all.
    #[error("{host} resolves to no address")]
    NoAddress {
        /// The name.
        host: String,
    },
    /// Not a URL.
    #[error("the endpoint `{url}` is not a valid URL: {reason}")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// The parser's error.
        reason: String,
    },
    /// Neither `http` nor `https`.
    #[error("the scheme `{scheme}` is not allowed: deliveries go to http or https URLs only")]
    Scheme {
        /// The scheme.
        scheme: String,
    },
    /// A URL without a host.
    #[error("the URL `{url}` has no host")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// A redirect chain longer than [`MAX_REDIRECTS`].
    #[error("more than {max} redirects; the endpoint must accept the delivery at most {max} redirects away")]
    TooManyRedirects {
        /// The cap.
        max: usize,
    },
    /// A 301, 302 or 303 redirect, which would drop the request body.
    #[error("the endpoint answered {status} (a redirect that would turn the POST into a GET without its body); deliveries follow only 307 and 308 redirects")]
    BodyDroppingRedirect {
        /// The status code.
        status: u16,
    },
    /// A 307/308 without a usable `Location`.
    #[error("the endpoint answered {status} without a valid Location header")]
    BadRedirect {
        /// The status code.
        status: u16,
    },
}

/// What the storage node may connect to. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct EgressPolicy {
    allow_private: bool,
    /// Non-public addresses allowed anyway (tests; an operator's own relay).
    exceptions: Arc<Vec<IpAddr>>,
}

impl EgressPolicy {
    /// Public addresses only, unless `allow_private` (then any address; the scheme rules still
    /// hold).
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            exceptions: Arc::default(),
        }
    }

    /// Also allows the single address `ip`, public or not.
    #[must_use]
    pub fn allow_address(mut self, ip: IpAddr) -> Self {
        Arc::make_mut(&mut self.exceptions).push(ip);
        self
    }

    /// Whether private egress is allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Whether a connection to `ip` is permitted; if not, why.
    ///
    /// # Errors
    ///
    /// The [`AddressKind`] of a refused address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AddressKind> {
        if self.allow_private || self.exceptions.contains(&ip) {
            return Ok(());
        }
        // An IPv4-mapped exception covers its mapped form too.
        if let IpAddr::V6(v6) = ip {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if self.exceptions.contains(&IpAddr::V4(v4)) {
                    return Ok(());
                }
            }
        }
        classify(ip).map_or(Ok(()), Err)
    }

    /// Checks a URL before a request: `http` or `https`, a host, and an IP literal host must be
    /// permitted. Names are checked when they are resolved (by the [`client`](Self::client)).
    ///
    /// # Errors
    ///
    /// [`EgressError::Scheme`], [`EgressError::NoHost`], [`EgressError::Refused`].
    pub fn check_url(&self, url: &Url) -> Result<(), EgressError> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(EgressError::Scheme {
                    scheme: other.to_owned(),
                })
            }
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(EgressError::NoHost {
                url: url.to_string(),
            });
        };
        // The URL parser has normalised every IP literal of an http(s) URL (`0x7f.1`,
        // `2130706433`, …) to dotted IPv4 or bracketed IPv6; anything else is a name.
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let Ok(ip) = literal.unwrap_or(host).parse::<IpAddr>() else {
            return Ok(());
        };
        self.check_ip(ip)
            .map_err(|kind| EgressError::Refused { addr: ip, kind })
    }

    /// Parses an endpoint and [checks](Self::check_url) it.
    ///
    /// # Errors
    ///
    /// [`EgressError::InvalidUrl`] and those of [`check_url`](Self::check_url).
    pub fn parse_endpoint(&self, endpoint: &str) -> Result<Url, EgressError> {
        let url = Url::parse(endpoint).map_err(|e| EgressError::InvalidUrl {
            url: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
        self.check_url(&url)?;
        Ok(url)
    }

    /// The next URL of a 307/308 redirect from `from` with `Location: location`, checked.
    ///
    /// # Errors
    ///
    /// [`EgressError::BadRedirect`] for a missing or unparsable location, and those of
    /// [`check_url`](Self::check_url).
    pub fn redirect_target(
        &self,
        status: u16,
        from: &Url,
        location: Option<&str>,
    ) -> Result<Url, EgressError> {
        let next = location
            .and_then(|location| from.join(location).ok())
            .ok_or(EgressError::BadRedirect { status })?;
        self.check_url(&next)?;
        Ok(next)
    }

    /// An HTTP client that obeys this policy for every name it resolves and every redirect it
    /// follows. IP literals in the first URL are not resolved: [check](Self::check_url) the URL
    /// before each request. No proxy is used (the environment's proxy settings are ignored, so
    /// a proxy cannot reach what the policy refuses). `timeout` bounds each whole request.
    ///
    /// # Errors
    ///
    /// If the TLS backend cannot be initialised.
    pub fn client(&self, timeout: Duration) -> anyhow::Result<reqwest::Client> {
        self.client_with(CONNECT_TIMEOUT, timeout)
    }

    /// [`client`](Self::client) that waits at most `connect` for each TCP (and TLS)
    /// connection.
    ///
    /// # Errors
    ///
    /// If the TLS backend cannot be initialised.
    pub fn client_with(
        &self,
        connect: Duration,
        timeout: Duration,
    ) -> anyhow::Result<reqwest::Client> {
        let redirects = self.clone();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(PolicyResolver {
                policy: self.clone(),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                let status = attempt.status().as_u16();
                if matches!(status, 301..=303) {
                    return attempt.error(EgressError::BodyDroppingRedirect { status });
                }
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(EgressError::TooManyRedirects { max: MAX_REDIRECTS });
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .no_proxy()
            .connect_timeout(connect.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("consign-storage/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(client)
    }
}

/// The agreed shorthand: a [client](EgressPolicy::client) of [`EgressPolicy::new`].
///
/// # Errors
///
/// If the TLS backend cannot be initialised.
pub fn http_client(allow_private: bool, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    EgressPolicy::new(allow_private).client(timeout)
}

/// The agreed shorthand: [`EgressPolicy::check_url`] of [`EgressPolicy::new`].
///
/// # Errors
///
/// As [`EgressPolicy::check_url`].
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), EgressError> {
    EgressPolicy::new(allow_private).check_url(url)
}

/// The system resolver, then the policy: only permitted addresses are returned.
struct PolicyResolver {
    policy: EgressPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| EgressError::Resolve {
                    host: host.clone(),
                    reason: e.to_string(),
                })?;
            let mut permitted: Vec<SocketAddr> = Vec::new();
            let mut refused = None;
            for addr in resolved {
                match policy.check_ip(addr.ip()) {
                    Ok(()) => permitted.push(addr),
                    Err(kind) => {
                        refused.get_or_insert((addr.ip(), kind));
                    }
                }
            }
            if permitted.is_empty() {
                let error = match refused {
                    Some((addr, kind)) => EgressError::RefusedName { host, addr, kind },
                    None => EgressError::NoAddress { host },
                };
                tracing::debug!(target: "storage::egress", %error, "refused");
                return Err(error.into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// A request error as one line for the operator: the [`EgressError`] if the policy refused it,
/// otherwise reqwest's message followed by its causes (`…: tcp connect error: Connection
/// refused (os error 111)`).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = Some(error);
    let mut parts: Vec<String> = Vec::new();
    while let Some(e) = current {
        if let Some(egress) = e.downcast_ref::<EgressError>() {
            return egress.to_string();
        }
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The [`EgressError`] inside a request error, if the policy refused it.
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(egress) = e.downcast_ref::<EgressError>() {
            return Some(egress);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn urls_are_checked_for_scheme_and_ip_literals() {
        let policy = EgressPolicy::new(false);
        let err = policy
            .parse_endpoint("http://127.0.0.1:8080/inbox")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is a loopback address; private egress is off (start with --allow-private-egress for local use)"
        );
        let err = policy
            .parse_endpoint("http://169.254.169.254/latest/meta-data")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("169.254.169.254 is a cloud metadata service address"),
            "{err}"
        );
        // Numeric forms are normalised by the URL parser before the check.
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]:9/",
            "https://10.0.0.1/",
            "http://0.0.0.0/",
        ] {
            let err = policy.parse_endpoint(url).unwrap_err();
            assert!(matches!(err, EgressError::Refused { .. }), "{url}: {err}");
        }
        let err = policy.parse_endpoint("ftp://8.8.8.8/").unwrap_err();
        assert!(matches!(err, EgressError::Scheme { .. }), "{err}");
        let err = policy.parse_endpoint("file:///etc/passwd").unwrap_err();
        assert!(matches!(err, EgressError::Scheme { .. }), "{err}");
        let err = policy.parse_endpoint("not a url").unwrap_err();
        assert!(matches!(err, EgressError::InvalidUrl { .. }), "{err}");

        policy.parse_endpoint("https://8.8.8.8/inbox").unwrap();
        policy
            .parse_endpoint("https://buyer.example/inbox")
            .unwrap();

        let open = EgressPolicy::new(true);
        open.parse_endpoint("http://127.0.0.1:8080/").unwrap();
        assert!(open.parse_endpoint("ftp://127.0.0.1/").is_err());
        check_url(&"http://[fd00::1]/".parse().unwrap(), true).unwrap();
        assert!(check_url(&"http://[fd00::1]/".parse().unwrap(), false).is_err());

        let excepted = EgressPolicy::new(false).allow_address("127.0.0.2".parse().unwrap());
        excepted.parse_endpoint("http://127.0.0.2:1/").unwrap();
        excepted
            .parse_endpoint("http://[::ffff:127.0.0.2]:1/")
            .unwrap();
        assert!(excepted.parse_endpoint("http://127.0.0.1:1/").is_err());
    }

    #[test]
    fn redirect_targets_are_resolved_and_checked() {
        let policy = EgressPolicy::new(false);
        let from: Url = "https://8.8.8.8/a/b".parse().unwrap();
        assert_eq!(
            policy
                .redirect_target(307, &from, Some("c"))
                .unwrap()
                .as_str(),
            "https://8.8.8.8/a/c"
        );
        let err = policy
            .redirect_target(308, &from, Some("http://10.0.0.1/"))
            .unwrap_err();
        assert!(matches!(err, EgressError::Refused { .. }), "{err}");
        let err = policy.redirect_target(307, &from, None).unwrap_err();
        assert!(
            matches!(err, EgressError::BadRedirect { status: 307 }),
            "{err}"
        );
    }

    /// A tiny blocking HTTP server: answers each request with `respond(path)`'s status and
    /// headers. Returns its address.
    fn serve(ip: &str, respond: fn(&str, SocketAddr) -> String) -> SocketAddr {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                    let head = respond(&path, addr);
                    let _ = write!(
                        stream,
                        "{head}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                });
            }
        });
        addr
    }

    fn ok(_: &str, _: SocketAddr) -> String {
        "HTTP/1.1 200 OK".into()
    }

    #[tokio::test]
    async fn the_client_refuses_names_that_resolve_to_loopback() {
        let server = serve("127.0.0.1", ok);
        let client = http_client(false, Duration::from_secs(10)).unwrap();
        let url = format!("http://localhost:{}/inbox", server.port());
        let err = client.get(&url).send().await.unwrap_err();
        let text = describe(&err);
        assert!(
            text.starts_with("localhost resolves to 127.0.0.1, a loopback address")
                || text.starts_with("localhost resolves to ::1, a loopback address"),
            "{text}"
        );
        assert!(text.contains("--allow-private-egress"), "{text}");
        assert!(matches!(
            refusal(&err),
            Some(EgressError::RefusedName { .. })
        ));

        // Allowed, the same request goes through.
        let open = http_client(true, Duration::from_secs(10)).unwrap();
        let response = open.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked() {
        // The refused target: an ordinary server on 127.0.0.1.
        let target = serve("127.0.0.1", ok);
        // The allowed server, on 127.0.0.2 (excepted), redirecting to it in various ways.
        let origin = serve("127.0.0.2", |path, me| {
            let target_port: u16 = path
                .rsplit('/')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            match path.split('/').nth(1).unwrap_or("") {
                "ok" => "HTTP/1.1 200 OK".into(),
                "literal" => format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{target_port}/"
                ),
                "name" => format!(
                    "HTTP/1.1 308 Permanent Redirect\r\nlocation: http://localhost:{target_port}/"
                ),
                "found" => format!("HTTP/1.1 302 Found\r\nlocation: http://{me}/ok"),
                "loop" => format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{me}/loop"),
                "hop" => format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{me}/ok"),
                _ => "HTTP/1.1 404 Not Found".into(),
            }
        });
        let policy = EgressPolicy::new(false).allow_address(origin.ip());
        let client = policy.client(Duration::from_secs(10)).unwrap();
        let port = target.port();

        let response = client
            .get(format!("http://{origin}/hop"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "an allowed hop is followed");

        let err = client
            .get(format!("http://{origin}/literal/{port}"))
            .send()
            .await
            .unwrap_err();
        assert!(
            describe(&err).starts_with("127.0.0.1 is a loopback address"),
            "{}",
            describe(&err)
        );

        let err = client
            .get(format!("http://{origin}/name/{port}"))
            .send()
            .await
            .unwrap_err();
        assert!(
            describe(&err).starts_with("localhost resolves to"),
            "{}",
            describe(&err)
        );

        let err = client
            .get(format!("http://{origin}/found"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                refusal(&err),
                Some(EgressError::BodyDroppingRedirect { status: 302 })
            ),
            "{}",
            describe(&err)
        );

        let err = client
            .get(format!("http://{origin}/loop"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(refusal(&err), Some(EgressError::TooManyRedirects { .. })),
            "{}",
            describe(&err)
        );
    }

    #[tokio::test]
    async fn transport_errors_are_described_with_their_cause() {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = http_client(true, Duration::from_secs(5)).unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let text = describe(&err);
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(refusal(&err).is_none());
    }
}
