//! The status store's contract: a record is created scheduled, moves once to a final status
//! (published, failed or, for a deferred message, cancelled), and lives for its TTL, which every
//! later transition resets to the store's status TTL.

use herald_backend::store::status::{Finished, Outcome};
use herald_core::status::{DeliveryKind, MessageStatus, StatusRecord};
use herald_core::MessageId;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::{eventually, ms, Backend, Settings, Stores, APP, CHANNEL};

const LONG: Duration = Duration::from_secs(60);

fn record(status: MessageStatus, error: Option<&str>) -> Option<StatusRecord> {
    Some(StatusRecord {
        status,
        error_message: error.map(str::to_string),
        occurrences: None,
        channel: Some(CHANNEL.into()),
    })
}

async fn created(stores: &Stores, kind: DeliveryKind) -> MessageId {
    let id = MessageId::new_random();
    stores.create(id, kind, LONG).await;
    id
}

async fn get(stores: &Stores, id: MessageId) -> Option<StatusRecord> {
    stores.statuses.get(APP, id).await.expect("get answers")
}

async fn finish(stores: &Stores, id: MessageId, outcome: Outcome) -> Finished {
    stores
        .statuses
        .finish(APP, id, outcome)
        .await
        .expect("finish answers")
}

async fn cancel(stores: &Stores, id: MessageId) -> bool {
    stores
        .statuses
        .cancel(APP, id)
        .await
        .expect("cancel answers")
}

on_both_backends!(Settings::default() =>
    a_created_record_is_scheduled,
    a_record_is_unknown_before_it_is_created_and_to_other_apps,
    finishing_as_published_or_failed_is_what_get_reports,
    finishing_twice_is_already_final_and_keeps_the_first_outcome,
    finishing_a_missing_record_is_missing,
    only_a_scheduled_deferred_message_can_be_cancelled,
    a_cancelled_message_cannot_be_cancelled_again_or_finished,
    discarding_removes_the_record,
    a_record_keeps_its_own_channel_through_every_transition,
);

on_both_backends!(Settings::default() =>
    a_failure_keeps_its_reason_even_an_empty_one,
);

on_both_backends!(Settings { status_ttl: ms(300), ..Settings::default() } =>
    a_finish_shortens_the_records_life_to_the_status_ttl,
    a_cancel_shortens_the_records_life_to_the_status_ttl,
);

on_both_backends!(Settings::default() =>
    a_record_is_gone_after_its_ttl,
    a_finish_extends_the_records_life_to_the_status_ttl,
    a_cancel_extends_the_records_life_to_the_status_ttl,
);

async fn a_created_record_is_scheduled(stores: &Stores) {
    let immediate = created(stores, DeliveryKind::Immediate).await;
    let deferred = created(stores, DeliveryKind::Deferred).await;
    assert_eq!(
        get(stores, immediate).await,
        record(MessageStatus::Scheduled, None)
    );
    assert_eq!(
        get(stores, deferred).await,
        record(MessageStatus::Scheduled, None)
    );
}

async fn a_record_is_unknown_before_it_is_created_and_to_other_apps(stores: &Stores) {
    let id = created(stores, DeliveryKind::Deferred).await;
    assert_eq!(get(stores, MessageId::new_random()).await, None);
    assert_eq!(stores.statuses.get("other-app", id).await.unwrap(), None);
    assert!(!stores.statuses.cancel("other-app", id).await.unwrap());
    assert_eq!(
        get(stores, id).await,
        record(MessageStatus::Scheduled, None)
    );
}

async fn finishing_as_published_or_failed_is_what_get_reports(stores: &Stores) {
    let published = created(stores, DeliveryKind::Immediate).await;
    let failed = created(stores, DeliveryKind::Deferred).await;
    assert_eq!(
        finish(stores, published, Outcome::Published).await,
        Finished::Changed
    );
    assert_eq!(
        finish(stores, failed, Outcome::Failed("no route".into())).await,
        Finished::Changed
    );
    assert_eq!(
        get(stores, published).await,
        record(MessageStatus::Published, None)
    );
    assert_eq!(
        get(stores, failed).await,
        record(MessageStatus::Failed, Some("no route"))
    );
}

