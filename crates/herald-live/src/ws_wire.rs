//! The WebSocket connection's two directions on the wire, without a task between the hub and the
//! socket: [`Outbound`] is the response body, which the HTTP server polls, and which writes every
//! message the hub queued for the connection straight into the chunk it yields (all that is
//! queued goes out in one write); [`Inbound`] decodes the client's frames from the request body.
//! The connection's task (`ws`) reads [`Inbound`] and speaks through [`Outbound`]'s control
//! queue (answers, errors, pings), which goes out before any message queued after it.

use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Message, ProtocolError};
use actix_web::web;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use herald_core::{ApiError, ErrorKind};
use std::convert::Infallible;
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder};

use herald_hub::{Outgoing, SinkReceiver};

/// Most bytes of messages one chunk gathers: a connection far behind still writes in bounded
/// pieces, and the server's write buffer stays small.
const CHUNK_BYTES: usize = 64 * 1024;

/// Most frames waiting in the control queue: answers, errors, pings and pongs, about one per
/// client frame or keep-alive period. The connection's task takes room before it handles a
/// client frame, so a client that sends without reading its answers is read no further once
/// this many wait (back-pressure through TCP), and the queue never grows without bound.
const CONTROL_QUEUE: usize = 16;

/// What the connection's task sends through the body.
pub(crate) type Control = mpsc::Sender<Message>;

/// The response body of a WebSocket connection.
pub(crate) struct Outbound {
    sink: SinkReceiver,
    control: mpsc::Receiver<Message>,
    codec: Codec,
    done: bool,
}

impl Outbound {
    pub(crate) fn new(sink: SinkReceiver) -> (Self, Control) {
        let (control_tx, control) = mpsc::channel(CONTROL_QUEUE);
        let body = Self {
            sink,
            control,
            codec: Codec::new(),
            done: false,
        };
        (body, control_tx)
    }

    /// The body's next chunk: a control frame or messages, then whatever else is queued already.
    /// It ends after a close frame, when the connection's task is gone, or after telling a
    /// connection cut off for being slow why.
    pub(crate) async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if self.done {
            return None;
        }
        let mut chunk = BytesMut::new();
        tokio::select! {
            biased;
            control = self.control.recv() => match control {
                Some(message) => self.encode(message, &mut chunk),
                None => return None,
            },
            outgoing = self.sink.next() => match outgoing {
                Some(outgoing) => put_message(&mut chunk, &outgoing),
                None => self.cut_off(&mut chunk),
            },
        }
        while !self.done && chunk.len() < CHUNK_BYTES {
            if let Ok(message) = self.control.try_recv() {
                self.encode(message, &mut chunk);
            } else if let Some(outgoing) = self.sink.try_next() {
                put_message(&mut chunk, &outgoing);
            } else {
                break;
            }
        }
        Some((Ok(chunk.freeze()), self))
    }

    fn encode(&mut self, message: Message, chunk: &mut BytesMut) {
        self.done = matches!(message, Message::Close(_));
        // Only a continuation frame can fail to encode, and the server sends none.
        if let Err(err) = self.codec.encode(message, chunk) {
            tracing::error!(error = %err, "cannot encode a WebSocket frame");
        }
    }

    /// The hub cut the connection off: an error frame with the reason, and a close frame (policy
    /// violation) carrying it too. A connection the hub let go of otherwise (herald is stopping)
    /// gets a close frame alone.
    fn cut_off(&mut self, chunk: &mut BytesMut) {
        let Some(reason) = self.sink.cut_off_reason().map(str::to_string) else {
            return self.encode(Message::Close(None), chunk);
        };
        let err = ApiError::new(ErrorKind::SubscriberTooSlow, reason.clone());
        self.encode(Message::Text(error_frame(None, &err).into()), chunk);
        let close = CloseReason {
            code: CloseCode::Policy,
            description: Some(truncate(&reason, 120).to_string()),
        };
        self.encode(Message::Close(Some(close)), chunk);
    }
}

