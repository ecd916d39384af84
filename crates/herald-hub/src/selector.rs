//! The selector a live client passes with a subscription, read the same way by every transport.

use herald_core::{ApiError, Selector};

/// The selector a client passed, if any: blank means none.
pub fn parse_selector(text: Option<&str>) -> Result<Option<Selector>, ApiError> {
    match text {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => Ok(Some(Selector::parse(text)?)),
    }
}
