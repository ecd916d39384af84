//! An app's messaging permissions and how they decide, as Backendless does (reference §6): three
//! levels from the most specific, the user on the channel, then the caller's roles on the
//! channel, then the roles' global permissions. The first level that decides wins; within one
//! level a DENY beats a GRANT; no grant anywhere means denied. An app with no permissions
//! configured grants everything.
//!
//! Everything is indexed when the app is built, so a decision is a few hash lookups (and a glob
//! match per channel pattern), with no allocation.

use globset::{Glob, GlobMatcher};
use std::collections::HashMap;

use crate::caller::Caller;
pub use crate::operation::{Operation, Operations};
use crate::settings::PermissionConfig;

/// What one level says of an operation.
#[derive(Debug, Clone, Copy, Default)]
struct Rule {
    grant: Operations,
    deny: Operations,
}

impl Rule {
    fn merge(&mut self, other: Rule) {
        self.grant = self.grant.union(other.grant);
        self.deny = self.deny.union(other.deny);
    }

    fn verdict(self, op: Operation) -> Option<bool> {
        if self.deny.contains(op) {
            Some(false)
        } else if self.grant.contains(op) {
            Some(true)
        } else {
            None
        }
    }
}

/// The rules of the channels one name or pattern covers.
#[derive(Debug, Default)]
struct ChannelRules {
    users: HashMap<String, Rule>,
    roles: HashMap<String, Rule>,
}

/// An app's permissions, indexed.
#[derive(Debug, Default)]
pub struct Permissions {
    /// No permission configured: everything is granted.
    open: bool,
    global: HashMap<String, Rule>,
    exact: HashMap<String, ChannelRules>,
    patterns: Vec<(GlobMatcher, ChannelRules)>,
}

impl Permissions {
    /// Everything granted to everyone.
    pub fn open() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// Indexes `configs`; an entry that names no one, both a role and a user, a user without a
    /// channel, a bad pattern or no operation is refused, with the index of the entry.
    pub fn build(configs: &[PermissionConfig]) -> Result<Self, String> {
        if configs.is_empty() {
            return Ok(Self::open());
        }
        let mut permissions = Self::default();
        for (index, config) in configs.iter().enumerate() {
            permissions
                .add(config)
                .map_err(|reason| format!("permissions[{index}]: {reason}"))?;
        }
        Ok(permissions)
    }

    fn add(&mut self, config: &PermissionConfig) -> Result<(), String> {
        let rule = Rule {
            grant: config.grant,
            deny: config.deny,
        };
        if rule.grant.is_empty() && rule.deny.is_empty() {
            return Err("grants and denies nothing: list operations in grant or deny".into());
        }
        let channel_rules = match &config.channel {
            None => {
                let role =
                    match (&config.role, &config.user) {
                        (Some(role), None) => role,
                        (None, Some(_)) => return Err(
                            "a user's permission needs a channel: global permissions are per role"
                                .into(),
                        ),
                        _ => return Err("name exactly one of role or user".into()),
                    };
                self.global.entry(role.clone()).or_default().merge(rule);
                return Ok(());
            }
            Some(channel) => self.channel_rules(channel)?,
        };
        let (map, name) = match (&config.role, &config.user) {
            (Some(role), None) => (&mut channel_rules.roles, role),
            (None, Some(user)) => (&mut channel_rules.users, user),
            _ => return Err("name exactly one of role or user".into()),
        };
        map.entry(name.clone()).or_default().merge(rule);
        Ok(())
    }

    /// The rules of `channel`, a name or a glob pattern.
    fn channel_rules(&mut self, channel: &str) -> Result<&mut ChannelRules, String> {
        if channel.is_empty() {
            return Err("the channel is empty".into());
        }
        if !channel.contains(['*', '?', '[', '{']) {
            return Ok(self.exact.entry(channel.to_string()).or_default());
        }
        let matcher = Glob::new(channel)
            .map_err(|err| format!("channel pattern {channel:?}: {err}"))?
            .compile_matcher();
        let at = match self
            .patterns
            .iter()
            .position(|(known, _)| known.glob().glob() == channel)
        {
            Some(at) => at,
            None => {
                self.patterns.push((matcher, ChannelRules::default()));
                self.patterns.len() - 1
            }
        };
        Ok(&mut self.patterns[at].1)
    }

    /// Whether `caller` may do `op` on `channel`.
    pub fn allows(&self, caller: &Caller, op: Operation, channel: &str) -> bool {
        if self.open {
            return true;
        }
        let on_channel = || {
            self.exact.get(channel).into_iter().chain(
                self.patterns
                    .iter()
                    .filter(|(matcher, _)| matcher.is_match(channel))
                    .map(|(_, rules)| rules),
            )
        };
        if let Some(user) = caller.user_id() {
            let mut level = Rule::default();
            for rules in on_channel() {
                if let Some(rule) = rules.users.get(user) {
                    level.merge(*rule);
                }
            }
            if let Some(verdict) = level.verdict(op) {
                return verdict;
            }
        }
        let mut level = Rule::default();
        for rules in on_channel() {
            for role in caller.roles() {
                if let Some(rule) = rules.roles.get(role) {
                    level.merge(*rule);
                }
            }
        }
        if let Some(verdict) = level.verdict(op) {
            return verdict;
        }
        let mut level = Rule::default();
        for role in caller.roles() {
            if let Some(rule) = self.global.get(role) {
                level.merge(*rule);
            }
        }
        level.verdict(op).unwrap_or(false)
    }

    /// Whether everything is granted (no permission configured).
    pub fn is_open(&self) -> bool {
        self.open
    }
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;
