//! Recursive descent over the token list, one function per precedence level:
//!
//! ```text
//! or_expr   := and_expr (OR and_expr)*
//! and_expr  := not_expr (AND not_expr)*
//! not_expr  := NOT not_expr | '(' or_expr ')' | predicate
//! predicate := operand ( cmp_op operand
//!                      | [NOT] IN '(' literal (',' literal)* ')'
//!                      | [NOT] LIKE string [ESCAPE string]
//!                      | [NOT] BETWEEN operand AND operand
//!                      | IS [NOT] NULL )
//! operand   := name | string | number | TRUE | FALSE
//! ```
//!
//! Only `NOT` and `(` recurse, and each counts against [`MAX_DEPTH`], so the parser's stack use
//! is bounded whatever the input.

use super::ast::{Expr, Literal, Operand};
use super::error::{char_position, SelectorError};
use super::lexer::{tokenize, Keyword, Token, TokenKind};
use super::like::LikePattern;
use super::limits::MAX_DEPTH;

/// Compiles selector text (already checked against the length limit) into its tree.
pub(crate) fn parse(text: &str) -> Result<Expr, SelectorError> {
    let mut parser = Parser {
        text,
        tokens: tokenize(text)?,
        pos: 0,
        depth: 0,
    };
    let expr = parser.or_expr()?;
    if parser.peek().kind != TokenKind::End {
        return Err(parser.unexpected("AND, OR or end of input"));
    }
    Ok(expr)
}

