//! A role's components are supervised: one that fails or panics stops the process, and
//! `run_until_stopped` says which one it was, instead of the failure passing unseen.

use herald::{Application, Component, Role};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::support::{fresh_prefix, test_config, Backend};

async fn run_with(component: Component) -> anyhow::Result<()> {
    let config = test_config(Backend::InMemory, &fresh_prefix());
    let app = Application::build(Role::Standalone, config)
        .await
        .expect("herald builds")
        .with_component(component);
    // The token is never cancelled: only the failing component can end the run.
    let run = app.run_until_stopped(CancellationToken::new());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("a failing component stops herald")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_fails_stops_herald_with_an_error_naming_it() {
    let failing = Component::new("doomed part", |_shutdown| async {
        anyhow::bail!("it could not go on")
    });
    let err = run_with(failing).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("doomed part"), "{text}");
    assert!(text.contains("it could not go on"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_panics_stops_herald_with_an_error_naming_it() {
    let panicking = Component::infallible("fragile part", |_shutdown| async {
        panic!("an invariant broke")
    });
    let err = run_with(panicking).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("fragile part"), "{text}");
    assert!(text.contains("an invariant broke"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_ends_before_shutdown_is_a_failure() {
    let quitting = Component::infallible("quitter", |_shutdown| async {});
    let err = run_with(quitting).await.unwrap_err();
    assert!(format!("{err:#}").contains("quitter"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_that_stop_at_shutdown_end_the_run_cleanly() {
    let config = test_config(Backend::InMemory, &fresh_prefix());
    let patient = Component::infallible("patient part", |shutdown: CancellationToken| async move {
        shutdown.cancelled().await
    });
    let app = Application::build(Role::Standalone, config)
        .await
        .expect("herald builds")
        .with_component(patient);
    let stop = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(stop.clone()));
    stop.cancel();
    run.await.expect("joins").expect("a clean stop is no error");
}
