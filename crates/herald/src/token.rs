//! `herald token`: a user token for an app without an identity provider, signed with the app's
//! first HS256 secret (`tokens.secrets`), as any JWT library can mint it (docs/security.md).

use std::time::Duration;

use crate::config::Config;

/// The token of `user` with `roles` for `app`, valid for `ttl`.
pub fn mint(
    config: &Config,
    app: &str,
    user: &str,
    roles: &[String],
    ttl: Duration,
) -> Result<String, String> {
    let app = config
        .apps
        .iter()
        .find(|candidate| candidate.id.eq_ignore_ascii_case(app))
        .ok_or_else(|| format!("no app {app} is configured"))?;
    if user.is_empty() {
        return Err("the user id must not be empty".into());
    }
    herald_auth::mint::mint(&app.tokens, user, roles, ttl)
        .map_err(|err| format!("app {}: {err}", app.id))
}

/// A duration as `90`, `90s`, `15m`, `12h` or `30d`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: use a number of seconds, or one with s, m, h or d"
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 12h"))?;
    match n.checked_mul(scale) {
        Some(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "{text:?}: a token must live between 1 second and {} days",
            u64::MAX / 86_400
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_with_their_unit() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(2_592_000)));
        for bad in ["", "0", "h", "1w", "-5s", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }
}
