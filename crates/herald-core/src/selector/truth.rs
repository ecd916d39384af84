//! SQL's three truth values. A missing header makes a predicate `Unknown`, and `Unknown` must
//! survive `NOT` so that `NOT (foo = 1)` does not select messages that lack `foo`.

/// The result of a condition; a selector matches only on `True`. The variant order
/// False < Unknown < True makes AND the minimum and OR the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Truth {
    False,
    Unknown,
    True,
}

impl Truth {
    pub(crate) fn from_bool(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    pub(crate) fn not(self) -> Self {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }

    pub(crate) fn and(self, other: Self) -> Self {
        self.min(other)
    }

    pub(crate) fn or(self, other: Self) -> Self {
        self.max(other)
    }
}

#[cfg(test)]
mod tests {
    use super::Truth::{self, *};

    #[test]
    fn not_keeps_unknown() {
        assert_eq!(True.not(), False);
        assert_eq!(False.not(), True);
        assert_eq!(Unknown.not(), Unknown);
    }

    #[test]
    fn and_or_follow_the_sql_tables() {
        // (a, b, a AND b, a OR b)
        let table: [(Truth, Truth, Truth, Truth); 9] = [
            (True, True, True, True),
            (True, False, False, True),
            (True, Unknown, Unknown, True),
            (False, True, False, True),
            (False, False, False, False),
            (False, Unknown, False, Unknown),
            (Unknown, True, Unknown, True),
            (Unknown, False, False, Unknown),
            (Unknown, Unknown, Unknown, Unknown),
        ];
        for (a, b, and, or) in table {
            assert_eq!(a.and(b), and, "{a:?} AND {b:?}");
            assert_eq!(a.or(b), or, "{a:?} OR {b:?}");
        }
    }
}
