//! `LIKE` patterns: `%` matches any run of characters, `_` exactly one, and an optional escape
//! character makes the next `%`, `_` or escape character literal.
//!
//! Matching is the iterative two-pointer wildcard algorithm: on a mismatch it backtracks only to
//! the most recent `%`, so a hostile pattern such as `%a%a%a%b` costs at most
//! O(pattern × subject) steps, never exponential time, and it allocates nothing.

/// One compiled pattern element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

/// A compiled pattern that remembers its spelling, so the selector prints back as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LikePattern {
    text: Box<str>,
    escape: Option<char>,
    tokens: Box<[Token]>,
}

/// The pattern's escape character is followed by something it cannot escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DanglingEscape;

impl LikePattern {
    pub(crate) fn new(
        text: impl Into<Box<str>>,
        escape: Option<char>,
    ) -> Result<Self, DanglingEscape> {
        let text = text.into();
        let mut tokens = Vec::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let token = if Some(c) == escape {
                match chars.next() {
                    Some(next) if next == c || next == '%' || next == '_' => Token::Char(next),
                    _ => return Err(DanglingEscape),
                }
            } else {
                match c {
                    '%' => Token::Any,
                    '_' => Token::One,
                    other => Token::Char(other),
                }
            };
            tokens.push(token);
        }
        Ok(Self {
            text,
            escape,
            tokens: tokens.into(),
        })
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn escape(&self) -> Option<char> {
        self.escape
    }

    pub(crate) fn matches(&self, subject: &str) -> bool {
        let tokens = &self.tokens[..];
        let (mut p, mut i) = (0, 0);
        // Where to resume after the last `%`: the token after it and the subject byte it
        // currently starts absorbing from.
        let mut resume: Option<(usize, usize)> = None;
        loop {
            let next = subject[i..].chars().next();
            let advanced = match (tokens.get(p), next) {
                (Some(Token::Any), _) => {
                    resume = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                (Some(Token::One), Some(c)) => Some(c.len_utf8()),
                (Some(Token::Char(t)), Some(c)) if *t == c => Some(c.len_utf8()),
                (None, None) => return true,
                _ => None,
            };
            if let Some(width) = advanced {
                p += 1;
                i += width;
                continue;
            }
            // Mismatch: let the last `%` absorb one more character, or fail without one.
            let Some((after_any, start)) = resume else {
                return false;
            };
            let Some(c) = subject[start..].chars().next() else {
                return false;
            };
            let start = start + c.len_utf8();
            resume = Some((after_any, start));
            p = after_any;
            i = start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn like(pattern: &str, subject: &str) -> bool {
        LikePattern::new(pattern, None).unwrap().matches(subject)
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(like("%x%", "abxcd"));
        assert!(like("x%", "xyz"));
        assert!(like("%z", "xyz"));
        assert!(!like("%z", "xyza"));
        assert!(like("a_c", "abc"));
        assert!(
            like("a_c", "aéc"),
            "underscore takes a character, not a byte"
        );
        assert!(!like("a_c", "ac"));
        assert!(like("%", ""));
        assert!(like("", ""));
        assert!(!like("", "a"));
        assert!(!like("ABC", "abc"), "matching is case-sensitive");
        assert!(like("%a%b%c%", "xxaxxbxxcxx"));
        assert!(!like("%a%b%c%", "xxcxxbxxaxx"));
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        let p = LikePattern::new("100!%", Some('!')).unwrap();
        assert!(p.matches("100%"));
        assert!(!p.matches("1000"));
        let p = LikePattern::new("a!_b!!%", Some('!')).unwrap();
        assert!(p.matches("a_b!"));
        assert!(p.matches("a_b!tail"));
        assert!(!p.matches("axb!"));
        assert_eq!(LikePattern::new("a!", Some('!')), Err(DanglingEscape));
        assert_eq!(LikePattern::new("a!b", Some('!')), Err(DanglingEscape));
    }

    #[test]
    fn hostile_patterns_finish_quickly() {
        let subject = "a".repeat(4000);
        let pattern = format!("{}b", "%a".repeat(1000));
        assert!(!like(&pattern, &subject));
    }

    /// The definition, written for clarity and exponential in the worst case.
    fn reference(tokens: &[Token], subject: &[char]) -> bool {
        match tokens.split_first() {
            None => subject.is_empty(),
            Some((Token::Any, rest)) => (0..=subject.len()).any(|k| reference(rest, &subject[k..])),
            Some((Token::One, rest)) => !subject.is_empty() && reference(rest, &subject[1..]),
            Some((Token::Char(c), rest)) => {
                subject.first() == Some(c) && reference(rest, &subject[1..])
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference(pattern in "[ab%_é]{0,8}", subject in "[abé]{0,10}") {
            let compiled = LikePattern::new(pattern.as_str(), None).unwrap();
            let chars: Vec<char> = subject.chars().collect();
            prop_assert_eq!(compiled.matches(&subject), reference(&compiled.tokens, &chars));
        }

        #[test]
        fn escaped_patterns_agree_with_the_reference(
            pattern in "([ab%_]|![!%_]){0,8}",
            subject in "[ab!%_]{0,10}",
        ) {
            let compiled = LikePattern::new(pattern.as_str(), Some('!')).unwrap();
            let chars: Vec<char> = subject.chars().collect();
            prop_assert_eq!(compiled.matches(&subject), reference(&compiled.tokens, &chars));
        }
    }
}
