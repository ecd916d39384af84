//! The inbox store's contract: a polling subscription receives, oldest first and each once, the
//! messages delivered to its channel after it subscribed (those its selector selects), at most
//! the newest `cap` of them and none older than the window; a redelivered occurrence is buffered
//! once; a subscription not polled within its TTL expires.

use herald_backend::store::inbox::{Delivered, InboxSettings, Polled};
use herald_core::{ChannelName, MessageId, OccurrenceId, Selector, SubscriptionId};

use crate::on_both_backends;
use crate::support::{let_pass, ms, Settings, Stores, APP};

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).expect("a valid channel name")
}

/// A message as the dispatcher renders it for pollers, with header `n`.
fn message(n: u32) -> String {
    format!(r#"{{"messageId":"m{n}","data":{n},"headers":{{"n":"{n}"}}}}"#)
}

fn occurrence() -> OccurrenceId {
    OccurrenceId {
        message_id: MessageId::new_random(),
        occurrence: 0,
    }
}

async fn subscribe(stores: &Stores, on: &str) -> SubscriptionId {
    stores
        .inboxes
        .subscribe(APP, &channel(on), None)
        .await
        .expect("subscribe answers")
}

async fn deliver_as(stores: &Stores, on: &str, occurrence: OccurrenceId, n: u32) -> Delivered {
    let json = message(n);
    stores
        .inboxes
        .deliver(
            APP,
            &channel(on),
            Polled {
                occurrence,
                json: &json,
            },
        )
        .await
        .expect("deliver answers")
}

async fn deliver(stores: &Stores, on: &str, n: u32) -> Delivered {
    deliver_as(stores, on, occurrence(), n).await
}

async fn poll(stores: &Stores, on: &str, id: SubscriptionId) -> Option<Vec<String>> {
    stores
        .inboxes
        .poll(APP, &channel(on), id)
        .await
        .expect("poll answers")
}

fn messages(ns: &[u32]) -> Option<Vec<String>> {
    Some(ns.iter().map(|n| message(*n)).collect())
}

fn with(change: impl FnOnce(&mut InboxSettings)) -> Settings {
    let mut settings = Settings::default();
    change(&mut settings.inbox);
    settings
}

on_both_backends!(Settings::default() =>
    a_subscription_receives_what_is_delivered_after_it_in_order_and_once,
    each_subscription_has_its_own_cursor,
    a_redelivered_occurrence_is_buffered_once,
    nothing_is_written_for_a_channel_without_subscribers,
    an_unknown_subscription_has_no_inbox,
    a_selector_hands_out_only_the_messages_it_selects,
);

on_both_backends!(with(|s| s.cap = 3) =>
    a_subscription_that_falls_behind_receives_the_newest_cap,
);

on_both_backends!(with(|s| s.window = ms(300)) =>
    messages_older_than_the_window_are_not_handed_out,
);

on_both_backends!(with(|s| s.subscription_ttl = ms(300)) =>
    a_subscription_not_polled_within_its_ttl_expires,
);

on_both_backends!(with(|s| s.dedup_window = ms(300)) =>
    a_redelivery_after_the_dedup_window_is_buffered_again,
);

on_both_backends!(with(|s| {
    s.window = ms(300);
    s.subscription_ttl = ms(300);
}) =>
    a_redelivery_is_dropped_for_the_dedup_window_even_after_the_channel_went_quiet,
);

on_both_backends!(with(|s| s.subscription_ttl = ms(1_000)) =>
    polling_keeps_a_subscription_alive,
);

async fn a_subscription_receives_what_is_delivered_after_it_in_order_and_once(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    for n in 1..=3 {
        assert_eq!(deliver(stores, "news", n).await, Delivered::Buffered(1));
    }
    assert_eq!(poll(stores, "news", id).await, messages(&[1, 2, 3]));
    assert_eq!(poll(stores, "news", id).await, messages(&[]));
    deliver(stores, "news", 4).await;
    assert_eq!(poll(stores, "news", id).await, messages(&[4]));
}

async fn each_subscription_has_its_own_cursor(stores: &Stores) {
    let early = subscribe(stores, "news").await;
    let also = subscribe(stores, "news").await;
    assert_eq!(deliver(stores, "news", 1).await, Delivered::Buffered(2));
    assert_eq!(poll(stores, "news", early).await, messages(&[1]));
    let late = subscribe(stores, "news").await;
    assert_eq!(deliver(stores, "news", 2).await, Delivered::Buffered(3));
    assert_eq!(poll(stores, "news", early).await, messages(&[2]));
    assert_eq!(poll(stores, "news", also).await, messages(&[1, 2]));
    assert_eq!(poll(stores, "news", late).await, messages(&[2]));
}

async fn a_redelivered_occurrence_is_buffered_once(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    let first = occurrence();
    let next = OccurrenceId {
        occurrence: 1,
        ..first
    };
    assert_eq!(
        deliver_as(stores, "news", first, 1).await,
        Delivered::Buffered(1)
    );
    assert_eq!(
        deliver_as(stores, "news", first, 1).await,
        Delivered::Duplicate
    );
    assert_eq!(
        deliver_as(stores, "news", next, 2).await,
        Delivered::Buffered(1)
    );
    assert_eq!(
        deliver_as(stores, "news", first, 1).await,
        Delivered::Duplicate
    );
    assert_eq!(poll(stores, "news", id).await, messages(&[1, 2]));
}

async fn nothing_is_written_for_a_channel_without_subscribers(stores: &Stores) {
    let first = occurrence();
    assert_eq!(
        deliver_as(stores, "news", first, 1).await,
        Delivered::NoSubscribers
    );
    if let Some(redis) = stores.redis() {
        assert_eq!(redis.existing_keys(), Vec::<String>::new());
    }
    let id = subscribe(stores, "news").await;
    assert_eq!(poll(stores, "news", id).await, messages(&[]));
    // No marker was written either: the occurrence is deliverable now there is a subscriber.
    assert_eq!(
        deliver_as(stores, "news", first, 1).await,
        Delivered::Buffered(1)
    );
    assert_eq!(poll(stores, "news", id).await, messages(&[1]));
}

async fn an_unknown_subscription_has_no_inbox(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    assert_eq!(
        poll(stores, "news", SubscriptionId::new_random()).await,
        None
    );
    assert_eq!(poll(stores, "sport", id).await, None);
    let elsewhere = stores.inboxes.poll("other-app", &channel("news"), id).await;
    assert_eq!(elsewhere.unwrap(), None);
    assert_eq!(poll(stores, "news", id).await, messages(&[]));
}

async fn a_selector_hands_out_only_the_messages_it_selects(stores: &Stores) {
    let selector = Selector::parse("n > 1").expect("a valid selector");
    let selective = stores
        .inboxes
        .subscribe(APP, &channel("news"), Some(&selector))
        .await
        .unwrap();
    let everything = subscribe(stores, "news").await;
    for n in 1..=3 {
        assert_eq!(deliver(stores, "news", n).await, Delivered::Buffered(2));
    }
    assert_eq!(poll(stores, "news", selective).await, messages(&[2, 3]));
    assert_eq!(poll(stores, "news", everything).await, messages(&[1, 2, 3]));
    // The messages it passed over do not come back.
    deliver(stores, "news", 0).await;
    assert_eq!(poll(stores, "news", selective).await, messages(&[]));
}

async fn a_subscription_that_falls_behind_receives_the_newest_cap(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    for n in 1..=5 {
        assert_eq!(deliver(stores, "news", n).await, Delivered::Buffered(1));
    }
    assert_eq!(poll(stores, "news", id).await, messages(&[3, 4, 5]));
    for n in 6..=7 {
        deliver(stores, "news", n).await;
    }
    assert_eq!(poll(stores, "news", id).await, messages(&[6, 7]));
}

async fn messages_older_than_the_window_are_not_handed_out(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    deliver(stores, "news", 1).await;
    if let Some(redis) = stores.redis() {
        let buffer = redis.keys.inbox(APP, &channel("news")).buffer();
        let pttl = redis.pttl(&buffer).await;
        assert!(
            (1..=600).contains(&pttl),
            "the buffer lasts two windows: PTTL {pttl}"
        );
    }
    // Watching the message age out would hand it out.
    let_pass(stores.settings.inbox.window).await;
    deliver(stores, "news", 2).await;
    assert_eq!(poll(stores, "news", id).await, messages(&[2]));
}

async fn a_subscription_not_polled_within_its_ttl_expires(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    // Watching it (polling) would keep it alive.
    let_pass(stores.settings.inbox.subscription_ttl).await;
    assert_eq!(deliver(stores, "news", 1).await, Delivered::NoSubscribers);
    assert_eq!(poll(stores, "news", id).await, None);
}

async fn polling_keeps_a_subscription_alive(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    let ttl = stores.settings.inbox.subscription_ttl;
    let mut received = Vec::new();
    // Six polls a fifth of the TTL apart: more than the TTL in all, never near one between two.
    for n in 1..=6 {
        deliver(stores, "news", n).await;
        tokio::time::sleep(ttl / 5).await;
        received.extend(poll(stores, "news", id).await.expect("still subscribed"));
    }
    assert_eq!(Some(received), messages(&[1, 2, 3, 4, 5, 6]));
}

async fn a_redelivery_after_the_dedup_window_is_buffered_again(stores: &Stores) {
    let id = subscribe(stores, "news").await;
    let redelivered = occurrence();
    assert_eq!(
        deliver_as(stores, "news", redelivered, 1).await,
        Delivered::Buffered(1)
    );
    if let Some(redis) = stores.redis() {
        let marker = redis
            .keys
            .inbox(APP, &channel("news"))
            .delivered(redelivered);
        let pttl = redis.pttl(&marker).await;
        assert!((1..=300).contains(&pttl), "PTTL {pttl}");
    }
    // Redelivering it to watch the marker expire would buffer it.
    let_pass(stores.settings.inbox.dedup_window).await;
    assert_eq!(
        deliver_as(stores, "news", redelivered, 1).await,
        Delivered::Buffered(1)
    );
    assert_eq!(poll(stores, "news", id).await, messages(&[1, 1]));
}

/// The channel's subscriptions expired and its buffer aged out, yet the occurrence it buffered
/// is remembered for the whole dedup window (60 s here).
async fn a_redelivery_is_dropped_for_the_dedup_window_even_after_the_channel_went_quiet(
    stores: &Stores,
) {
    let gone = subscribe(stores, "news").await;
    let redelivered = occurrence();
    assert_eq!(
        deliver_as(stores, "news", redelivered, 1).await,
        Delivered::Buffered(1)
    );
    let_pass(
        stores
            .settings
            .inbox
            .window
            .max(stores.settings.inbox.subscription_ttl),
    )
    .await;
    assert_eq!(poll(stores, "news", gone).await, None);
    let id = subscribe(stores, "news").await;
    assert_eq!(
        deliver_as(stores, "news", redelivered, 1).await,
        Delivered::Duplicate
    );
    assert_eq!(poll(stores, "news", id).await, messages(&[]));
}
