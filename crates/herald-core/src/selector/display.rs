//! Prints a compiled selector in canonical form: upper-case keywords, single spaces, `<>` for
//! inequality, names quoted only when a bare name cannot spell them, and parentheses only where
//! the tree needs them. Parsing the print yields the same tree, which the property tests check.

use std::fmt::{self, Display, Formatter, Write as _};

use super::ast::{Expr, Literal, Operand};
use super::lexer::{is_name_continue, is_name_start, Keyword};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(operands) => join(f, operands, " OR ", |e| matches!(e, Expr::Or(_))),
            // An OR below an AND needs parentheses to keep its place; so does an AND the text
            // had grouped on its own, or it would merge into this chain when read back.
            Expr::And(operands) => join(f, operands, " AND ", |e| {
                matches!(e, Expr::Or(_) | Expr::And(_))
            }),
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                grouped(f, inner, matches!(**inner, Expr::Or(_) | Expr::And(_)))
            }
            Expr::Compare { left, op, right } => write!(f, "{left} {} {right}", op.symbol()),
            Expr::In {
                operand,
                list,
                negated,
            } => {
                write!(f, "{operand} {}IN (", not(*negated))?;
                for (i, literal) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{literal}")?;
                }
                f.write_char(')')
            }
            Expr::Like {
                operand,
                pattern,
                negated,
            } => {
                write!(f, "{operand} {}LIKE ", not(*negated))?;
                quote(f, pattern.text(), '\'')?;
                if let Some(escape) = pattern.escape() {
                    f.write_str(" ESCAPE ")?;
                    quote(f, escape.encode_utf8(&mut [0; 4]), '\'')?;
                }
                Ok(())
            }
            Expr::Between {
                operand,
                low,
                high,
                negated,
            } => write!(f, "{operand} {}BETWEEN {low} AND {high}", not(*negated)),
            Expr::IsNull { operand, negated } => {
                write!(f, "{operand} IS {}NULL", not(*negated))
            }
        }
    }
}

fn join(
    f: &mut Formatter<'_>,
    operands: &[Expr],
    separator: &str,
    needs_parens: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        grouped(f, operand, needs_parens(operand))?;
    }
    Ok(())
}

fn grouped(f: &mut Formatter<'_>, expr: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Header(name) if is_bare_name(name) => f.write_str(name),
            Operand::Header(name) => quote(f, name, '"'),
            Operand::Literal(literal) => write!(f, "{literal}"),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str { text, .. } => quote(f, text, '\''),
            Literal::Number { text, .. } => f.write_str(text),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
        }
    }
}

/// Whether `name` reads back as the same header when written bare: it has the shape of a name
/// and is not a keyword.
fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start)
        && chars.all(is_name_continue)
        && Keyword::lookup(name).is_none()
}

/// Writes `text` between `quote`s, doubling any quote inside.
fn quote(f: &mut Formatter<'_>, text: &str, quote: char) -> fmt::Result {
    f.write_char(quote)?;
    for c in text.chars() {
        if c == quote {
            f.write_char(quote)?;
        }
        f.write_char(c)?;
    }
    f.write_char(quote)
}

#[cfg(test)]
mod tests {
    use crate::selector::Selector;

    fn canonical(text: &str) -> String {
        Selector::parse(text).unwrap().to_string()
    }

    #[test]
    fn prints_keywords_operators_and_spacing_canonically() {
        let cases = [
            ("a=1", "a = 1"),
            ("a != 1 and b<>'x'", "a <> 1 AND b <> 'x'"),
            ("a not in (1,'b',true)", "a NOT IN (1, 'b', TRUE)"),
            ("a like '%x!%' escape '!'", "a LIKE '%x!%' ESCAPE '!'"),
            ("a not between -1.50 and 2", "a NOT BETWEEN -1.5 AND 2"),
            ("a is not null or b IS NULL", "a IS NOT NULL OR b IS NULL"),
            ("10 < foo", "10 < foo"),
            ("a = b", "a = b"),
            ("x = 'it''s'", "x = 'it''s'"),
            ("\"ios-alert\" = 1", "\"ios-alert\" = 1"),
            ("\"and\" = 1", "\"and\" = 1"),
            ("\"plain\" = 1", "plain = 1"),
            ("\"say \"\"hi\"\"\" = 1", "\"say \"\"hi\"\"\" = 1"),
            ("a = 007", "a = 7"),
            ("a = -0", "a = -0"),
        ];
        for (text, printed) in cases {
            assert_eq!(canonical(text), printed, "selector {text:?}");
        }
    }

    #[test]
    fn keeps_only_the_parentheses_the_tree_needs() {
        let cases = [
            ("((a = 1))", "a = 1"),
            ("a = 1 OR (b = 1 AND c = 1)", "a = 1 OR b = 1 AND c = 1"),
            ("(a = 1 OR b = 1) AND c = 1", "(a = 1 OR b = 1) AND c = 1"),
            ("a = 1 AND (b = 1 AND c = 1)", "a = 1 AND (b = 1 AND c = 1)"),
            ("NOT (a = 1)", "NOT a = 1"),
            ("NOT (a = 1 AND b = 1)", "NOT (a = 1 AND b = 1)"),
            ("not not a = 1", "NOT NOT a = 1"),
            ("NOT a = 1 AND b = 1", "NOT a = 1 AND b = 1"),
        ];
        for (text, printed) in cases {
            assert_eq!(canonical(text), printed, "selector {text:?}");
        }
    }
}
