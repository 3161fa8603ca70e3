//! DNS-rebinding protection: only requests whose `Host` (and `Origin`, when sent) name
//! an allowed host reach the server.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Which hosts and origins may talk to the server.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// Host names (without port) accepted in `Host` and `Origin`.
    pub allowed_hosts: Vec<String>,
    /// Full origins (`scheme://host[:port]`) accepted in addition.
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

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host);
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Checks a request's headers; the error says which header was refused.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        if let Some(host) = headers.get(HOST) {
            let host = host
                .to_str()
                .map_err(|_| "Host header is not valid ASCII".to_string())?;
            if !self.host_allowed(host) {
                return Err(format!(
                    "Host {host:?} is not allowed (DNS rebinding protection)"
                ));
            }
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin
                .to_str()
                .map_err(|_| "Origin header is not valid ASCII".to_string())?;
            if origin == "null" || !self.origin_allowed(origin) {
                return Err(format!(
                    "Origin {origin:?} is not allowed (DNS rebinding protection)"
                ));
            }
        }
        Ok(())
    }

    fn origin_allowed(&self, origin: &str) -> bool {
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
        if !matches!(scheme, "http" | "https") || rest.contains('/') {
            return false;
        }
        self.host_allowed(rest)
    }
}

/// Removes a `:port` suffix, keeping bracketed IPv6 literals intact.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
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
        assert!(p.check(&headers(Some("127.0.0.1:8210"), None)).is_ok());
        assert!(
            p.check(&headers(Some("localhost"), Some("http://localhost:3000")))
                .is_ok()
        );
        assert!(p.check(&headers(Some("[::1]:8210"), None)).is_ok());
        let err = p
            .check(&headers(Some("evil.example:8210"), None))
            .unwrap_err();
        assert!(err.contains("Host"), "{err}");
        let err = p
            .check(&headers(
                Some("localhost:8210"),
                Some("http://evil.example"),
            ))
            .unwrap_err();
        assert!(err.contains("Origin"), "{err}");
        assert!(p.check(&headers(Some("localhost"), Some("null"))).is_err());
        assert!(
            p.check(&headers(
                Some("localhost"),
                Some("http://localhost.evil.example")
            ))
            .is_err()
        );
    }
}
