//! The fan-out's lanes, one per HTTP worker thread. What the live bus brings arrives on one
//! thread, and the SSE and WebSocket connections live on the HTTP server's workers, each a
//! single-threaded runtime. Handing a message to each connection from the intake's thread woke a
//! worker for nearly every hand-off once it had gone idle (an `eventfd` write, and a wake-up of
//! another CPU): at 100 messages/s to 750 subscribers, about 17,000 such writes a second. A
//! connection opened on a worker belongs to that worker's lane; the intake hands each message
//! once to each lane that has subscriptions of its channel, and the lane's task, on the worker's
//! own thread, offers it to the lane's subscriptions.

use herald_core::headers::Headers;
use std::cell::RefCell;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;

use super::{ChannelKey, Hub, Interest};
use crate::sink::Rendered;

/// One message for one lane.
pub(super) struct Job {
    pub key: ChannelKey,
    pub interest: Interest,
    pub headers: Option<Headers>,
    pub rendered: Arc<Rendered>,
    /// The hub's count of offers when this one was made: a subscription taken after it does
    /// not receive it (it arrived at the node before the subscription existed).
    pub offer: u64,
}

pub(super) type LaneSender = mpsc::UnboundedSender<Job>;

thread_local! {
    /// This thread's lane in each hub that has one here, by hub id.
    static LANES: RefCell<Vec<(u64, usize)>> = const { RefCell::new(Vec::new()) };
}

impl Hub {
    /// This thread's lane, opened (with its task) on first use; the thread must run a local task
    /// set (an HTTP worker does).
    pub(super) fn lane_here(self: &Arc<Self>) -> usize {
        let found = LANES.with(|lanes| {
            lanes
                .borrow()
                .iter()
                .find(|(hub, _)| *hub == self.id)
                .map(|&(_, lane)| lane)
        });
        if let Some(lane) = found {
            return lane;
        }
        let (sender, jobs) = mpsc::unbounded_channel();
        let lane = {
            let mut senders = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
            senders.push(sender);
            senders.len() - 1
        };
        LANES.with(|lanes| lanes.borrow_mut().push((self.id, lane)));
        actix_web::rt::spawn(run(Arc::downgrade(self), lane, jobs));
        lane
    }

    /// Hands `job` to `lane`'s task.
    pub(super) fn send_to_lane(&self, lane: usize, job: Job) {
        let senders = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = senders.get(lane) {
            // A lane whose worker stopped has no connections left to offer to.
            let _ = sender.send(job);
        }
    }
}

/// A lane's task: offers each job to the lane's subscriptions, until the hub is gone.
async fn run(hub: Weak<Hub>, lane: usize, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.offer_in_lane(lane, &job);
    }
}

#[cfg(test)]
mod tests {
    use super::super::presence::tests::hub;
    use super::*;
    use crate::sink::{SinkReceiver, Transport};
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
            body: envelope.encode(),
        }
    }

    /// A WebSocket connection of this thread's lane, subscribed to `channel` under `tag`.
    async fn subscribed(hub: &Arc<Hub>, tag: &str, channel: &ChannelName) -> SinkReceiver {
        let connection = hub.connect_here(Transport::WebSocket);
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
    async fn a_lane_offers_a_message_to_the_subscriptions_taken_before_it_arrived_only() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let hub = hub(8);
                let news = ChannelName::parse("news").unwrap();
                let mut early = subscribed(&hub, "e", &news).await;
                // The message arrives and waits in the lane, whose task runs on this thread
                // only once this test yields; meanwhile another subscription is taken (the
                // channel is bound already: nothing to wait for).
                hub.publish(&message(&news));
                let mut late = subscribed(&hub, "l", &news).await;
                assert!(early.try_next().is_none(), "not handed out yet");

                let delivered = tokio::time::timeout(Duration::from_secs(10), early.next())
                    .await
                    .expect("the lane hands the message out")
                    .expect("the connection is open");
                assert_eq!(&*delivered.tag, "e");
                // The lane offered the message to both subscriptions at once, before this one
                // had it.
                assert!(late.try_next().is_none(), "taken after the message arrived");
            })
            .await;
    }
}
