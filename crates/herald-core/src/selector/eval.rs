//! Evaluates a compiled selector against one message's headers in SQL's three-valued logic.
//! Runs once per message per subscriber, so it borrows everything and allocates nothing.

use super::ast::{CmpOp, Expr, Operand};
use super::source::HeaderSource;
use super::truth::Truth;
use super::value::{compare, Val};

impl Expr {
    pub(crate) fn eval(&self, source: &(impl HeaderSource + ?Sized)) -> Truth {
        match self {
            Expr::Or(operands) => {
                let mut result = Truth::False;
                for operand in operands {
                    result = result.or(operand.eval(source));
                    if result == Truth::True {
                        break;
                    }
                }
                result
            }
            Expr::And(operands) => {
                let mut result = Truth::True;
                for operand in operands {
                    result = result.and(operand.eval(source));
                    if result == Truth::False {
                        break;
                    }
                }
                result
            }
            Expr::Not(inner) => inner.eval(source).not(),
            Expr::Compare { left, op, right } => compare_operands(source, left, *op, right),
            Expr::In {
                operand,
                list,
                negated,
            } => {
                let Some(value) = resolve(source, operand) else {
                    return Truth::Unknown;
                };
                // The list holds literals only, none of them NULL, so a present value is either
                // in it or not.
                let mut result = Truth::False;
                for literal in list {
                    result = result.or(holds(CmpOp::Eq, value, Val::Literal(literal)));
                    if result == Truth::True {
                        break;
                    }
                }
                negate_if(result, *negated)
            }
            Expr::Like {
                operand,
                pattern,
                negated,
            } => {
                let Some(value) = resolve(source, operand) else {
                    return Truth::Unknown;
                };
                let result = value
                    .with_text(|text| Truth::from_bool(pattern.matches(text)))
                    .unwrap_or(Truth::Unknown);
                negate_if(result, *negated)
            }
            Expr::Between {
                operand,
                low,
                high,
                negated,
            } => {
                let result = compare_operands(source, operand, CmpOp::Ge, low)
                    .and(compare_operands(source, operand, CmpOp::Le, high));
                negate_if(result, *negated)
            }
            Expr::IsNull { operand, negated } => {
                let missing = resolve(source, operand).is_none();
                Truth::from_bool(missing != *negated)
            }
        }
    }
}

fn resolve<'a>(source: &'a (impl HeaderSource + ?Sized), operand: &'a Operand) -> Option<Val<'a>> {
    match operand {
        Operand::Header(name) => source.header(name).map(Val::Header),
        Operand::Literal(literal) => Some(Val::Literal(literal)),
    }
}

fn compare_operands(
    source: &(impl HeaderSource + ?Sized),
    left: &Operand,
    op: CmpOp,
    right: &Operand,
) -> Truth {
    match (resolve(source, left), resolve(source, right)) {
        (Some(a), Some(b)) => holds(op, a, b),
        _ => Truth::Unknown,
    }
}

fn holds(op: CmpOp, a: Val<'_>, b: Val<'_>) -> Truth {
    compare(a, b).map_or(Truth::Unknown, |ordering| {
        Truth::from_bool(op.holds(ordering))
    })
}

fn negate_if(truth: Truth, negated: bool) -> Truth {
    if negated {
        truth.not()
    } else {
        truth
    }
}

#[cfg(test)]
mod tests {
    use crate::headers::Headers;
    use crate::selector::Selector;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    fn headers(value: Value) -> Headers {
        Headers::parse(&value).unwrap()
    }

    fn matches(selector: &str, value: Value) -> bool {
        Selector::parse(selector).unwrap().matches(&headers(value))
    }

    #[test]
    fn numeric_comparison_as_observed_on_backendless() {
        let selector = Selector::parse("foo > 10").unwrap();
        let published = [
            json!({"foo": 20}),
            json!({"foo": 10}),
            json!({"foo": 50}),
            json!({"foo": 5}),
            json!({}),
        ];
        let delivered: Vec<_> = published
            .iter()
            .filter(|h| selector.matches(&headers((*h).clone())))
            .collect();
        assert_eq!(delivered, [&json!({"foo": 20}), &json!({"foo": 50})]);

        let as_strings = ["20", "10", "50", "5"].map(|v| json!({ "foo": v }));
        let delivered: Vec<_> = as_strings
            .iter()
            .filter(|h| selector.matches(&headers((*h).clone())))
            .collect();
        assert_eq!(delivered, [&json!({"foo": "20"}), &json!({"foo": "50"})]);
    }

    #[test]
    fn every_comparison_operator() {
        let h = json!({"n": 5, "s": "m"});
        let cases = [
            ("n = 5", true),
            ("n = 6", false),
            ("n <> 5", false),
            ("n != 6", true),
            ("n < 6", true),
            ("n < 5", false),
            ("n <= 5", true),
            ("n <= 4", false),
            ("n > 4", true),
            ("n > 5", false),
            ("n >= 5", true),
            ("n >= 6", false),
            ("s < 'n'", true),
            ("s > 'N'", true),
            ("s >= 'm'", true),
            ("6 > n", true),
            ("'m' = s", true),
            ("n = n", true),
            ("n = s", false),
            ("1 = 1", true),
            ("'a' = 'b'", false),
        ];
        for (selector, expected) in cases {
            assert_eq!(matches(selector, h.clone()), expected, "{selector}");
        }
    }

