//! The fan-out's worker queues, one per HTTP worker thread. What the live bus brings arrives on
//! one thread, and the SSE and WebSocket connections live on the HTTP server's workers, each a
//! single-threaded runtime. Handing a message to each connection from the intake's thread woke a
//! worker for nearly every hand-off once it had gone idle (an `eventfd` write, and a wake-up of
//! another CPU): at 100 messages/s to 750 subscribers, about 17,000 such writes a second. A
//! connection opened through a worker's [`WorkerFanout`] belongs to that worker; the intake hands
//! each message once to each worker that has subscriptions of its channel, and the worker's task,
//! on the worker's own thread, offers it to the worker's subscriptions.
//!
//! "Worker fan-out", not "lane": the dispatcher's lanes are its per-channel ordering, a different
//! thing. Each transport's per-worker state (actix builds one `App` per worker thread) holds the
//! worker's handle, so the hub needs no thread-local lookup and several hubs live side by side.

use std::cell::Cell;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::state::FanoutJob;
use super::Hub;
use crate::sink::{SinkReceiver, Transport};

/// Most messages a worker's queue holds. A job is small (the message is rendered once and
/// shared), and a worker's task takes each in microseconds, so a full queue means the worker's
/// thread has been busy for a long while. The intake then waits for room: the back-pressure goes
/// to the live bus's own bounded queue and on to RabbitMQ's prefetch, so nothing is dropped, and
/// a stalled worker holds at most this many messages.
const WORKER_QUEUE: usize = 1024;

/// One HTTP worker thread's share of a hub's fan-out: the connections opened through it are
/// offered their messages on the thread that opened its queue. Built once per worker (in the
/// worker's `App` factory) and used on that worker's thread only, which must run a local task
/// set (an actix worker does).
pub struct WorkerFanout {
    hub: Arc<Hub>,
    /// The worker's queue in the hub, opened (with its task) by the first connection.
    worker: Cell<Option<usize>>,
}

impl Hub {
    /// A fan-out handle for one HTTP worker thread: one per worker, not one per connection.
    pub fn worker_fanout(self: &Arc<Self>) -> WorkerFanout {
        WorkerFanout {
            hub: self.clone(),
            worker: Cell::new(None),
        }
    }

    /// Opens a worker's queue and spawns its task on this thread's local task set.
    fn open_worker(self: &Arc<Self>) -> usize {
        let (sender, jobs) = mpsc::channel(WORKER_QUEUE);
        let worker = {
            let mut senders = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            senders.push(sender);
            senders.len() - 1
        };
        tokio::task::spawn_local(run(Arc::downgrade(self), worker, jobs));
        worker
    }

    /// Hands `job` to `worker`'s task, waiting for room when its queue is full (see
    /// [`WORKER_QUEUE`]).
    pub(super) async fn send_to_worker(&self, worker: usize, job: FanoutJob) {
        let waiting = {
            let senders = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            let Some(sender) = senders.get(worker) else {
                tracing::error!(worker, "a fan-out job for a worker the hub never opened");
                return;
            };
            match sender.try_send(job) {
                Ok(()) => return,
                Err(TrySendError::Full(job)) => (sender.clone(), job),
                Err(TrySendError::Closed(_)) => return worker_stopped(worker),
            }
        };
        let (sender, job) = waiting;
        if sender.send(job).await.is_err() {
            worker_stopped(worker);
        }
    }
}

/// A worker whose thread stopped took its task and every connection it served with it: there is
/// no one left to offer the job to.
fn worker_stopped(worker: usize) {
    tracing::debug!(worker, "a fan-out job for a stopped worker is dropped");
}

impl WorkerFanout {
    /// The hub this worker's connections belong to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Opens the buffer of a connection served on this worker's thread, offered to by the
    /// worker's task. The transport must [`Hub::disconnect`] it when it ends.
    pub fn connect(&self, transport: Transport) -> SinkReceiver {
        let worker = match self.worker.get() {
            Some(worker) => worker,
            None => {
                let worker = self.hub.open_worker();
                self.worker.set(Some(worker));
                worker
            }
        };
        self.hub.open(transport, Some(worker))
    }
}

