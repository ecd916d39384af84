//! Tokens already verified, so a client that sends the same token with every request (the SDKs
//! do) pays for its signature once, not per publish. An entry is the whole token string, kept
//! only while the token itself is valid (its `exp` and `nbf` with the leeway, checked at every
//! lookup); a reload builds a new verifier, and with it an empty cache. Bounded: when full it is
//! emptied, which costs the next requests one verification each.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::caller::User;

/// Most tokens remembered per app.
const CAPACITY: usize = 4096;

struct Verified {
    user: User,
    /// Seconds since the epoch: the token is valid from `from` to `until`, both inclusive.
    from: u64,
    until: u64,
}

#[derive(Default)]
pub(crate) struct VerifiedTokens(Mutex<HashMap<String, Verified>>);

impl VerifiedTokens {
    /// The user of `token` if it was verified and is still valid at `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<User> {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(token)?;
        if (entry.from..=entry.until).contains(&now) {
            return Some(entry.user.clone());
        }
        if now > entry.until {
            entries.remove(token);
        }
        None
    }

    /// Remembers that `token` names `user` from `from` to `until`.
    pub(crate) fn insert(&self, token: &str, user: &User, from: u64, until: u64) {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            token.to_string(),
            Verified {
                user: user.clone(),
                from,
                until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u".into(),
            roles: vec![],
        }
    }

    #[test]
    fn a_token_is_remembered_only_while_it_is_valid() {
        let cache = VerifiedTokens::default();
        cache.insert("t", &user(), 100, 200);
        assert_eq!(cache.get("t", 99), None, "not valid yet");
        assert_eq!(cache.get("t", 150), Some(user()));
        assert_eq!(cache.get("t", 200), Some(user()));
        assert_eq!(cache.get("t", 201), None, "expired");
        assert_eq!(cache.get("t", 150), None, "an expired entry is gone");
        assert_eq!(cache.get("other", 150), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = VerifiedTokens::default();
        for n in 0..CAPACITY {
            cache.insert(&n.to_string(), &user(), 0, 10);
        }
        assert!(cache.get("0", 5).is_some());
        cache.insert("one more", &user(), 0, 10);
        assert!(cache.get("0", 5).is_none());
        assert!(cache.get("one more", 5).is_some());
    }
}
