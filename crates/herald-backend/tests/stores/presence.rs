//! The presence store's contract: members joined to a channel through any node are listed, once
//! each, until they leave; a node's heartbeat keeps its records. On Redis, a node whose
//! heartbeat stops drops out of listings and one sweep hands its members to one caller; in
//! memory there is one node, always alive, so that case is Redis's alone.

use herald_backend::store::presence::PresenceStore;
use herald_core::presence::Member;
use herald_core::ChannelName;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{eventually, ms, Backend, Settings, Stores, APP};

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).expect("a valid channel name")
}

fn member(connection: &str, user: Option<&str>) -> Member {
    Member {
        connection_id: connection.to_string(),
        user_id: user.map(str::to_string),
    }
}

async fn join(presence: &dyn PresenceStore, app: &str, on: &str, member: &Member) {
    presence
        .join(app, &channel(on), member)
        .await
        .expect("join answers");
}

async fn leave(stores: &Stores, on: &str, connection: &str) -> bool {
    stores
        .presence
        .leave(APP, &channel(on), connection)
        .await
        .expect("leave answers")
}

/// The members of a channel, by connection id (the store promises no order).
async fn members_in(presence: &dyn PresenceStore, app: &str, on: &str) -> Vec<Member> {
    let mut members = presence
        .members(app, &channel(on))
        .await
        .expect("members answers");
    members.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    members
}

async fn members(stores: &Stores, on: &str) -> Vec<Member> {
    members_in(stores.presence.as_ref(), APP, on).await
}

on_both_backends!(Settings::default() =>
    joined_members_are_listed_until_they_leave,
    joining_again_updates_the_members_record,
    channels_and_apps_are_listed_apart,
    members_joined_through_every_node_are_listed,
);

on_both_backends!(Settings { presence_ttl: ms(1_000), ..Settings::default() } =>
    heartbeats_keep_a_nodes_records_past_their_ttl,
);

async fn joined_members_are_listed_until_they_leave(stores: &Stores) {
    let (one, two) = (member("c1", None), member("c2", Some("u2")));
    join(stores.presence.as_ref(), APP, "news", &one).await;
    join(stores.presence.as_ref(), APP, "news", &two).await;
    assert_eq!(members(stores, "news").await, [one.clone(), two.clone()]);
    assert!(leave(stores, "news", "c1").await);
    assert!(!leave(stores, "news", "c1").await);
    assert!(!leave(stores, "news", "c9").await);
    assert_eq!(members(stores, "news").await, [two]);
    assert!(leave(stores, "news", "c2").await);
    assert_eq!(members(stores, "news").await, []);
}

async fn joining_again_updates_the_members_record(stores: &Stores) {
    join(stores.presence.as_ref(), APP, "news", &member("c1", None)).await;
    let identified = member("c1", Some("u1"));
    join(stores.presence.as_ref(), APP, "news", &identified).await;
    assert_eq!(members(stores, "news").await, [identified]);
}

async fn channels_and_apps_are_listed_apart(stores: &Stores) {
    let presence = stores.presence.as_ref();
    let (news, sport, other) = (member("c1", None), member("c2", None), member("c3", None));
    join(presence, APP, "news", &news).await;
    join(presence, APP, "sport", &sport).await;
    join(presence, "other-app", "news", &other).await;
    assert_eq!(members(stores, "news").await, [news]);
    assert_eq!(members(stores, "sport").await, [sport]);
    assert_eq!(members_in(presence, "other-app", "news").await, [other]);
    assert!(!leave(stores, "news", "c2").await);
    assert_eq!(members(stores, "sport").await.len(), 1);
}

async fn members_joined_through_every_node_are_listed(stores: &Stores) {
    let (here, there) = (member("c1", None), member("c2", Some("u2")));
    join(stores.presence.as_ref(), APP, "news", &here).await;
    join(stores.presence_elsewhere.as_ref(), APP, "news", &there).await;
    let everyone = [here, there];
    assert_eq!(members(stores, "news").await, everyone);
    assert_eq!(
        members_in(stores.presence_elsewhere.as_ref(), APP, "news").await,
        everyone
    );
    // Both nodes are alive: a sweep finds nobody to remove.
    let swept = stores.presence.sweep(APP, &channel("news")).await.unwrap();
    assert_eq!(swept, []);
}

async fn heartbeats_keep_a_nodes_records_past_their_ttl(stores: &Stores) {
    let joined = member("c1", None);
    join(stores.presence.as_ref(), APP, "news", &joined).await;
    let channels = [(APP.to_string(), channel("news"))];
    let ttl = stores.settings.presence_ttl;
    // Beats a fifth of the TTL apart (a loaded machine may be late by most of the rest), for
    // twice the TTL.
    for _ in 0..10 {
        tokio::time::sleep(ttl / 5).await;
        stores.presence.heartbeat(&channels).await.unwrap();
    }
    assert_eq!(members(stores, "news").await, [joined]);
    assert_eq!(
        stores.presence.sweep(APP, &channel("news")).await.unwrap(),
        []
    );
    if let Some(redis) = stores.redis() {
        let pttl = redis
            .pttl(&redis.keys.presence(APP, &channel("news")))
            .await;
        assert!((1..=1_000).contains(&pttl), "PTTL {pttl}");
    }
}

/// Redis only: memory presence has one node, which is this process and always alive.
mod a_node_whose_heartbeat_stops_drops_out_and_is_swept_once {
    use super::*;

    #[tokio::test]
    async fn on_redis() {
        let settings = Settings {
            presence_ttl: ms(300),
            ..Settings::default()
        };
        let stores = Stores::build(Backend::Redis, settings).await;
        let (alive, dead) = (member("c1", None), member("c2", None));
        join(stores.presence.as_ref(), APP, "news", &alive).await;
        join(stores.presence_elsewhere.as_ref(), APP, "news", &dead).await;
        let channels = [(APP.to_string(), channel("news"))];
        // Only this node beats from here on; the other is gone.
        eventually(Duration::from_secs(10), "the silent node drops out", || {
            let (stores, channels) = (&stores, &channels);
            async move {
                stores.presence.heartbeat(channels).await.unwrap();
                members(stores, "news").await == [member("c1", None)]
            }
        })
        .await;
        let swept = stores.presence.sweep(APP, &channel("news")).await.unwrap();
        assert_eq!(swept, [dead]);
        let again = stores.presence_elsewhere.sweep(APP, &channel("news")).await;
        assert_eq!(again.unwrap(), []);
        assert!(!leave(&stores, "news", "c2").await);
        assert_eq!(members(&stores, "news").await, [alive]);

        // Without any heartbeat the channel's record itself expires.
        let redis = stores.redis().expect("built on redis");
        let key = redis.keys.presence(APP, &channel("news"));
        eventually(
            Duration::from_secs(10),
            "the channel record expires",
            || {
                let key = &key;
                async move { redis.pttl(key).await == -2 }
            },
        )
        .await;
    }
}
