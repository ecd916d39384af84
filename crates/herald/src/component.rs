//! The long-running parts of a role and how they are supervised: each [`Component`] is a name and
//! a task that runs until the shutdown token fires. A component that fails, panics or stops
//! before shutdown is reported (an error log naming it) and stops the process: the others are
//! told to stop, and `run_until_stopped` returns the error, naming the component.

use futures_util::future::BoxFuture;
use std::future::Future;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One long-running part of a role.
pub struct Component {
    name: &'static str,
    start: Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send>,
}

impl Component {
    /// A component whose task `start` makes, given the token that tells it to stop.
    pub fn new<F, Fut>(name: &'static str, start: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name,
            start: Box::new(move |shutdown| Box::pin(start(shutdown))),
        }
    }

    /// A component whose task cannot fail but by panicking.
    pub fn infallible<F, Fut>(name: &'static str, start: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::new(name, move |shutdown| async move {
            start(shutdown).await;
            Ok(())
        })
    }
}

/// The components of a role, spawned in their order.
pub(crate) struct Running {
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl Running {
    pub(crate) fn spawn(components: Vec<Component>, shutdown: &CancellationToken) -> Self {
        let tasks = components
            .into_iter()
            .map(|c| (c.name, tokio::spawn((c.start)(shutdown.clone()))))
            .collect();
        Self { tasks }
    }

    /// Waits until a component ends (which, before `shutdown`, is a failure): its name and what
    /// it ended with. Never returns while every component runs.
    pub(crate) async fn first_end(&mut self) -> (&'static str, anyhow::Result<()>) {
        if self.tasks.is_empty() {
            return std::future::pending().await;
        }
        let handles = self.tasks.iter_mut().map(|(_, task)| task);
        let (ended, index, _) = futures_util::future::select_all(handles).await;
        let (name, _) = self.tasks.remove(index);
        (name, outcome(ended))
    }

    /// Waits for every component still running, in their order; the first failure wins.
    pub(crate) async fn stop(self) -> Vec<(&'static str, anyhow::Result<()>)> {
        let mut ended = Vec::with_capacity(self.tasks.len());
        for (name, task) in self.tasks {
            ended.push((name, outcome(task.await)));
        }
        ended
    }
}

pub(crate) fn outcome(
    joined: Result<anyhow::Result<()>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    match joined {
        Ok(result) => result,
        Err(err) if err.is_panic() => Err(anyhow::anyhow!("panicked: {}", panic_message(err))),
        Err(err) => Err(anyhow::anyhow!("was cancelled: {err}")),
    }
}

fn panic_message(err: tokio::task::JoinError) -> String {
    let panic = err.into_panic();
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
