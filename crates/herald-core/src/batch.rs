//! What one message on the dispatch route carries: one envelope (a JSON object, from ingest), or a
//! batch of them (a JSON array of envelopes, from the scheduler, which fires many occurrences at
//! once and so pays for one broker message and one confirm instead of one per occurrence).

use serde_json::value::RawValue;

use crate::envelope::EnvelopeError;

/// Most bytes of envelopes the scheduler puts in one batch: a batch is one broker message, and
/// brokers (and the dispatcher's memory) prefer them small. A larger envelope goes alone.
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// A batch of encoded envelopes: `[e1,e2,...]`.
pub fn encode_batch<'a>(envelopes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = vec![b'['];
    for (i, envelope) in envelopes.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(envelope);
    }
    body.push(b']');
    body
}

/// Whether a dispatch-route message is a batch (a JSON array) rather than one envelope.
pub fn is_batch(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// The envelopes a dispatch-route message carries, each still encoded (as sent to live nodes).
pub fn split_batch(body: &[u8]) -> Result<Vec<&[u8]>, EnvelopeError> {
    if !is_batch(body) {
        return Ok(vec![body]);
    }
    let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(EnvelopeError::Malformed)?;
    Ok(items.into_iter().map(|raw| raw.get().as_bytes()).collect())
}

/// Groups encoded envelopes into batches of at most [`MAX_BATCH_BYTES`] (an envelope larger than
/// that makes a batch of its own), in order.
pub fn chunk_by_size<T: AsRef<[u8]>>(envelopes: &[T]) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, envelope) in envelopes.iter().enumerate() {
        let len = envelope.as_ref().len();
        if i > start && bytes + len > MAX_BATCH_BYTES {
            chunks.push(&envelopes[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += len;
    }
    if start < envelopes.len() {
        chunks.push(&envelopes[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_back_into_its_envelopes_and_a_single_envelope_is_itself() {
        let envelopes: [&[u8]; 2] = [br#"{"v":1,"a":[1,2]}"#, br#"{"v":1,"b":"x,]"}"#];
        let body = encode_batch(envelopes);
        assert_eq!(split_batch(&body).unwrap(), envelopes);
        let single = br#"{"v":1}"#;
        assert_eq!(split_batch(single).unwrap(), vec![&single[..]]);
        assert!(is_batch(b" [") && !is_batch(single));
        assert!(split_batch(b"[{").is_err());
        assert_eq!(split_batch(&encode_batch([])).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn batches_stay_under_the_byte_limit_and_keep_the_order() {
        let big = vec![b'x'; MAX_BATCH_BYTES + 1];
        let small = vec![b'y'; MAX_BATCH_BYTES / 3];
        let envelopes = vec![
            small.clone(),
            small.clone(),
            small.clone(),
            big.clone(),
            small.clone(),
        ];
        let chunks = chunk_by_size(&envelopes);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [3, 1, 1]);
        assert_eq!(chunks.concat(), envelopes);
        assert!(chunk_by_size::<Vec<u8>>(&[]).is_empty());
    }
}
