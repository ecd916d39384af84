//! How two present values compare: as booleans when one side is a boolean, as numbers when both
//! read as numbers, otherwise as strings. Nothing here allocates: a JSON number's text is written
//! into a stack buffer and a string's number is parsed in place.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use super::ast::Literal;
use super::number::parse_number;
use super::source::HeaderValue;

/// A present value on one side of a comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Header(HeaderValue<'a>),
    Literal(&'a Literal),
}

impl Val<'_> {
    fn bool(self) -> Option<bool> {
        match self {
            Val::Header(HeaderValue::Bool(b)) => Some(b),
            Val::Literal(Literal::Bool(b)) => Some(*b),
            Val::Header(HeaderValue::Str(s)) => parse_bool(s),
            Val::Literal(Literal::Str { text, .. }) => parse_bool(text),
            Val::Header(HeaderValue::Number(_)) | Val::Literal(Literal::Number { .. }) => None,
        }
    }

    fn is_bool(self) -> bool {
        matches!(
            self,
            Val::Header(HeaderValue::Bool(_)) | Val::Literal(Literal::Bool(_))
        )
    }

    /// Literals know their number already; only header strings cost a parse.
    fn number(self) -> Option<f64> {
        match self {
            Val::Header(HeaderValue::Str(s)) => parse_number(s),
            Val::Header(HeaderValue::Number(n)) => n.as_f64(),
            Val::Header(HeaderValue::Bool(_)) | Val::Literal(Literal::Bool(_)) => None,
            Val::Literal(Literal::Str { number, .. }) => *number,
            Val::Literal(Literal::Number { value, .. }) => Some(*value),
        }
    }

    /// Calls `f` with the value's string form; `None` only if a JSON number's text overflows the
    /// stack buffer, which serde_json's shortest renderings never do.
    pub(crate) fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> Option<R> {
        match self {
            Val::Header(HeaderValue::Str(s)) => Some(f(s)),
            Val::Literal(Literal::Str { text, .. } | Literal::Number { text, .. }) => Some(f(text)),
            Val::Header(HeaderValue::Bool(b)) => Some(f(bool_text(b))),
            Val::Literal(Literal::Bool(b)) => Some(f(bool_text(*b))),
            Val::Header(HeaderValue::Number(n)) => {
                let mut buf = StackText::new();
                write!(buf, "{n}").ok()?;
                Some(f(buf.as_str()))
            }
        }
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Orders two present values, or `None` when they cannot be compared (see [`Val::with_text`]).
pub(crate) fn compare(a: Val<'_>, b: Val<'_>) -> Option<Ordering> {
    if a.is_bool() || b.is_bool() {
        if let (Some(x), Some(y)) = (a.bool(), b.bool()) {
            return Some(x.cmp(&y));
        }
    } else if let Some(ordering) = compare_numbers(a, b) {
        return Some(ordering);
    }
    a.with_text(|x| b.with_text(|y| x.cmp(y))).flatten()
}

fn compare_numbers(a: Val<'_>, b: Val<'_>) -> Option<Ordering> {
    // Ask the literal side first: `importance = 'high'` then never parses the header.
    let (first, second, swapped) = match a {
        Val::Literal(_) => (a, b, false),
        Val::Header(_) => (b, a, true),
    };
    let x = first.number()?;
    let y = second.number()?;
    // Both are finite, so the order is total.
    let ordering = x.partial_cmp(&y)?;
    Some(if swapped {
        ordering.reverse()
    } else {
        ordering
    })
}

/// `true` and `false` in any letter case, as clients that send every header as a string spell
/// booleans.
fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Room for any number serde_json renders without `arbitrary_precision` (at most 24 bytes).
struct StackText {
    buf: [u8; 40],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        Self {
            buf: [0; 40],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Number;

    fn hs(s: &str) -> Val<'_> {
        Val::Header(HeaderValue::Str(s))
    }

    #[test]
    fn numeric_strings_compare_as_numbers() {
        let ten = Literal::number(10.0);
        assert_eq!(
            compare(hs("20"), Val::Literal(&ten)),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(hs("5"), Val::Literal(&ten)), Some(Ordering::Less));
        assert_eq!(
            compare(Val::Literal(&ten), hs("5")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(hs("10.0"), Val::Literal(&ten)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn non_numeric_sides_compare_as_strings_by_bytes() {
        let ten = Literal::number(10.0);
        assert_eq!(
            compare(hs("abc"), Val::Literal(&ten)),
            Some(Ordering::Greater)
        );
        let upper = Literal::string("B");
        assert_eq!(
            compare(hs("a"), Val::Literal(&upper)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn json_numbers_meet_strings_as_their_json_text() {
        let n: Number = serde_json::from_str("1e20").unwrap();
        let header = Val::Header(HeaderValue::Number(&n));
        assert_eq!(header.with_text(str::to_owned), Some("1e+20".to_owned()));
        let word = Literal::string("1e+20x");
        assert_eq!(compare(header, Val::Literal(&word)), Some(Ordering::Less));
        let twenty: Number = 20.into();
        let same = Literal::string("20");
        assert_eq!(
            compare(
                Val::Header(HeaderValue::Number(&twenty)),
                Val::Literal(&same)
            ),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn booleans_accept_strings_in_any_case() {
        let t = Literal::Bool(true);
        assert_eq!(compare(hs("TRUE"), Val::Literal(&t)), Some(Ordering::Equal));
        assert_eq!(compare(hs("false"), Val::Literal(&t)), Some(Ordering::Less));
        assert_eq!(
            compare(Val::Header(HeaderValue::Bool(true)), Val::Literal(&t)),
            Some(Ordering::Equal)
        );
        // Not a boolean spelling: compared as the strings "yes" and "true".
        assert_eq!(
            compare(hs("yes"), Val::Literal(&t)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn stack_text_refuses_to_overflow() {
        let mut buf = StackText::new();
        assert!(write!(buf, "{}", "x".repeat(40)).is_ok());
        assert!(write!(buf, "y").is_err());
        assert_eq!(buf.as_str().len(), 40);
    }
}
