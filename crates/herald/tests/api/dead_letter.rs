//! The dead-letter queue on real RabbitMQ: declared with `amqp.dead_letter_max_length`, so parked
//! messages past it push out the oldest instead of growing the broker without bound.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::{BasicProperties, Connection};
use secrecy::ExposeSecret;
use std::num::NonZeroU64;
use std::time::Duration;

use crate::support::{eventually, fresh_prefix, real_urls, test_config, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dead_letter_queue_keeps_at_most_its_configured_length() {
    let prefix = fresh_prefix();
    let mut config = test_config(Backend::Real, &prefix);
    config.amqp.dead_letter_max_length = NonZeroU64::new(2).unwrap();
    let _app = TestApp::spawn_with(herald::Role::Ingest, config).await;

    let (amqp, _) = real_urls();
    let connection = Connection::connect(amqp.expose_secret(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    // What a rejected delivery goes through: the dead exchange, fanned out to the queue.
    for n in 0..3u8 {
        channel
            .basic_publish(
                format!("{prefix}.dead").as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                &[n],
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    eventually(
        Duration::from_secs(5),
        "the dead-letter queue holds two messages",
        || {
            let channel = channel.clone();
            let queue = format!("{prefix}.dead");
            async move {
                let declared = channel
                    .queue_declare(queue.as_str().into(), passive, Default::default())
                    .await
                    .unwrap();
                declared.message_count() == 2
            }
        },
    )
    .await;
    connection.close(200, "done".into()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_queue_declared_without_the_bound_is_used_as_it_is() {
    let prefix = fresh_prefix();
    let (amqp, _) = real_urls();
    let connection = Connection::connect(amqp.expose_secret(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    // As a deployment from before the bound has it: a quorum queue with no x-max-length.
    let mut args = lapin::types::FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        lapin::types::AMQPValue::LongString("quorum".into()),
    );
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(format!("{prefix}.dead").as_str().into(), durable, args)
        .await
        .unwrap();

    // RabbitMQ refuses to declare it again with the bound: herald must still become ready
    // (spawn_with waits for /readyz) and publish.
    let app = TestApp::spawn_with(herald::Role::Ingest, test_config(Backend::Real, &prefix)).await;
    let (status, answer) = app
        .client
        .publish("news", serde_json::json!({"message": "after the upgrade"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    connection.close(200, "done".into()).await.unwrap();
}
