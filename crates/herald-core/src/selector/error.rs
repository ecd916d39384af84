//! Why a selector text was refused, pointing at the character where reading stopped so a client
//! can show its user the spot.

use super::limits::{MAX_DEPTH, MAX_LEN};

/// A selector that does not compile. Positions count characters (not bytes) from 0, so they
/// agree with what a JavaScript client sees as a string index for text in the Basic Multilingual
/// Plane.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The text stopped following the grammar: the message names what could come next and what
    /// was there instead.
    #[error("expected {expected} at position {position}, found {found}")]
    Unexpected {
        position: usize,
        expected: String,
        found: String,
    },
    /// The text follows the grammar but says something herald refuses, such as a number too large
    /// for a double or a `NULL` compared with `=`.
    #[error("{problem} at position {position}")]
    Invalid { position: usize, problem: String },
    /// Parentheses and `NOT`s nest deeper than [`MAX_DEPTH`]; the bound keeps the recursive
    /// parser, evaluator and printer within a small stack whatever a client sends.
    #[error("expected at most {MAX_DEPTH} levels of parentheses and NOT at position {position}, found more")]
    TooDeep { position: usize },
    /// The text is longer than [`MAX_LEN`] bytes.
    #[error("expected a selector of at most {MAX_LEN} bytes, found {len} bytes")]
    TooLong { len: usize },
}

impl SelectorError {
    /// The 0-based character position the error points at; for [`SelectorError::TooLong`],
    /// [`MAX_LEN`], as the limit itself counts bytes.
    pub fn position(&self) -> usize {
        match self {
            Self::Unexpected { position, .. }
            | Self::Invalid { position, .. }
            | Self::TooDeep { position } => *position,
            Self::TooLong { .. } => MAX_LEN,
        }
    }
}

/// Turns a byte offset in `text` into the character position errors report.
pub(crate) fn char_position(text: &str, byte: usize) -> usize {
    let mut end = byte.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(char_position("é = 1", 2), 1);
        assert_eq!(char_position("é = 1", 1), 0);
        assert_eq!(char_position("ab", 99), 2);
    }
}
