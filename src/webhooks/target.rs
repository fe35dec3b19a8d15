//! Where a webhook may be sent: an http(s) URL whose host resolves to
//! public addresses only (no loopback, private, link-local or other
//! internal ones unless `VINPATH_WEBHOOK_ALLOW_PRIVATE`). Checked when the
//! endpoint is made and again at every attempt, and the attempt connects
//! to the address checked, so a name that changes its answer in between
//! (DNS rebinding) cannot reach inside.

use std::net::{IpAddr, SocketAddr};

use http::Uri;

/// Why a URL may not be a webhook's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the url must be an absolute http:// or https:// URL")]
    Scheme,
    #[error("the url's host does not resolve")]
    Unresolvable,
    #[error("the url's host is on a private, loopback or internal address")]
    Private,
}

/// Addresses inside a network, never a webhook's unless allowed.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                // 100.64.0.0/10, carrier-grade NAT.
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Checks a URL's form: http(s), with a host.
pub fn parse(url: &str) -> Result<Uri, TargetError> {
    let uri: Uri = url.parse().map_err(|_| TargetError::Scheme)?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        _ => Err(TargetError::Scheme),
    }
}

/// The address to connect to for `url`: the first its host resolves to,
/// refused if any is internal (unless allowed).
pub async fn resolve(url: &str, allow_private: bool) -> Result<SocketAddr, TargetError> {
    let uri = parse(url)?;
    let host = uri
        .host()
        .ok_or(TargetError::Scheme)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| TargetError::Unresolvable)?
        .collect();
    let first = *addrs.first().ok_or(TargetError::Unresolvable)?;
    if !allow_private && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(TargetError::Private);
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "203.0.114.1", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_http_and_https() {
        assert!(parse("https://example.com/hook").is_ok());
        assert_eq!(parse("ftp://example.com/x"), Err(TargetError::Scheme));
        assert_eq!(parse("/relative"), Err(TargetError::Scheme));
        assert_eq!(parse("not a url"), Err(TargetError::Scheme));
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        assert_eq!(
            resolve("http://127.0.0.1:9/x", false).await,
            Err(TargetError::Private)
        );
        assert!(resolve("http://127.0.0.1:9/x", true).await.is_ok());
        assert_eq!(
            resolve("http://localhost:9/x", false).await,
            Err(TargetError::Private)
        );
        assert_eq!(
            resolve("http://no-such-host.invalid/x", true).await,
            Err(TargetError::Unresolvable)
        );
    }
}