async fn a_failure_keeps_its_reason_even_an_empty_one(stores: &Stores) {
    let id = created(stores, DeliveryKind::Immediate).await;
    assert_eq!(
        finish(stores, id, Outcome::Failed(String::new())).await,
        Finished::Changed
    );
    assert_eq!(
        get(stores, id).await,
        record(MessageStatus::Failed, Some(""))
    );
}

async fn finishing_twice_is_already_final_and_keeps_the_first_outcome(stores: &Stores) {
    let id = created(stores, DeliveryKind::Immediate).await;
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::Changed
    );
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::AlreadyFinal
    );
    assert_eq!(
        finish(stores, id, Outcome::Failed("late".into())).await,
        Finished::AlreadyFinal
    );
    assert_eq!(
        get(stores, id).await,
        record(MessageStatus::Published, None)
    );
}

async fn finishing_a_missing_record_is_missing(stores: &Stores) {
    let id = MessageId::new_random();
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::Missing
    );
    assert_eq!(get(stores, id).await, None);
}

async fn only_a_scheduled_deferred_message_can_be_cancelled(stores: &Stores) {
    let immediate = created(stores, DeliveryKind::Immediate).await;
    assert!(!cancel(stores, immediate).await);
    assert_eq!(
        get(stores, immediate).await,
        record(MessageStatus::Scheduled, None)
    );

    let finished = created(stores, DeliveryKind::Deferred).await;
    finish(stores, finished, Outcome::Published).await;
    assert!(!cancel(stores, finished).await);
    assert_eq!(
        get(stores, finished).await,
        record(MessageStatus::Published, None)
    );

    assert!(!cancel(stores, MessageId::new_random()).await);

    let deferred = created(stores, DeliveryKind::Deferred).await;
    assert!(cancel(stores, deferred).await);
    assert_eq!(
        get(stores, deferred).await,
        record(MessageStatus::Cancelled, None)
    );
}

async fn a_cancelled_message_cannot_be_cancelled_again_or_finished(stores: &Stores) {
    let id = created(stores, DeliveryKind::Deferred).await;
    assert!(cancel(stores, id).await);
    assert!(!cancel(stores, id).await);
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::AlreadyFinal
    );
    assert_eq!(
        get(stores, id).await,
        record(MessageStatus::Cancelled, None)
    );
}

async fn discarding_removes_the_record(stores: &Stores) {
    let id = created(stores, DeliveryKind::Immediate).await;
    let kept = created(stores, DeliveryKind::Immediate).await;
    stores.statuses.discard(APP, id).await.unwrap();
    assert_eq!(get(stores, id).await, None);
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::Missing
    );
    // Discarding what is not there is no error.
    stores.statuses.discard(APP, id).await.unwrap();
    assert_eq!(
        get(stores, kept).await,
        record(MessageStatus::Scheduled, None)
    );
}

async fn gone(stores: &Stores, id: MessageId, what: &str) {
    eventually(Duration::from_secs(10), what, || async move {
        get(stores, id).await.is_none()
    })
    .await;
}

async fn a_record_is_gone_after_its_ttl(stores: &Stores) {
    let id = MessageId::new_random();
    stores.create(id, DeliveryKind::Deferred, ms(300)).await;
    if let Some(redis) = stores.redis() {
        let pttl = redis.pttl(&redis.keys.status(APP, id)).await;
        assert!((1..=300).contains(&pttl), "PTTL {pttl}");
    }
    gone(stores, id, "the record's ttl has passed").await;
    assert_eq!(
        finish(stores, id, Outcome::Published).await,
        Finished::Missing
    );
    assert!(!cancel(stores, id).await);
}

/// A record created to live long is gone soon after a finish: only the store's status TTL
/// (300 ms here) can have ended it.
async fn a_finish_shortens_the_records_life_to_the_status_ttl(stores: &Stores) {
    let id = created(stores, DeliveryKind::Immediate).await;
    finish(stores, id, Outcome::Failed("refused".into())).await;
    if let Some(redis) = stores.redis() {
        let pttl = redis.pttl(&redis.keys.status(APP, id)).await;
        assert!((1..=300).contains(&pttl), "PTTL {pttl}");
    }
    gone(stores, id, "the status ttl after the finish has passed").await;
}

