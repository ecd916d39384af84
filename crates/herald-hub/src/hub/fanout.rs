//! The fan-out of one node: what the live bus brings is offered to the node's subscriptions of
//! its channel. A message is rendered once, in the shapes its subscribers read; each selector is
//! evaluated against the typed headers; the rendered message goes into each matching
//! connection's buffer without waiting (on the connection's own worker thread, by the worker's
//! fan-out queue, or straight from the intake for a connection of no worker), and a connection
//! whose buffer is full is cut off.

use herald_backend::live::{LiveFrame, LiveKind};
use herald_core::command::Command;
use herald_core::delivered::{PolledMessage, RealtimeMessage};
use herald_core::headers::Headers;
use herald_core::presence::PresenceEvent;
use herald_core::{Envelope, ErrorKind};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::error::TrySendError;

use super::state::{ChannelKey, FanoutJob, Interest, SinkEntry, State, Subscription};
use super::Hub;
use crate::metrics::TRANSPORTS;
use crate::sink::{Outgoing, Rendered, Transport};

/// What one offer leaves to do once the hub's state is let go: the connections found too slow,
/// and the jobs for the worker fan-outs that have subscriptions of the channel.
#[derive(Default)]
struct Offer {
    slow: Vec<u64>,
    jobs: Vec<(usize, FanoutJob)>,
}

impl Hub {
    /// Offers what the live bus brought to the node's subscriptions of its channel; waits only
    /// when a worker's fan-out queue is full.
    pub async fn publish(self: &Arc<Self>, frame: &LiveFrame) {
        let offer = match frame.kind {
            LiveKind::Message => self.publish_message(&frame.body),
            LiveKind::Command => self.publish_command(&frame.body),
            LiveKind::Presence => self.publish_presence(&frame.body),
        };
        self.remove_slow(offer.slow);
        // One intake calls this, one frame after the other: each worker gets its jobs in order.
        for (worker, job) in offer.jobs {
            self.send_to_worker(worker, job).await;
        }
    }

    /// Removes connections cut off for being slow, in the background (unbinding awaits the bus).
    fn remove_slow(self: &Arc<Self>, slow: Vec<u64>) {
        for id in slow {
            let hub = self.clone();
            tokio::spawn(async move {
                let keys = hub.remove_sink(id);
                hub.release(keys).await;
            });
        }
    }

