//! The compiled selector: a tree that keeps every choice the text made (grouping, spelling of
//! patterns) so that printing it and parsing the print gives the same tree back.
//!
//! `AND` and `OR` hold all the operands of one unparenthesized chain, which keeps the tree as
//! shallow as the parentheses and lets evaluation loop instead of recurse. A parenthesized chain
//! inside another chain of the same operator stays a separate node: the tree mirrors the text.

use super::like::LikePattern;

/// A condition, evaluated to SQL's three truth values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// Two or more operands.
    Or(Vec<Expr>),
    /// Two or more operands.
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    In {
        operand: Operand,
        list: Vec<Literal>,
        negated: bool,
    },
    Like {
        operand: Operand,
        pattern: LikePattern,
        negated: bool,
    },
    Between {
        operand: Operand,
        low: Operand,
        high: Operand,
        negated: bool,
    },
    IsNull {
        operand: Operand,
        negated: bool,
    },
}

/// What a comparison reads: a header of the message or a constant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Header(Box<str>),
    Literal(Literal),
}

/// A constant, with the other reading of it computed once at compile time so that evaluation
/// never formats or parses a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// `number` is the string's value when it reads fully as a finite number (`'20'`).
    Str {
        text: Box<str>,
        number: Option<f64>,
    },
    /// `text` is the canonical decimal spelling, used when the number meets a non-numeric string.
    Number {
        value: f64,
        text: Box<str>,
    },
    Bool(bool),
}

impl Literal {
    pub(crate) fn string(text: impl Into<Box<str>>) -> Self {
        let text = text.into();
        let number = super::number::parse_number(&text);
        Self::Str { text, number }
    }

    /// Callers pass only finite values: the grammar has no spelling for infinities or NaN.
    pub(crate) fn number(value: f64) -> Self {
        debug_assert!(value.is_finite());
        Self::Number {
            value,
            text: value.to_string().into(),
        }
    }
}

/// A comparison operator; `!=` compiles to [`CmpOp::Ne`] and prints as `<>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    #[cfg(test)]
    pub(crate) const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether two values in this order satisfy the operator.
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}