async fn a_cancel_shortens_the_records_life_to_the_status_ttl(stores: &Stores) {
    let id = created(stores, DeliveryKind::Deferred).await;
    assert!(cancel(stores, id).await);
    gone(stores, id, "the status ttl after the cancel has passed").await;
}

/// Two records created together with the same short TTL, of which one then changes: once the
/// untouched one has expired, the changed one, given the store's (long) status TTL, is still
/// there. The untouched record is the clock; nothing waits on a guess.
async fn outlives_its_twin(
    stores: &Stores,
    kind: DeliveryKind,
    change: impl AsyncFnOnce(MessageId),
) {
    let changed = MessageId::new_random();
    let twin = MessageId::new_random();
    // The changed one is created first, so without the change it would expire first.
    stores.create(changed, kind, ms(2_000)).await;
    stores.create(twin, kind, ms(2_000)).await;
    change(changed).await;
    if let Some(redis) = stores.redis() {
        let pttl = redis.pttl(&redis.keys.status(APP, changed)).await;
        assert!(pttl > 50_000 && pttl <= 60_000, "PTTL {pttl}");
    }
    gone(stores, twin, "the untouched twin has expired").await;
    assert!(get(stores, changed).await.is_some());
}

async fn a_finish_extends_the_records_life_to_the_status_ttl(stores: &Stores) {
    outlives_its_twin(stores, DeliveryKind::Immediate, async |id| {
        assert_eq!(
            finish(stores, id, Outcome::Published).await,
            Finished::Changed
        );
    })
    .await;
}

async fn a_cancel_extends_the_records_life_to_the_status_ttl(stores: &Stores) {
    outlives_its_twin(stores, DeliveryKind::Deferred, async |id| {
        assert!(cancel(stores, id).await);
    })
    .await;
}

async fn a_record_keeps_its_own_channel_through_every_transition(stores: &Stores) {
    let channel_of = |id| async move { get(stores, id).await.and_then(|r| r.channel) };
    let on = |channel: &'static str, kind| async move {
        let id = MessageId::new_random();
        stores
            .statuses
            .create(APP, id, channel, kind, LONG)
            .await
            .expect("the status is created");
        id
    };
    let published = on("orders.eu", DeliveryKind::Immediate).await;
    let failed = on("orders.us", DeliveryKind::Deferred).await;
    let cancelled = on("private", DeliveryKind::Deferred).await;
    assert_eq!(channel_of(published).await.as_deref(), Some("orders.eu"));
    finish(stores, published, Outcome::Published).await;
    finish(stores, failed, Outcome::Failed("no route".into())).await;
    assert!(cancel(stores, cancelled).await);
    assert_eq!(channel_of(published).await.as_deref(), Some("orders.eu"));
    assert_eq!(channel_of(failed).await.as_deref(), Some("orders.us"));
    assert_eq!(channel_of(cancelled).await.as_deref(), Some("private"));
}

/// A record an older herald wrote has no channel field: it still reads, with no channel.
#[tokio::test]
async fn a_redis_record_written_without_a_channel_reads_with_none() {
    let stores = Stores::build(Backend::Redis, Settings::default()).await;
    let redis = stores.redis().expect("built on redis");
    let id = MessageId::new_random();
    let key = redis.keys.status(APP, id);
    redis
        .write_hash(&key, &[("s", "scheduled"), ("k", "deferred")])
        .await;
    assert_eq!(
        get(&stores, id).await,
        Some(StatusRecord {
            status: MessageStatus::Scheduled,
            error_message: None,
            occurrences: None,
            channel: None,
        })
    );
    assert!(cancel(&stores, id).await);
    assert_eq!(
        get(&stores, id).await.map(|r| (r.status, r.channel)),
        Some((MessageStatus::Cancelled, None))
    );
}
