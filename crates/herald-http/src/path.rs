//! Path parameters as the client meant them.

use actix_web::HttpRequest;

/// A path parameter, fully percent-decoded. actix decodes every escape except `%2F`, `%2B` and
/// `%25`, so that a decoded segment can never be mistaken for two; those three are decoded here,
/// in one pass.
pub fn path_param(req: &HttpRequest, name: &str) -> String {
    let raw = req.match_info().get(name).unwrap_or_default();
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or("");
        let decoded = match escape.to_ascii_uppercase().as_str() {
            "%2F" => Some('/'),
            "%2B" => Some('+'),
            "%25" => Some('%'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}
