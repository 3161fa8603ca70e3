//! DNS-rebinding and cross-site protection: only requests whose `Host` names an allowed
//! host, and whose `Origin` (when sent) is the server's own origin or a configured one,
//! reach the server.
//!
//! An `Origin` passes when it is listed in [`HostPolicy::allowed_origins`], or when it
//! names an allowed host *on the server's own port*. Any other port is another site:
//! a page served by some other program on `http://localhost:3000` must not be able to
//! drive the server on `localhost:8210`.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Why [`HostPolicy::check`] refused a request; the message names the header and the
/// setting that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `Host` is not ASCII.
    #[error("Host header is not valid ASCII")]
    HostNotAscii,
    /// `Host` names a host that is not allowed.
    #[error("Host {0:?} is not allowed (DNS rebinding protection)")]
    HostNotAllowed(String),
    /// `Origin` is not ASCII.
    #[error("Origin header is not valid ASCII")]
    OriginNotAscii,
    /// `Origin` is another site.
    #[error(
        "Origin {origin:?} is not allowed: only this server's own origin (an allowed host{on}) \
         and the configured allowed origins (MCPD_ALLOWED_ORIGINS) may call it (cross-site \
         request protection)",
        on = port.map_or_else(String::new, |p| format!(" on port {p}"))
    )]
    OriginNotAllowed {
        /// The refused origin.
        origin: String,
        /// The server's port, when known.
        port: Option<u16>,
    },
}

/// Which hosts and origins may talk to the server.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// Host names (without port) accepted in `Host` and, on the server's own port, in
    /// `Origin`.
    pub allowed_hosts: Vec<String>,
    /// Full origins (`scheme://host[:port]`) accepted in addition, e.g. a proxy's public
    /// origin.
    pub allowed_origins: Vec<String>,
}

impl Default for HostPolicy {
    fn default() -> Self {
        Self::loopback()
    }
}

impl HostPolicy {
    /// Loopback names only: the safe default for a server bound to 127.0.0.1.
    pub fn loopback() -> Self {
        Self {
            allowed_hosts: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "[::1]".into(),
                "::1".into(),
            ],
            allowed_origins: Vec::new(),
        }
    }

    /// Adds extra allowed host names (e.g. when serving behind a proxy).
    #[must_use]
    pub fn with_hosts(mut self, hosts: impl IntoIterator<Item = String>) -> Self {
        self.allowed_hosts.extend(hosts);
        self
    }

    /// Adds extra allowed origins (`scheme://host[:port]`, compared without case).
    #[must_use]
    pub fn with_origins(mut self, origins: impl IntoIterator<Item = String>) -> Self {
        self.allowed_origins.extend(origins);
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).0;
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Checks a request's headers; the error says which header was refused.
    /// `own_port` is the port the server listens on; when unknown, the port of the
    /// request's `Host` stands in for it.
    pub fn check(&self, headers: &HeaderMap, own_port: Option<u16>) -> Result<(), Refusal> {
        let mut host_port = None;
        if let Some(host) = headers.get(HOST) {
            let host = host.to_str().map_err(|_| Refusal::HostNotAscii)?;
            if !self.host_allowed(host) {
                return Err(Refusal::HostNotAllowed(host.to_owned()));
            }
            host_port = Some(strip_port(host).1.unwrap_or(80));
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin.to_str().map_err(|_| Refusal::OriginNotAscii)?;
            let port = own_port.or(host_port);
            if origin == "null" || !self.origin_allowed(origin, port) {
                return Err(Refusal::OriginNotAllowed {
                    origin: origin.to_owned(),
                    port,
                });
            }
        }
        Ok(())
    }

    fn origin_allowed(&self, origin: &str, own_port: Option<u16>) -> bool {
        if self
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return false,
        };
        if rest.contains('/') || !self.host_allowed(rest) {
            return false;
        }
        let port = strip_port(rest).1.unwrap_or(default_port);
        own_port == Some(port)
    }
}

/// Splits a `:port` suffix off, keeping bracketed IPv6 literals intact; the port is
/// `None` when absent or not a number.
fn strip_port(host: &str) -> (&str, Option<u16>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => (
                &host[..=end],
                host[end + 1..]
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok()),
            ),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            (name, port.parse().ok())
        }
        _ => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = host {
            h.insert(HOST, HeaderValue::from_str(v).unwrap());
        }
        if let Some(v) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_names_pass_and_others_fail() {
        let p = HostPolicy::loopback();
        let own = Some(8210);
        assert!(p.check(&headers(Some("127.0.0.1:8210"), None), own).is_ok());
        assert!(
            p.check(
                &headers(Some("localhost:8210"), Some("http://localhost:8210")),
                own
            )
            .is_ok()
        );
        assert!(p.check(&headers(Some("[::1]:8210"), None), own).is_ok());
        assert!(
            p.check(&headers(Some("[::1]:8210"), Some("http://[::1]:8210")), own)
                .is_ok()
        );
        let err = p
            .check(&headers(Some("evil.example:8210"), None), own)
            .unwrap_err();
        assert_eq!(err, Refusal::HostNotAllowed("evil.example:8210".into()));
        let err = p
            .check(
                &headers(Some("localhost:8210"), Some("http://evil.example")),
                own,
            )
            .unwrap_err();
        assert_eq!(
            err,
            Refusal::OriginNotAllowed {
                origin: "http://evil.example".into(),
                port: Some(8210)
            }
        );
        assert!(err.to_string().contains("MCPD_ALLOWED_ORIGINS"), "{err}");
        assert!(
            p.check(&headers(Some("localhost"), Some("null")), own)
                .is_err()
        );
        assert!(
            p.check(
                &headers(Some("localhost"), Some("http://localhost.evil.example")),
                own
            )
            .is_err()
        );
    }

    #[test]
    fn loopback_origins_on_another_port_are_other_sites() {
        let p = HostPolicy::loopback();
        let other = headers(Some("localhost:8210"), Some("http://localhost:3000"));
        let err = p.check(&other, Some(8210)).unwrap_err().to_string();
        assert!(
            err.contains("\"http://localhost:3000\"") && err.contains("port 8210"),
            "{err}"
        );
        // Without a known listening port the Host's port decides.
        assert!(p.check(&other, None).is_err());
        let same = headers(Some("localhost:8210"), Some("http://localhost:8210"));
        assert!(p.check(&same, None).is_ok());
        // An origin without a port means the scheme's default port.
        let bare = headers(Some("localhost"), Some("http://localhost"));
        assert!(p.check(&bare, Some(80)).is_ok());
        assert!(p.check(&bare, Some(8210)).is_err());
        // Configured origins pass whatever their port.
        let p = p.with_origins(["http://localhost:3000".to_string()]);
        assert!(p.check(&other, Some(8210)).is_ok());
    }
}