    /// A message occurrence, to the subscriptions to the channel's messages that select it.
    fn publish_message(&self, body: &[u8]) -> Offer {
        let envelope = match Envelope::decode(body) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable envelope on the live bus, dropped");
                return Offer::default();
            }
        };
        let now = Instant::now();
        let first = self
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_time(envelope.occurrence_id(), now);
        if !first {
            self.metrics.duplicates.inc();
            return Offer::default();
        }
        let published_at = self.clock.now_ms();
        self.metrics
            .end_to_end_seconds
            .observe((published_at - envelope.due_ms()).max(0) as f64 / 1000.0);
        let key = (envelope.app_id.clone(), envelope.channel.clone());
        self.offer(
            &key,
            Interest::Messages,
            Some(&envelope.headers),
            |realtime| render(&envelope, published_at, realtime),
        )
    }

    /// A command, to every subscription to the channel's commands.
    fn publish_command(&self, body: &[u8]) -> Offer {
        let command = match Command::decode(body) {
            Ok(command) => command,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable command on the live bus, dropped");
                return Offer::default();
            }
        };
        let key = (command.app_id.clone(), command.channel.clone());
        self.offer(&key, Interest::Commands, None, |_| {
            rendered_or_dropped(command.delivered_json()).map(Rendered::realtime_only)
        })
    }

    /// A presence change, to every subscription to the channel's presence.
    fn publish_presence(&self, body: &[u8]) -> Offer {
        let event = match PresenceEvent::decode(body) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable presence change on the live bus, dropped");
                return Offer::default();
            }
        };
        let key = (event.app_id.clone(), event.channel.clone());
        self.offer(&key, Interest::Users, None, |_| {
            rendered_or_dropped(event.delivered_json()).map(Rendered::realtime_only)
        })
    }

    /// Hands what `render` makes (once, if anyone wants it) to every subscription of the channel
    /// with this interest whose selector the headers satisfy: directly to those of no worker,
    /// and, in the jobs returned, once to each worker that has such subscriptions.
    fn offer(
        &self,
        key: &ChannelKey,
        interest: Interest,
        headers: Option<&Headers>,
        render: impl FnOnce(bool) -> Option<Rendered>,
    ) -> Offer {
        let mut state = self.state();
        let State {
            sinks,
            channels,
            offers,
            ..
        } = &mut *state;
        let Some(subscriptions) = channels.get_mut(key) else {
            return Offer::default();
        };
        let offer = *offers;
        *offers += 1;
        let realtime = subscriptions
            .iter()
            .any(|s| s.interest == interest && s.transport == Transport::Realtime);
        let Some(rendered) = render(realtime) else {
            return Offer::default();
        };
        let rendered = Arc::new(rendered);
        let mut workers: Vec<usize> = Vec::new();
        for worker in subscriptions
            .iter()
            .filter(|s| s.interest == interest)
            .filter_map(|s| s.worker)
        {
            if !workers.contains(&worker) {
                workers.push(worker);
            }
        }
        let jobs = workers
            .into_iter()
            .map(|worker| {
                let job = FanoutJob {
                    key: key.clone(),
                    interest,
                    headers: headers.cloned(),
                    rendered: rendered.clone(),
                    offer,
                };
                (worker, job)
            })
            .collect();
        let offered = Offered {
            interest,
            headers,
            rendered: &rendered,
            worker: None,
            offer,
        };
        let slow = self.hand_out(sinks, subscriptions, &offered);
        Offer { slow, jobs }
    }

    /// Offers a worker's job to the worker's subscriptions (on the worker's thread).
    pub(super) fn offer_in_worker(self: &Arc<Self>, worker: usize, job: &FanoutJob) {
        let slow = {
            let mut state = self.state();
            let State {
                sinks, channels, ..
            } = &mut *state;
            let Some(subscriptions) = channels.get_mut(&job.key) else {
                return;
            };
            let offered = Offered {
                interest: job.interest,
                headers: job.headers.as_ref(),
                rendered: &job.rendered,
                worker: Some(worker),
                offer: job.offer,
            };
            self.hand_out(sinks, subscriptions, &offered)
        };
        self.remove_slow(slow);
    }

    /// Puts the rendered message into the buffer of each subscription it is for: of this
    /// interest and worker, taken before the offer, not paused, its selector satisfied. The
    /// connections found too slow.
    fn hand_out(
        &self,
        sinks: &HashMap<u64, SinkEntry>,
        subscriptions: &mut [Subscription],
        offered: &Offered<'_>,
    ) -> Vec<u64> {
        let selected = self.select(subscriptions, offered);
        let mut slow = Vec::new();
        let mut counts = [[0u64; 3]; 3];
        for (subscription, selected) in subscriptions.iter_mut().zip(selected) {
            let Some(selected) = selected else {
                continue;
            };
            let outcome = &mut counts[subscription.transport as usize];
            if !selected {
                outcome[1] += 1;
                continue;
            }
            let Some(sink) = sinks.get(&subscription.sink) else {
                continue;
            };
            let handed = match &mut subscription.held {
                Some(held) if held.len() < self.settings.buffer => {
                    held.push(offered.rendered.clone());
                    Ok(true)
                }
                Some(_) => Err(()),
                None => self.hand(sink, subscription.tag.clone(), offered.rendered.clone()),
            };
            match handed {
                Ok(true) => outcome[0] += 1,
                // The connection is ending: nothing to count.
                Ok(false) => {}
                Err(()) => {
                    outcome[2] += 1;
                    if !slow.contains(&subscription.sink) {
                        self.cut_off(sink, subscription.transport);
                        slow.push(subscription.sink);
                    }
                }
            }
        }
        for transport in TRANSPORTS {
            self.counters.add(transport, counts[transport as usize]);
        }
        slow
    }
}

/// One offer of a message to the subscriptions of its channel, on one worker or none.
struct Offered<'a> {
    interest: Interest,
    headers: Option<&'a Headers>,
    rendered: &'a Arc<Rendered>,
    worker: Option<usize>,
    offer: u64,
}

impl Offered<'_> {
    /// Whether the offer is for `subscription` (before its selector is asked).
    fn is_for(&self, subscription: &Subscription) -> bool {
        subscription.interest == self.interest
            && subscription.worker == self.worker
            && subscription.since <= self.offer
            && !subscription.paused
    }
}

