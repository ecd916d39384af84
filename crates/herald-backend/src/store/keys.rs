//! The Redis key layout, written down in `proto/redis-keys.md`. Keys that one script touches
//! together share a Redis Cluster hash tag (`{...}`), so the same scripts run on Redis Cluster.

use herald_core::{ChannelName, MessageId, OccurrenceId, SubscriptionId};

use crate::store::schedule::shard_of;

/// Builds every key under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    /// The schedule's shard count (`scheduler.shards`): a message's keys carry its shard's tag.
    shards: u32,
}

impl Keys {
    pub fn new(prefix: &str, shards: u32) -> Self {
        Self {
            prefix: prefix.to_string(),
            shards: shards.max(1),
        }
    }

    /// The hash tag and name shared by every key of one message: `{s<shard>}:<app>:<messageId>`.
    /// Tagged by the message's schedule shard, so one script can fire or commit a whole batch of
    /// a shard's messages (and its due and lease sets) on Redis Cluster.
    fn message(&self, app: &str, id: MessageId) -> String {
        format!("{{s{}}}:{app}:{id}", shard_of(id, self.shards))
    }

    /// `<p>:status:{s<shard>}:<app>:<messageId>`: hash `s` (status), `k` (delivery kind), `e`
    /// (error message). Keyed by app too, so one app cannot read or cancel another's messages.
    pub fn status(&self, app: &str, id: MessageId) -> String {
        format!("{}:status:{}", self.prefix, self.message(app, id))
    }

    /// `<p>:sched:{s<shard>}:<app>:<messageId>`: hash, the schedule entry of a deferred message.
    /// It shares the status record's hash tag: cancel and fire change both in one script.
    pub fn schedule_entry(&self, app: &str, id: MessageId) -> String {
        format!("{}:sched:{}", self.prefix, self.message(app, id))
    }

    /// `<p>:env:{s<shard>}:<app>:<messageId>`: string, the envelope of a deferred message in its
    /// stored form (`herald_core::stored_envelope`), beside its schedule entry (same hash tag).
    pub fn schedule_envelope(&self, app: &str, id: MessageId) -> String {
        format!("{}:env:{}", self.prefix, self.message(app, id))
    }

    /// `<p>:due:{s<shard>}`: zset, the shard's entries by next due time (ms, Redis clock).
    pub fn due(&self, shard: u32) -> String {
        format!("{}:due:{{s{shard}}}", self.prefix)
    }

    /// `<p>:lease:{s<shard>}`: zset, the shard's claimed entries by lease deadline (ms).
    pub fn lease(&self, shard: u32) -> String {
        format!("{}:lease:{{s{shard}}}", self.prefix)
    }

    /// `<p>:wake`: the pub/sub channel a scheduler announces newly stored entries on, so the others
    /// recompute their sleep.
    pub fn wake(&self) -> String {
        format!("{}:wake", self.prefix)
    }

    /// The keys of one channel's polling inbox, all tagged `{<app>:<channel>}`.
    pub fn inbox(&self, app: &str, channel: &ChannelName) -> InboxKeys {
        InboxKeys {
            base: format!("{}:inbox:{{{app}:{channel}}}", self.prefix),
        }
    }

    /// `<p>:presence:{<app>:<channel>}`: hash, the channel's realtime members: connection id ->
    /// `{"u": userId, "n": node}`. Expires unless a node with members there keeps it.
    pub fn presence(&self, app: &str, channel: &ChannelName) -> String {
        format!("{}:presence:{{{app}:{channel}}}", self.prefix)
    }

    /// `<p>:node:<node>`: string with a TTL, present while the dispatcher node is alive.
    pub fn node(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    /// Every key under the prefix (tests remove their keys with it).
    pub fn pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }
}

/// The keys of one channel's polling inbox.
pub struct InboxKeys {
    base: String,
}

impl InboxKeys {
    /// zset: subscription id -> expiry (ms, Redis clock).
    pub fn subscriptions(&self) -> String {
        format!("{}:subs", self.base)
    }

    /// stream: the channel's buffered messages, field `m` = the message as pollers receive it.
    pub fn buffer(&self) -> String {
        format!("{}:log", self.base)
    }

    /// hash: `cursor` = id of the last buffer entry handed to the subscription.
    pub fn subscription(&self, id: SubscriptionId) -> String {
        format!("{}:sub:{id}", self.base)
    }

    /// string with a TTL: present once the occurrence was buffered (drops redeliveries).
    pub fn delivered(&self, occurrence: OccurrenceId) -> String {
        format!("{}:seen:{occurrence}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        &key[open + 1..close]
    }

    #[test]
    fn the_keys_of_a_message_share_its_shards_tag_with_the_shards_sets() {
        let keys = Keys::new("t1", 16);
        let id = MessageId::new_random();
        let tag = format!("s{}", shard_of(id, 16));
        for key in [
            keys.status("a{pp}", id),
            keys.schedule_entry("a{pp}", id),
            keys.schedule_envelope("a{pp}", id),
            keys.due(shard_of(id, 16)),
            keys.lease(shard_of(id, 16)),
        ] {
            assert_eq!(hash_tag(&key), tag, "{key}");
        }
        assert_ne!(keys.status("a", id), keys.status("b", id));
    }

    #[test]
    fn keys_of_one_channel_share_a_hash_tag() {
        let keys = Keys::new("t1", 16);
        let channel = ChannelName::parse("news").unwrap();
        let inbox = keys.inbox("app", &channel);
        let occurrence = OccurrenceId {
            message_id: MessageId::new_random(),
            occurrence: 0,
        };
        let tags = [
            inbox.subscriptions(),
            inbox.buffer(),
            inbox.subscription(SubscriptionId::new_random()),
            inbox.delivered(occurrence),
        ];
        for key in &tags {
            assert!(key.starts_with("t1:inbox:"), "{key}");
            assert_eq!(hash_tag(key), "app:news", "{key}");
        }
    }
}
