//! The schedulers alive, as Redis keeps them: each announces itself for a while, learns who else
//! is alive, and withdraws at shutdown; one that stops announcing itself drops out.

use herald_backend::Backends;
use herald_runtime::Health;
use std::time::Duration;

use crate::support::{eventually, fresh_prefix, test_config, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedulers_announce_themselves_see_each_other_and_drop_out() {
    let config = test_config(Backend::Real, &fresh_prefix());
    let backends = Backends::start(
        &config,
        "scheduler",
        &prometheus::Registry::new(),
        &Health::new(),
    )
    .expect("backends start");
    let schedule = backends.schedule.clone();
    let alive = |ids: Vec<String>| {
        let mut ids = ids;
        ids.sort();
        ids
    };
    let long = Duration::from_secs(60);

    // Redis connects in the background.
    eventually(Duration::from_secs(10), "redis answers", || {
        let schedule = schedule.clone();
        async move { schedule.heartbeat("a", long).await.is_ok() }
    })
    .await;
    assert_eq!(
        alive(schedule.heartbeat("b", long).await.unwrap()),
        ["a", "b"]
    );

    schedule.leave("a").await.unwrap();
    assert_eq!(alive(schedule.heartbeat("b", long).await.unwrap()), ["b"]);

    // An announcement that runs out drops its scheduler.
    schedule
        .heartbeat("c", Duration::from_millis(1))
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "c drops out", || {
        let schedule = schedule.clone();
        async move { schedule.heartbeat("b", long).await.unwrap() == ["b"] }
    })
    .await;
}
