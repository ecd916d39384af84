//! The host a request was sent to, for `/api/...` to find its app: the `Host` header, or the
//! forwarded host (`Forwarded`, `X-Forwarded-Host`) only when the peer is a configured trusted
//! proxy: any client can set those headers.

use actix_web::http::header::HOST;
use actix_web::HttpRequest;
use ipnet::IpNet;

/// The networks whose peers' forwarded headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, req: &HttpRequest) -> bool {
        match req.peer_addr() {
            Some(peer) => self.0.iter().any(|net| net.contains(&peer.ip())),
            None => false,
        }
    }
}

/// The host `req` names.
pub fn request_host(req: &HttpRequest, trusted: Option<&TrustedProxies>) -> Option<String> {
    if trusted.is_some_and(|t| t.trusts(req)) {
        return Some(req.connection_info().host().to_string());
    }
    req.headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap())
            .insert_header((HOST, "herald.example"))
            .insert_header(("X-Forwarded-Host", "spoofed.example"))
            .to_http_request()
    }

    #[test]
    fn a_forwarded_host_counts_only_from_a_trusted_proxy() {
        let trusted = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(
            request_host(&request("10.1.2.3:5000"), Some(&trusted)).as_deref(),
            Some("spoofed.example")
        );
        assert_eq!(
            request_host(&request("192.0.2.7:5000"), Some(&trusted)).as_deref(),
            Some("herald.example")
        );
        assert_eq!(
            request_host(&request("10.1.2.3:5000"), None).as_deref(),
            Some("herald.example")
        );
    }
}