/// A worker's task: offers each job to the worker's subscriptions, until the hub is gone.
async fn run(hub: Weak<Hub>, worker: usize, mut jobs: mpsc::Receiver<FanoutJob>) {
    while let Some(job) = jobs.recv().await {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.offer_in_worker(worker, &job);
    }
}

#[cfg(test)]
mod tests {
    use super::super::presence::tests::hub;
    use super::*;
    use crate::hub::Interest;
    use herald_backend::live::{LiveFrame, LiveKind};
    use herald_core::{ChannelName, Envelope, MessageId};
    use std::time::Duration;

    fn message(channel: &ChannelName) -> LiveFrame {
        let envelope = Envelope {
            v: herald_core::envelope::ENVELOPE_VERSION,
            message_id: MessageId::new_random(),
            occurrence: 0,
            app_id: "app".into(),
            channel: channel.clone(),
            message: serde_json::json!("hello"),
            publisher_id: None,
            headers: Default::default(),
            schedule: Default::default(),
            accepted_at: 1_800_000_000_000,
            traceparent: None,
        };
        LiveFrame {
            kind: LiveKind::Message,
            body: envelope.encode().unwrap(),
        }
    }

    /// A WebSocket connection of `worker`, subscribed to `channel` under `tag`.
    async fn subscribed(
        hub: &Arc<Hub>,
        worker: &WorkerFanout,
        tag: &str,
        channel: &ChannelName,
    ) -> SinkReceiver {
        let connection = worker.connect(Transport::WebSocket);
        hub.subscribe(
            &connection.shared,
            tag.into(),
            "app",
            channel,
            Interest::Messages,
            None,
        )
        .await
        .unwrap();
        connection
    }

    #[tokio::test]
    async fn a_worker_offers_a_message_to_the_subscriptions_taken_before_it_arrived_only() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let hub = hub(8);
                let worker = hub.worker_fanout();
                let news = ChannelName::parse("news").unwrap();
                let mut early = subscribed(&hub, &worker, "e", &news).await;
                // The message arrives and waits in the worker's queue, whose task runs on this
                // thread only once this test yields; meanwhile another subscription is taken
                // (the channel is bound already: nothing to wait for).
                hub.publish(&message(&news)).await;
                let mut late = subscribed(&hub, &worker, "l", &news).await;
                assert!(early.try_next().is_none(), "not handed out yet");

                let delivered = tokio::time::timeout(Duration::from_secs(10), early.next())
                    .await
                    .expect("the worker hands the message out")
                    .expect("the connection is open");
                assert_eq!(&*delivered.tag, "e");
                // The worker offered the message to both subscriptions at once, before this one
                // had it.
                assert!(late.try_next().is_none(), "taken after the message arrived");
            })
            .await;
    }

    #[tokio::test]
    async fn two_hubs_on_one_worker_thread_keep_their_fan_outs_apart() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (one, other) = (hub(8), hub(8));
                let (one_worker, other_worker) = (one.worker_fanout(), other.worker_fanout());
                let news = ChannelName::parse("news").unwrap();
                let mut of_one = subscribed(&one, &one_worker, "a", &news).await;
                let mut of_other = subscribed(&other, &other_worker, "b", &news).await;

                one.publish(&message(&news)).await;
                let delivered = tokio::time::timeout(Duration::from_secs(10), of_one.next())
                    .await
                    .expect("the worker hands the message out")
                    .expect("the connection is open");
                assert_eq!(&*delivered.tag, "a");
                // Both workers' tasks have run by now (one thread, in order): the other hub's
                // connection got nothing of the first hub's message.
                tokio::task::yield_now().await;
                assert!(of_other.try_next().is_none(), "another hub's message");
            })
            .await;
    }
}