struct Parser<'a> {
    text: &'a str,
    /// Never empty: it ends with [`TokenKind::End`], which is never consumed.
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.pos += 1;
        }
        token
    }

    fn at_keyword(&self, keyword: Keyword) -> bool {
        self.peek().kind == TokenKind::Keyword(keyword)
    }

    fn eat_keyword(&mut self, keyword: Keyword) -> bool {
        let found = self.at_keyword(keyword);
        if found {
            self.bump();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: Keyword, expected: &str) -> Result<(), SelectorError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn unexpected(&self, expected: &str) -> SelectorError {
        let token = self.peek();
        SelectorError::Unexpected {
            position: char_position(self.text, token.start),
            expected: expected.to_owned(),
            found: self.describe(token),
        }
    }

    fn invalid(&self, token: &Token, problem: &str) -> SelectorError {
        SelectorError::Invalid {
            position: char_position(self.text, token.start),
            problem: problem.to_owned(),
        }
    }

    /// Names a token for an error message by its kind and spelling, cut short if long.
    fn describe(&self, token: &Token) -> String {
        let spelling = &self.text[token.start..token.end];
        let spelling = match spelling.char_indices().nth(32) {
            Some((cut, _)) => format!("{}…", &spelling[..cut]),
            None => spelling.to_owned(),
        };
        match token.kind {
            TokenKind::End => "end of input".to_owned(),
            TokenKind::Name(_) => format!("header name {spelling}"),
            TokenKind::Keyword(_) => format!("keyword {spelling}"),
            TokenKind::Str(_) => format!("string {spelling}"),
            TokenKind::Number(_) => format!("number {spelling}"),
            _ => format!("'{spelling}'"),
        }
    }

    /// Counts one level of `NOT` or `(`; the caller calls [`Parser::leave`] when done with it.
    fn enter(&mut self) -> Result<(), SelectorError> {
        if self.depth == MAX_DEPTH {
            return Err(SelectorError::TooDeep {
                position: char_position(self.text, self.peek().start),
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or_expr(&mut self) -> Result<Expr, SelectorError> {
        let first = self.and_expr()?;
        if !self.at_keyword(Keyword::Or) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.eat_keyword(Keyword::Or) {
            operands.push(self.and_expr()?);
        }
        Ok(Expr::Or(operands))
    }

    fn and_expr(&mut self) -> Result<Expr, SelectorError> {
        let first = self.not_expr()?;
        if !self.at_keyword(Keyword::And) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.eat_keyword(Keyword::And) {
            operands.push(self.not_expr()?);
        }
        Ok(Expr::And(operands))
    }

    fn not_expr(&mut self) -> Result<Expr, SelectorError> {
        if self.at_keyword(Keyword::Not) {
            self.enter()?;
            self.bump();
            let inner = self.not_expr()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek().kind == TokenKind::LParen {
            self.enter()?;
            self.bump();
            let inner = self.or_expr()?;
            if self.peek().kind != TokenKind::RParen {
                return Err(self.unexpected("AND, OR or ')'"));
            }
            self.bump();
            self.leave();
            return Ok(inner);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, SelectorError> {
        let subject = self.peek().clone();
        let operand = self.operand("a condition")?;
        let next = self.peek().clone();
        match next.kind {
            TokenKind::Op(op) => {
                self.bump();
                let spelling = &self.text[next.start..next.end];
                let right = self.operand(&format!("a value after '{spelling}'"))?;
                Ok(Expr::Compare {
                    left: operand,
                    op,
                    right,
                })
            }
            TokenKind::Keyword(Keyword::Not) => {
                self.bump();
                match self.peek().kind {
                    TokenKind::Keyword(Keyword::In) => self.in_list(operand, true),
                    TokenKind::Keyword(Keyword::Like) => self.like(operand, true),
                    TokenKind::Keyword(Keyword::Between) => self.between(operand, true),
                    _ => Err(self.unexpected("IN, LIKE or BETWEEN after NOT")),
                }
            }
            TokenKind::Keyword(Keyword::In) => self.in_list(operand, false),
            TokenKind::Keyword(Keyword::Like) => self.like(operand, false),
            TokenKind::Keyword(Keyword::Between) => self.between(operand, false),
            TokenKind::Keyword(Keyword::Is) => {
                self.bump();
                let negated = self.eat_keyword(Keyword::Not);
                let expected = if negated {
                    "NULL after IS NOT"
                } else {
                    "NULL or NOT NULL after IS"
                };
                self.expect_keyword(Keyword::Null, expected)?;
                Ok(Expr::IsNull { operand, negated })
            }
            _ => Err(self.unexpected(&format!(
                "a comparison operator, IN, LIKE, BETWEEN or IS after {}",
                self.describe(&subject)
            ))),
        }
    }

    fn operand(&mut self, expected: &str) -> Result<Operand, SelectorError> {
        if let TokenKind::Name(name) = &self.peek().kind {
            let name = name.clone();
            self.bump();
            return Ok(Operand::Header(name));
        }
        self.literal(expected).map(Operand::Literal)
    }

    /// A constant. `NULL` is refused outright: `x = NULL` is never true in SQL and is almost
    /// always a mistake for `x IS NULL`.
    fn literal(&mut self, expected: &str) -> Result<Literal, SelectorError> {
        let literal = match &self.peek().kind {
            TokenKind::Str(text) => Literal::string(text.clone()),
            TokenKind::Number(value) => Literal::number(*value),
            TokenKind::Keyword(Keyword::True) => Literal::Bool(true),
            TokenKind::Keyword(Keyword::False) => Literal::Bool(false),
            TokenKind::Keyword(Keyword::Null) => {
                return Err(self.invalid(
                    self.peek(),
                    "NULL can only be tested with IS NULL or IS NOT NULL",
                ))
            }
            _ => return Err(self.unexpected(expected)),
        };
        self.bump();
        Ok(literal)
    }

    fn in_list(&mut self, operand: Operand, negated: bool) -> Result<Expr, SelectorError> {
        self.bump();
        if self.peek().kind != TokenKind::LParen {
            return Err(self.unexpected("'(' after IN"));
        }
        self.bump();
        let mut list = vec![self.literal("a value in the IN list")?];
        loop {
            match self.peek().kind {
                TokenKind::Comma => {
                    self.bump();
                    list.push(self.literal("a value in the IN list")?);
                }
                TokenKind::RParen => {
                    self.bump();
                    return Ok(Expr::In {
                        operand,
                        list,
                        negated,
                    });
                }
                _ => return Err(self.unexpected("',' or ')' in the IN list")),
            }
        }
    }

    fn like(&mut self, operand: Operand, negated: bool) -> Result<Expr, SelectorError> {
        self.bump();
        let pattern_token = self.peek().clone();
        let TokenKind::Str(pattern) = pattern_token.kind.clone() else {
            return Err(self.unexpected("a quoted pattern after LIKE"));
        };
        self.bump();
        let mut escape = None;
        if self.eat_keyword(Keyword::Escape) {
            let mut chars = match &self.peek().kind {
                TokenKind::Str(text) => text.chars(),
                _ => "".chars(),
            };
            match (chars.next(), chars.next()) {
                (Some(c), None) => escape = Some(c),
                _ => return Err(self.unexpected("a single-character escape after ESCAPE")),
            }
            self.bump();
        }
        let pattern = LikePattern::new(pattern, escape).map_err(|_| {
            self.invalid(
                &pattern_token,
                "the escape character must be followed by '%', '_' or itself in the pattern",
            )
        })?;
        Ok(Expr::Like {
            operand,
            pattern,
            negated,
        })
    }

    fn between(&mut self, operand: Operand, negated: bool) -> Result<Expr, SelectorError> {
        self.bump();
        let low = self.operand("a value after BETWEEN")?;
        self.expect_keyword(Keyword::And, "AND between the BETWEEN bounds")?;
        let high = self.operand("a value after AND")?;
        Ok(Expr::Between {
            operand,
            low,
            high,
            negated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::ast::CmpOp;

    fn cmp(name: &str, value: f64) -> Expr {
        Expr::Compare {
            left: Operand::Header(name.into()),
            op: CmpOp::Eq,
            right: Operand::Literal(Literal::number(value)),
        }
    }

    fn tree(text: &str) -> Expr {
        parse(text).unwrap()
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            tree("a=1 OR b=1 AND c=1"),
            Expr::Or(vec![
                cmp("a", 1.0),
                Expr::And(vec![cmp("b", 1.0), cmp("c", 1.0)])
            ])
        );
    }

    #[test]
    fn not_binds_tighter_than_and_but_looser_than_comparisons() {
        assert_eq!(
            tree("NOT a=1 AND b=1"),
            Expr::And(vec![Expr::Not(Box::new(cmp("a", 1.0))), cmp("b", 1.0)])
        );
        assert_eq!(tree("not a = 1"), Expr::Not(Box::new(cmp("a", 1.0))));
    }

    #[test]
    fn chains_collect_their_operands_and_parentheses_nest_them() {
        assert_eq!(
            tree("a=1 AND b=1 AND c=1"),
            Expr::And(vec![cmp("a", 1.0), cmp("b", 1.0), cmp("c", 1.0)])
        );
        assert_eq!(
            tree("(a=1 AND b=1) AND c=1"),
            Expr::And(vec![
                Expr::And(vec![cmp("a", 1.0), cmp("b", 1.0)]),
                cmp("c", 1.0)
            ])
        );
        assert_eq!(tree("((a = 1))"), cmp("a", 1.0));
    }

    #[test]
    fn between_takes_its_own_and() {
        let Expr::And(operands) = tree("x BETWEEN 1 AND 2 AND y = 1") else {
            panic!("expected an AND of BETWEEN and a comparison");
        };
        assert!(matches!(operands[0], Expr::Between { negated: false, .. }));
        assert_eq!(operands[1], cmp("y", 1.0));
    }

    #[test]
    fn both_inequality_spellings_compile_alike() {
        assert_eq!(tree("a != 1"), tree("a <> 1"));
    }

    #[test]
    fn literals_may_stand_on_either_side() {
        assert_eq!(
            tree("10 < foo"),
            Expr::Compare {
                left: Operand::Literal(Literal::number(10.0)),
                op: CmpOp::Lt,
                right: Operand::Header("foo".into()),
            }
        );
    }
}
