//! What a refused selector's error says, and where it points: tests through [`Selector::parse`].

use super::limits::{MAX_DEPTH, MAX_LEN};
use super::{Selector, SelectorError};

fn message(text: &str) -> String {
    Selector::parse(text).unwrap_err().to_string()
}

#[test]
fn invalid_selectors_say_what_was_expected_where() {
    let cases = [
        (
            "foo =",
            "expected a value after '=' at position 5, found end of input",
        ),
        ("= 1", "expected a condition at position 0, found '='"),
        (
            "foo = 'abc",
            "expected a closing quote for the string at position 6, found end of input",
        ),
        (
            "(a = 1",
            "expected AND, OR or ')' at position 6, found end of input",
        ),
        (
            "a = 1)",
            "expected AND, OR or end of input at position 5, found ')'",
        ),
        (
            "a LIKE 5",
            "expected a quoted pattern after LIKE at position 7, found number 5",
        ),
        (
            "a IN ()",
            "expected a value in the IN list at position 6, found ')'",
        ),
        ("", "expected a condition at position 0, found end of input"),
        (
            "   ",
            "expected a condition at position 3, found end of input",
        ),
        (
            "foo = 'x' & age>35",
            "expected AND, OR or end of input at position 10, found '&'",
        ),
        (
            "foo=123 & age>35",
            "expected AND, OR or end of input at position 8, found '&'",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(message(text), expected, "selector {text:?}");
    }
}

#[test]
fn more_invalid_selectors_name_the_problem() {
    let cases = [
        ("foo", "expected a comparison operator, IN, LIKE, BETWEEN or IS after header name foo at position 3, found end of input"),
        ("a = NULL", "NULL can only be tested with IS NULL or IS NOT NULL at position 4"),
        ("a IS 5", "expected NULL or NOT NULL after IS at position 5, found number 5"),
        ("a BETWEEN 1 OR 2", "expected AND between the BETWEEN bounds at position 12, found keyword OR"),
        ("a LIKE 'x' ESCAPE 'ab'", "expected a single-character escape after ESCAPE at position 18, found string 'ab'"),
        ("a LIKE 'x!' ESCAPE '!'", "the escape character must be followed by '%', '_' or itself in the pattern at position 7"),
        ("\"\" = 1", "header names cannot be empty at position 0"),
        ("\"ios-alert = 1", "expected a closing double quote for the header name at position 0, found end of input"),
        ("a = 1.", "expected a digit after the decimal point at position 6, found end of input"),
        ("a = - 1", "expected a value after '=' at position 4, found '-'"),
        ("a = 1 AND", "expected a condition at position 9, found end of input"),
        ("NOT", "expected a condition at position 3, found end of input"),
        ("a ! 1", "expected a comparison operator, IN, LIKE, BETWEEN or IS after header name a at position 2, found '!'"),
        ("a NOT = 1", "expected IN, LIKE or BETWEEN after NOT at position 6, found '='"),
        ("é = 'x' AND ü", "expected a comparison operator, IN, LIKE, BETWEEN or IS after header name ü at position 13, found end of input"),
    ];
    for (text, expected) in cases {
        assert_eq!(message(text), expected, "selector {text:?}");
    }
}

#[test]
fn huge_numbers_are_refused() {
    let text = format!("a = 1{}", "0".repeat(400));
    assert_eq!(
        message(&text),
        "number out of range for a double at position 4"
    );
}

#[test]
fn limits_are_enforced_with_clear_errors() {
    let long = format!("a = '{}'", "x".repeat(MAX_LEN));
    let err = Selector::parse(&long).unwrap_err();
    assert!(matches!(err, SelectorError::TooLong { .. }), "{err}");
    assert_eq!(err.position(), MAX_LEN);

    let deep_ok = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Selector::parse(&deep_ok).is_ok());
    let too_deep = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let err = Selector::parse(&too_deep).unwrap_err();
    assert_eq!(
        err,
        SelectorError::TooDeep {
            position: MAX_DEPTH
        }
    );

    let nots = format!("{}a = 1", "NOT ".repeat(MAX_DEPTH + 1));
    assert!(matches!(
        Selector::parse(&nots).unwrap_err(),
        SelectorError::TooDeep { .. }
    ));
}
