//! The fan-out benchmark's live subscribers: WebSocket connections to one dispatcher, one channel
//! subscription each, half of them with a selector. Each connection has one tokio task that reads
//! frames and, for a message frame, finds only the sequence number the benchmark put in the
//! message's data. The frames one read brought are reported together, with their arrival
//! instant, to the one collector. The receiving side must stay cheap: 1,000 of them share the
//! CPU with the broker, Redis and herald (one report per frame cost the collector a channel
//! message and a timer each, at 750,000 frames a second).

use futures_util::{FutureExt, SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The selector half of the subscribers use: it matches the messages published with kind 'a'.
pub const SELECTOR: &str = "kind = 'a'";

/// Connections opened (and subscribed) at once.
const CONNECT_CONCURRENCY: usize = 50;

/// What the subscribers report.
pub enum Event {
    /// Message frames whose data were these sequence numbers, read together at `at`.
    Deliveries { seqs: Vec<u64>, at: Instant },
    /// A connection ended (herald cut it off, or it failed), with herald's last word.
    Closed { subscriber: usize, reason: String },
}

/// The connected subscribers and the receiving end of what they report.
pub struct Subscribers {
    ws_url: String,
    channel: String,
    count: usize,
    events_tx: mpsc::UnboundedSender<Event>,
    events: mpsc::UnboundedReceiver<Event>,
    /// Subscribers whose connection ended, to connect again before the next phase.
    closed: Vec<usize>,
}

impl Subscribers {
    /// Connects `count` subscribers to `channel`, the odd-numbered ones with [`SELECTOR`], and
    /// returns once each has its `subscribed` answer. `root` is the REST root of the dispatcher.
    pub async fn connect(root: &str, channel: &str, count: usize) -> anyhow::Result<Self> {
        let rest = root
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("--dispatcher-url must start with http://"))?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let subscribers = Self {
            ws_url: format!("ws://{rest}/messaging/ws"),
            channel: channel.to_string(),
            count,
            events_tx,
            events,
            closed: Vec::new(),
        };
        subscribers.open((0..count).collect()).await?;
        Ok(subscribers)
    }

    /// How many subscribers have a selector.
    pub fn with_selector(&self) -> usize {
        self.count / 2
    }

    /// How many subscribers have none.
    pub fn without_selector(&self) -> usize {
        self.count - self.with_selector()
    }

    /// The next event, or `None` when `deadline` passes first.
    pub async fn next_event(&mut self, deadline: tokio::time::Instant) -> Option<Event> {
        let event = tokio::time::timeout_at(deadline, self.events.recv())
            .await
            .ok()??;
        if let Event::Closed { subscriber, .. } = &event {
            self.closed.push(*subscriber);
        }
        Some(event)
    }

    /// Drops what is left of earlier phases and connects again the subscribers herald cut off;
    /// returns how many it connected again.
    pub async fn revive(&mut self) -> anyhow::Result<usize> {
        while let Ok(event) = self.events.try_recv() {
            if let Event::Closed { subscriber, .. } = event {
                self.closed.push(subscriber);
            }
        }
        let mut closed = std::mem::take(&mut self.closed);
        closed.sort_unstable();
        closed.dedup();
        let revived = closed.len();
        self.open(closed).await?;
        Ok(revived)
    }

    async fn open(&self, which: Vec<usize>) -> anyhow::Result<()> {
        let mut opened = futures_util::stream::iter(which)
            .map(|index| self.open_one(index))
            .buffer_unordered(CONNECT_CONCURRENCY);
        while let Some(result) = opened.next().await {
            result?;
        }
        Ok(())
    }

    async fn open_one(&self, index: usize) -> anyhow::Result<()> {
        // tungstenite reserves 128 KiB of read buffer per connection by default; frames here are
        // a few hundred bytes, and a thousand connections share the machine.
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(self.ws_url.as_str(), Some(config), true)
                .await
                .map_err(|err| anyhow::anyhow!("subscriber {index} cannot connect: {err}"))?;
        let mut frame = serde_json::json!({"type": "subscribe", "id": format!("s{index}"), "channel": self.channel});
        if index % 2 == 1 {
            frame["selector"] = SELECTOR.into();
        }
        socket.send(Message::text(frame.to_string())).await?;
        let answer = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .map_err(|_| anyhow::anyhow!("subscriber {index}: no answer to subscribe in 30 s"))?;
        let subscribed = match &answer {
            Some(Ok(Message::Text(text))) => serde_json::from_str::<serde_json::Value>(text)
                .is_ok_and(|frame| frame["type"] == "subscribed"),
            _ => false,
        };
        anyhow::ensure!(
            subscribed,
            "subscriber {index}: subscribe answered {answer:?}"
        );
        tokio::spawn(read(socket, index, self.events_tx.clone()));
        Ok(())
    }
}

/// Reads one connection until it ends, reporting the sequence numbers of the message frames that
/// arrived together (those already read when the first is handled) in one event.
async fn read(mut socket: Socket, subscriber: usize, events: mpsc::UnboundedSender<Event>) {
    let mut last_word = String::from("the connection ended");
    let mut open = true;
    while open {
        let Some(first) = socket.next().await else {
            break;
        };
        let at = Instant::now();
        let mut seqs = Vec::new();
        let mut message = Some(first);
        while let Some(next) = message.take() {
            match next {
                Ok(Message::Text(text)) => match message_seq(&text) {
                    Some(seq) => seqs.push(seq),
                    None => last_word = text.to_string(),
                },
                Ok(Message::Close(frame)) => {
                    if let Some(frame) = frame {
                        last_word = format!("{last_word}; closed {}: {}", frame.code, frame.reason);
                    }
                    open = false;
                    break;
                }
                Ok(_) => {}
                Err(err) => {
                    last_word = format!("{last_word}; {err}");
                    open = false;
                    break;
                }
            }
            // What is already buffered arrived with the first: no waiting here.
            message = socket.next().now_or_never().flatten();
        }
        if !seqs.is_empty() {
            let _ = events.send(Event::Deliveries { seqs, at });
        }
    }
    let _ = events.send(Event::Closed {
        subscriber,
        reason: last_word,
    });
}

/// The sequence number of a message frame: its message's data, a bare integer. herald renders
/// `{"type":"message","id":..,"message":{"messageId":"message:<uuid>","data":<seq>,...}}`, so
/// the first `"data":` is the message's.
fn message_seq(frame: &str) -> Option<u64> {
    let rest = frame.strip_prefix("{\"type\":\"message\"")?;
    let at = rest.find("\"data\":")?;
    let digits = &rest[at + 7..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::message_seq;

    #[test]
    fn finds_the_sequence_in_a_message_frame() {
        let frame = r#"{"type":"message","id":"s1","message":{"messageId":"message:AB-1","data":4294967301,"publishedAt":1,"publisherId":null,"headers":{"kind":"a"}}}"#;
        assert_eq!(message_seq(frame), Some(4294967301));
    }

    #[test]
    fn ignores_other_frames() {
        assert_eq!(message_seq(r#"{"type":"subscribed","id":"s1"}"#), None);
        assert_eq!(
            message_seq(r#"{"type":"error","id":null,"code":9022,"message":"x"}"#),
            None
        );
    }
}
