//! Selectors: the SQL-92 `WHERE`-clause conditions a subscriber attaches to receive only the
//! messages whose headers satisfy them (reference §5). A selector is compiled once when the
//! subscription is made ([`Selector::parse`]) and evaluated per message without allocating
//! ([`Selector::matches`]).
//!
//! # Grammar
//!
//! Keywords are case-insensitive. From loosest to tightest: `OR`, `AND`, `NOT`, then a single
//! predicate, so `NOT a = 1 AND b = 1` is `(NOT (a = 1)) AND (b = 1)`.
//!
//! - comparisons `= <> != < <= > >=`, with a header or a literal on either side (`10 < foo`,
//!   `a = b`);
//! - `x [NOT] IN (v1, v2, ...)` with literal values;
//! - `x [NOT] LIKE 'pattern' [ESCAPE 'c']`, where `%` is any run of characters and `_` one;
//! - `x [NOT] BETWEEN low AND high`, meaning `x >= low AND x <= high`;
//! - `x IS [NOT] NULL`.
//!
//! Literals: `'strings'` with `''` for a quote; numbers `-?digits(.digits)?` (no exponent);
//! `TRUE`, `FALSE`. `NULL` appears only in `IS [NOT] NULL`: `x = NULL`, never true in SQL, is
//! refused as the mistake it almost always is. Header names are bare (a letter, `_` or `$`, then
//! letters, digits, `_`, `$`) or double-quoted with `""` for a quote (`"ios-alert"`).
//!
//! # Meaning
//!
//! - A missing header is SQL `NULL`: any predicate on it except `IS [NOT] NULL` is unknown, and
//!   unknown survives `NOT`, so `NOT foo = 1` does not select a message without `foo`. `AND` and
//!   `OR` follow SQL's tables (`FALSE AND unknown` is false, `TRUE OR unknown` true). A message
//!   matches only when the whole condition is true.
//! - Two values compare as booleans when either is a boolean and the other is a boolean or the
//!   string `true`/`false` in any case; as numbers when both are numbers or strings that read
//!   fully as a decimal number (`"20"`, `'20'`, `1.5e3`); otherwise as strings, by byte order and
//!   case-sensitively. A JSON number's string is its JSON text (`20`), a boolean's `true`/`false`.
//!   This is why `foo > 10` matches a header `20` or `"20"` but neither `"10"` nor `5`, as the
//!   Backendless server does, and also why `'007' = '7'` holds.
//! - `LIKE` matches the string form, case-sensitively; `IN` holds when any value is equal under
//!   the rules above.

mod ast;
mod display;
mod error;
#[cfg(test)]
mod error_messages;
mod eval;
mod lexer;
mod like;
mod limits;
mod number;
mod parser;
#[cfg(test)]
mod proptests;
mod source;
mod truth;
mod value;

use std::fmt;
use std::str::FromStr;

use crate::error::{ApiError, ErrorKind};

pub use error::SelectorError;
pub use limits::{MAX_DEPTH, MAX_LEN};
pub use source::{HeaderSource, HeaderValue};

use crate::headers::Headers;
use truth::Truth;

/// A compiled selector. Two selectors are equal when they compile to the same tree, whatever
/// their spelling; code that needs the exact text (Backendless removes listeners by it) compares
/// [`Selector::as_str`].
#[derive(Debug, Clone)]
pub struct Selector {
    text: Box<str>,
    expr: ast::Expr,
}

impl Selector {
    /// Compiles `text`, refusing it with the position and cause of the first problem.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        if text.len() > MAX_LEN {
            return Err(SelectorError::TooLong { len: text.len() });
        }
        let expr = parser::parse(text)?;
        Ok(Self {
            text: text.into(),
            expr,
        })
    }

    /// Whether a published message with these headers is delivered to the subscriber.
    pub fn matches(&self, headers: &Headers) -> bool {
        self.matches_with(headers)
    }

    /// Like [`Selector::matches`], for any source of headers, such as the all-string wire form.
    pub fn matches_with(&self, source: &(impl HeaderSource + ?Sized)) -> bool {
        self.expr.eval(source) == Truth::True
    }

    /// The text the selector was compiled from, exactly as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

/// Prints the canonical form of the compiled tree, which parses back to an equal selector.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

/// An invalid selector answers with the selector error code (9021), its message pointing at the
/// problem.
impl From<SelectorError> for ApiError {
    fn from(err: SelectorError) -> Self {
        ApiError::new(
            ErrorKind::InvalidSelector,
            format!("invalid selector: {err}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_text_and_prints_the_canonical_form() {
        let selector = Selector::parse("importance='high' and customerId=55561").unwrap();
        assert_eq!(selector.as_str(), "importance='high' and customerId=55561");
        assert_eq!(
            selector.to_string(),
            "importance = 'high' AND customerId = 55561"
        );
        assert_eq!(Selector::parse(&selector.to_string()).unwrap(), selector);
    }

    #[test]
    fn documented_examples_compile_and_match() {
        let headers = Headers::parse(&json!({
            "importance": "high", "customerId": 55561, "foo": "bar", "city": "Tokyo",
        }))
        .unwrap();
        for text in [
            "importance = 'high'",
            "importance = 'high' and customerId = 55561",
            "foo = 'bar'",
            "city = 'Tokyo'",
        ] {
            assert!(Selector::parse(text).unwrap().matches(&headers), "{text}");
        }
    }

    #[test]
    fn invalid_selectors_become_the_selector_api_error() {
        let err: ApiError = Selector::parse("foo =").unwrap_err().into();
        assert_eq!(err.kind, ErrorKind::InvalidSelector);
        assert_eq!(err.kind.code(), 9021);
        assert_eq!(
            err.message,
            "invalid selector: expected a value after '=' at position 5, found end of input"
        );
    }
}