    #[test]
    fn in_like_between_and_is_null() {
        let h = json!({"region": "eu", "n": 20, "name": "Jacket", "flag": "TRUE"});
        let cases = [
            ("region IN ('eu', 'us')", true),
            ("region IN ('us')", false),
            ("region NOT IN ('us', 'asia')", true),
            ("n IN (10, '20')", true),
            ("name LIKE 'Jack%'", true),
            ("name LIKE '%ck_t'", true),
            ("name LIKE 'jack%'", false),
            ("name NOT LIKE '%x%'", true),
            ("n LIKE '2_'", true),
            ("flag LIKE 'TR%'", true),
            ("n BETWEEN 10 AND 20", true),
            ("n BETWEEN 21 AND 30", false),
            ("n NOT BETWEEN 21 AND 30", true),
            ("name BETWEEN 'A' AND 'K'", true),
            ("n IS NULL", false),
            ("gone IS NULL", true),
            ("n IS NOT NULL", true),
            ("gone IS NOT NULL", false),
            ("flag = TRUE", true),
            ("flag = FALSE", false),
            ("flag IN (TRUE)", true),
        ];
        for (selector, expected) in cases {
            assert_eq!(matches(selector, h.clone()), expected, "{selector}");
        }
    }

    #[test]
    fn missing_headers_are_unknown_even_under_not() {
        let empty = json!({});
        for selector in [
            "foo = 1",
            "NOT foo = 1",
            "NOT (foo = 1)",
            "foo <> 1",
            "foo IN (1)",
            "foo NOT IN (1)",
            "foo LIKE '%'",
            "foo NOT LIKE 'x'",
            "foo BETWEEN 1 AND 2",
            "foo NOT BETWEEN 1 AND 2",
            "foo = bar",
            "NOT NOT foo = 1",
        ] {
            assert!(
                !matches(selector, empty.clone()),
                "{selector} matched without foo"
            );
        }
    }

    #[test]
    fn unknown_combines_as_in_sql() {
        let h = json!({"a": 1});
        let cases = [
            ("a = 1 AND x = 1", false),       // TRUE AND UNKNOWN = UNKNOWN
            ("NOT (a = 1 AND x = 1)", false), // NOT UNKNOWN = UNKNOWN
            ("a = 2 AND x = 1", false),       // FALSE AND UNKNOWN = FALSE ...
            ("NOT (a = 2 AND x = 1)", true),  // ... so its NOT is TRUE
            ("a = 1 OR x = 1", true),         // TRUE OR UNKNOWN = TRUE
            ("a = 2 OR x = 1", false),        // FALSE OR UNKNOWN = UNKNOWN
            ("NOT (a = 2 OR x = 1)", false),
            ("x = 1 OR x IS NULL", true),
            ("a BETWEEN 0 AND x", false),    // TRUE AND UNKNOWN
            ("a BETWEEN 2 AND x", false),    // FALSE AND UNKNOWN = FALSE ...
            ("a NOT BETWEEN 2 AND x", true), // ... so NOT BETWEEN is TRUE
        ];
        for (selector, expected) in cases {
            assert_eq!(matches(selector, h.clone()), expected, "{selector}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // a=1 OR (b=1 AND c=1)
        assert!(matches(
            "a=1 OR b=1 AND c=1",
            json!({"a": 1, "b": 0, "c": 0})
        ));
        assert!(!matches(
            "a=0 OR b=1 AND c=1",
            json!({"a": 1, "b": 1, "c": 0})
        ));
        // (NOT a=1) AND b=1
        assert!(matches("NOT a=1 AND b=1", json!({"a": 0, "b": 1})));
        assert!(!matches("NOT a=1 AND b=1", json!({"a": 0, "b": 0})));
        assert!(matches("NOT (a=1 AND b=1)", json!({"a": 1, "b": 0})));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let h = json!({"a": 1, "r": "eu", "s": "xyz"});
        for selector in [
            "a = 1 and r = 'eu'",
            "a = 2 Or r = 'eu'",
            "r not in ('us')",
            "s like 'x%'",
            "s Not Like 'a%'",
            "a is not null",
            "b Is Null",
            "a between 0 And 2",
            "not a = 2",
            "a = true or a = 1",
        ] {
            assert!(matches(selector, h.clone()), "{selector}");
        }
    }

    #[test]
    fn quoted_names_and_escaped_strings() {
        assert!(matches("\"ios-alert\" = 'on'", json!({"ios-alert": "on"})));
        assert!(matches("note = 'it''s'", json!({"note": "it's"})));
        assert!(matches("p LIKE '100!%' ESCAPE '!'", json!({"p": "100%"})));
        assert!(!matches("p LIKE '100!%' ESCAPE '!'", json!({"p": "1000"})));
    }

    #[test]
    fn wire_headers_evaluate_like_typed_ones() {
        let selector = Selector::parse("foo > 10 AND flag = true").unwrap();
        let wire = BTreeMap::from([
            ("foo".to_owned(), "20".to_owned()),
            ("flag".to_owned(), "true".to_owned()),
        ]);
        assert!(selector.matches_with(&wire));
        assert!(!selector.matches_with(&BTreeMap::<String, String>::new()));
    }

    #[test]
    fn numeric_strings_on_both_sides_compare_as_numbers() {
        assert!(matches("code = '007'", json!({"code": "7"})));
        assert!(matches("v > '9'", json!({"v": "10"})));
        assert!(matches("v > '9'", json!({"v": 10})));
        assert!(
            matches("v < 'abc'", json!({"v": 10})),
            "\"10\" < \"abc\" as strings"
        );
    }
}
