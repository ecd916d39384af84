//! Properties of the whole selector pipeline: any tree prints to text that parses back to the
//! same tree, and no input makes the parser or evaluator panic.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

use super::ast::{CmpOp, Expr, Literal, Operand};
use super::like::LikePattern;
use super::{Selector, MAX_LEN};
use crate::headers::Headers;

fn name() -> impl Strategy<Value = Box<str>> {
    prop_oneof![
        "[a-zA-Z_$][a-zA-Z0-9_$]{0,6}",
        "[a-z\"' -]{1,6}",
        ".{1,4}",
        Just("and".to_owned()),
        Just("Between".to_owned()),
        Just("ios-alert".to_owned()),
    ]
    .prop_map(Into::into)
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        -1e6..1e6f64,
        Just(-0.0),
        Just(1e20),
        Just(1e-7),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        ".{0,6}".prop_map(Literal::string),
        "-?[0-9]{1,3}".prop_map(Literal::string),
        number().prop_map(Literal::number),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        name().prop_map(Operand::Header),
        literal().prop_map(Operand::Literal),
    ]
}

fn like_pattern() -> impl Strategy<Value = LikePattern> {
    prop_oneof![
        "[ab%_'!é]{0,6}".prop_map(|p| LikePattern::new(p, None)),
        "([ab%_']|![!%_]){0,6}".prop_map(|p| LikePattern::new(p, Some('!'))),
        "([ab%_]|'['%_]){0,6}".prop_map(|p| LikePattern::new(p, Some('\''))),
    ]
    .prop_map(|pattern| pattern.expect("generated patterns escape only what can be escaped"))
}

fn predicate() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (
            operand(),
            proptest::sample::select(CmpOp::ALL.to_vec()),
            operand()
        )
            .prop_map(|(left, op, right)| Expr::Compare { left, op, right }),
        (operand(), vec(literal(), 1..4), any::<bool>()).prop_map(|(operand, list, negated)| {
            Expr::In {
                operand,
                list,
                negated,
            }
        }),
        (operand(), like_pattern(), any::<bool>()).prop_map(|(operand, pattern, negated)| {
            Expr::Like {
                operand,
                pattern,
                negated,
            }
        }),
        (operand(), operand(), operand(), any::<bool>()).prop_map(
            |(operand, low, high, negated)| Expr::Between {
                operand,
                low,
                high,
                negated,
            }
        ),
        (operand(), any::<bool>()).prop_map(|(operand, negated)| Expr::IsNull { operand, negated }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    predicate().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(Expr::And),
            vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Pieces of the grammar, valid and not, so that random sequences reach deep into the parser.
const TOKENS: &[&str] = &[
    "a",
    "\"ios-alert\"",
    "'x'",
    "'it''s'",
    "'",
    "\"",
    "10",
    "-5",
    "3.25",
    "1.",
    "-",
    "=",
    "<>",
    "!=",
    "!",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    ",",
    "AND",
    "or",
    "Not",
    "IN",
    "LIKE",
    "ESCAPE",
    "'!'",
    "'%!%'",
    "IS",
    "NULL",
    "BETWEEN",
    "TRUE",
    "false",
    "&",
    "é",
    "$x",
    "_",
];

fn token_soup() -> impl Strategy<Value = String> {
    vec((proptest::sample::select(TOKENS), any::<bool>()), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(token, space)| {
                if space {
                    format!("{token} ")
                } else {
                    token.to_owned()
                }
            })
            .collect()
    })
}

fn sample_headers() -> Headers {
    Headers::parse(&json!({
        "a": 10, "b": "20", "flag": true, "name": "Jacket", "ios-alert": "on", "x": "it's",
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_trees_parse_back_to_the_same_tree(expr in expr()) {
        let printed = expr.to_string();
        prop_assume!(printed.len() <= MAX_LEN);
        let reparsed = Selector::parse(&printed)
            .map_err(|err| TestCaseError::fail(format!("{printed:?} does not parse: {err}")))?;
        prop_assert_eq!(&reparsed.expr, &expr, "printed as {:?}", printed);
        // Evaluation depends on the tree alone, so it cannot tell the two apart either.
        let headers = sample_headers();
        prop_assert_eq!(reparsed.expr.eval(&headers), expr.eval(&headers));
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Selector::parse(&text);
    }

    #[test]
    fn parsing_token_soup_never_panics_and_round_trips(text in token_soup()) {
        if let Ok(selector) = Selector::parse(&text) {
            let printed = selector.to_string();
            let reparsed = Selector::parse(&printed)
                .map_err(|err| TestCaseError::fail(format!("{printed:?} does not parse: {err}")))?;
            prop_assert_eq!(&reparsed, &selector, "{:?} printed as {:?}", text, printed);
            let _ = selector.matches(&sample_headers());
        }
    }
}