impl Hub {
    /// Puts one message into a connection's buffer: whether it took it (a closed buffer, of a
    /// connection that is ending, takes nothing and is no error); `Err` when the buffer is full.
    fn hand(&self, sink: &SinkEntry, tag: Arc<str>, message: Arc<Rendered>) -> Result<bool, ()> {
        match sink.sender.try_send(Outgoing { tag, message }) {
            Ok(()) => Ok(true),
            Err(TrySendError::Closed(_)) => Ok(false),
            Err(TrySendError::Full(_)) => Err(()),
        }
    }

    /// Cuts a connection off for being slow; the caller removes it from the hub.
    fn cut_off(&self, sink: &SinkEntry, transport: Transport) {
        sink.shared.cut_off(format!(
            "{}: {} messages waited unread",
            ErrorKind::SubscriberTooSlow.summary(),
            self.settings.buffer
        ));
        self.metrics
            .slow_disconnects
            .with_label_values(&[transport.as_str()])
            .inc();
    }

    /// Sends a held subscription's first message, then what it was offered meanwhile, and lets
    /// it receive directly from then on. False when the connection or subscription is gone.
    pub(super) fn release_held(self: &Arc<Self>, sink_id: u64, tag: &str, first: Rendered) -> bool {
        let slow = {
            let mut state = self.state();
            let State {
                sinks, channels, ..
            } = &mut *state;
            let Some(sink) = sinks.get(&sink_id) else {
                return false;
            };
            let Some(key) = sink
                .subscriptions
                .iter()
                .find(|(_, t)| &**t == tag)
                .map(|(key, _)| key)
            else {
                return false;
            };
            let Some(subscription) = channels.get_mut(key).and_then(|list| {
                list.iter_mut()
                    .find(|s| s.sink == sink_id && &*s.tag == tag)
            }) else {
                return false;
            };
            let held = subscription.held.take().unwrap_or_default();
            let all = std::iter::once(Arc::new(first)).chain(held);
            let full = all
                .map(|message| self.hand(sink, subscription.tag.clone(), message))
                .any(|handed| handed.is_err());
            if full {
                self.cut_off(sink, subscription.transport);
            }
            full
        };
        if slow {
            self.remove_slow(vec![sink_id]);
        }
        true
    }

    /// For each subscription, whether the message's headers satisfy it, or `None` when the offer
    /// is not for it; timing the selectors alone (the metric is the mean of one evaluation over
    /// this offer's selectors).
    fn select(&self, subscriptions: &[Subscription], offered: &Offered<'_>) -> Vec<Option<bool>> {
        let started = Instant::now();
        let mut evaluated = 0u32;
        let selected = subscriptions
            .iter()
            .map(|subscription| {
                if !offered.is_for(subscription) {
                    return None;
                }
                Some(match (&subscription.selector, offered.headers) {
                    (Some(selector), Some(headers)) => {
                        evaluated += 1;
                        selector.matches(headers)
                    }
                    (Some(_), None) => false,
                    (None, _) => true,
                })
            })
            .collect();
        if evaluated > 0 {
            let each = started.elapsed().as_secs_f64() / f64::from(evaluated);
            self.metrics.selector_seconds.observe(each);
        }
        selected
    }
}

/// The message in the shapes this node's subscribers of its channel read; `None` (logged) when
/// it cannot be serialized, so no subscriber is sent an empty message.
fn render(envelope: &Envelope, published_at: i64, realtime: bool) -> Option<Rendered> {
    let json = rendered_or_dropped(PolledMessage::new(envelope, published_at).to_json())?;
    let realtime = match realtime {
        true => {
            let json = rendered_or_dropped(RealtimeMessage::new(envelope, published_at).to_json())?;
            // Serialized by serde_json just now: always valid JSON.
            serde_json::value::RawValue::from_string(json).ok()
        }
        false => None,
    };
    Some(Rendered {
        message_id: envelope.message_id.to_string(),
        json,
        realtime,
    })
}

/// The serialized form, or `None` after logging why there is none.
fn rendered_or_dropped(json: serde_json::Result<String>) -> Option<String> {
    json.inspect_err(
        |err| tracing::error!(error = %err, "cannot serialize a live message, dropped"),
    )
    .ok()
}
