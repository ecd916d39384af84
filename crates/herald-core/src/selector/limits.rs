//! How large a selector may be. The bounds keep the recursive parser, evaluator and printer within
//! a small stack, and a subscription's compiled tree small, whatever a client sends.

/// The longest selector text accepted, in bytes.
pub const MAX_LEN: usize = 4096;

/// How deeply parentheses and `NOT` may nest.
pub const MAX_DEPTH: usize = 64;