/// A message frame, `{"type":"message","id":<tag>,"message":<the delivered message>}`, written
/// as one unmasked text frame from the subscription's tag and the message rendered once per node.
fn put_message(chunk: &mut BytesMut, outgoing: &Outgoing) {
    const HEAD: &[u8] = b"{\"type\":\"message\",\"id\":";
    const MIDDLE: &[u8] = b",\"message\":";
    let tag = outgoing.tag.as_bytes();
    let json = outgoing.message.json.as_bytes();
    let len = HEAD.len() + tag.len() + MIDDLE.len() + json.len() + 1;
    chunk.reserve(len + 10);
    // FIN and the text opcode, then the length in 7 bits, or 16, or 64 (RFC 6455 §5.2).
    chunk.put_u8(0x81);
    if len < 126 {
        chunk.put_u8(len as u8);
    } else if len <= usize::from(u16::MAX) {
        chunk.put_u8(126);
        chunk.put_u16(len as u16);
    } else {
        chunk.put_u8(127);
        chunk.put_u64(len as u64);
    }
    chunk.put_slice(HEAD);
    chunk.put_slice(tag);
    chunk.put_slice(MIDDLE);
    chunk.put_slice(json);
    chunk.put_u8(b'}');
}

/// An error frame: `{"type":"error","id":<id or null>,"code":...,"message":...}`.
pub(crate) fn error_frame(id: Option<&str>, err: &ApiError) -> String {
    serde_json::json!({
        "type": "error",
        "id": id,
        "code": err.kind.code(),
        "message": err.message,
    })
    .to_string()
}

/// At most `max` bytes of `text`, cut at a character boundary (a close reason has 123 bytes).
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The client's frames, decoded from the request body.
pub(crate) struct Inbound {
    payload: web::Payload,
    buffer: BytesMut,
    codec: Codec,
}

impl Inbound {
    pub(crate) fn new(payload: web::Payload) -> Self {
        Self {
            payload,
            buffer: BytesMut::new(),
            codec: Codec::new(),
        }
    }

    /// The next frame; `None` when the client is gone or broke the protocol.
    pub(crate) async fn next(&mut self) -> Option<Frame> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => return Some(frame),
                Ok(None) => {}
                Err(ProtocolError::Overflow) => {
                    tracing::debug!("a WebSocket client sent a frame over the size limit");
                    return None;
                }
                Err(_) => return None,
            }
            match self.payload.next().await? {
                Ok(bytes) => self.buffer.extend_from_slice(&bytes),
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_hub::Rendered;
    use std::sync::Arc;

    fn outgoing(json: String) -> Outgoing {
        Outgoing {
            tag: "\"s1\"".into(),
            message: Arc::new(Rendered {
                message_id: "m".into(),
                json,
                realtime: None,
            }),
        }
    }

    /// The frames `chunk` holds, decoded as a client decodes a server's frames.
    fn decode(chunk: &mut BytesMut) -> Vec<String> {
        let mut codec = Codec::new().client_mode().max_size(1 << 20);
        let mut texts = Vec::new();
        while let Some(frame) = codec.decode(chunk).expect("a valid frame") {
            match frame {
                Frame::Text(bytes) => texts.push(String::from_utf8(bytes.to_vec()).unwrap()),
                other => panic!("not a text frame: {other:?}"),
            }
        }
        assert!(chunk.is_empty(), "bytes left over");
        texts
    }

    #[test]
    fn message_frames_decode_at_every_length_encoding() {
        // 7-bit, 16-bit and 64-bit lengths, and the edges between them.
        // A frame is 50 bytes longer than its data: 125 and 126, 65,535 and 65,536 are the edges.
        for data_len in [0, 75, 76, 65_485, 65_486, 70_000] {
            let json = format!("{{\"data\":\"{}\"}}", "x".repeat(data_len));
            let mut chunk = BytesMut::new();
            put_message(&mut chunk, &outgoing(json.clone()));
            put_message(&mut chunk, &outgoing(json.clone()));
            let expected = format!("{{\"type\":\"message\",\"id\":\"s1\",\"message\":{json}}}");
            assert_eq!(decode(&mut chunk), vec![expected.clone(), expected]);
        }
    }

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        let reason = "é".repeat(100);
        let cut = truncate(&reason, 120);
        assert_eq!(cut.len(), 120);
        assert_eq!(truncate("short", 120), "short");
        assert_eq!(truncate(&"é".repeat(61), 121).len(), 120);
    }
}
