//! Splits selector text into tokens. Characters the grammar has no use for become
//! [`TokenKind::Other`] rather than an error here, so that the parser, which knows what it
//! expected at that point, words the message.

use super::ast::CmpOp;
use super::error::{char_position, SelectorError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A header name, bare or double-quoted, with `""` already unescaped.
    Name(Box<str>),
    Keyword(Keyword),
    /// A single-quoted string with `''` already unescaped.
    Str(Box<str>),
    Number(f64),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    Other(char),
    End,
}

/// A token and the byte range of its spelling in the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Like,
    Escape,
    Is,
    Null,
    Between,
    True,
    False,
}

impl Keyword {
    const ALL: [Keyword; 11] = [
        Keyword::And,
        Keyword::Or,
        Keyword::Not,
        Keyword::In,
        Keyword::Like,
        Keyword::Escape,
        Keyword::Is,
        Keyword::Null,
        Keyword::Between,
        Keyword::True,
        Keyword::False,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::In => "IN",
            Keyword::Like => "LIKE",
            Keyword::Escape => "ESCAPE",
            Keyword::Is => "IS",
            Keyword::Null => "NULL",
            Keyword::Between => "BETWEEN",
            Keyword::True => "TRUE",
            Keyword::False => "FALSE",
        }
    }

    /// Keywords are recognised in any ASCII letter case, as Backendless's own examples mix
    /// `and` and `AND`.
    pub(crate) fn lookup(word: &str) -> Option<Keyword> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }
}

pub(crate) fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

pub(crate) fn is_name_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Tokenizes the whole text; the last token is always [`TokenKind::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, SelectorError> {
    let mut lexer = Lexer { text, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.kind == TokenKind::End;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.pos += expected.len_utf8();
        }
        found
    }

    fn next_token(&mut self) -> Result<Token, SelectorError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(self.token(TokenKind::End, start));
        };
        let kind = match c {
            '\'' => TokenKind::Str(self.quoted('\'', start, "a closing quote for the string")?),
            '"' => self.quoted_name(start)?,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            '=' => TokenKind::Op(CmpOp::Eq),
            '<' if self.eat('>') => TokenKind::Op(CmpOp::Ne),
            '<' if self.eat('=') => TokenKind::Op(CmpOp::Le),
            '<' => TokenKind::Op(CmpOp::Lt),
            '>' if self.eat('=') => TokenKind::Op(CmpOp::Ge),
            '>' => TokenKind::Op(CmpOp::Gt),
            '!' if self.eat('=') => TokenKind::Op(CmpOp::Ne),
            '-' if self.peek().is_some_and(|d| d.is_ascii_digit()) => self.number(start)?,
            d if d.is_ascii_digit() => self.number(start)?,
            n if is_name_start(n) => {
                while self.peek().is_some_and(is_name_continue) {
                    self.bump();
                }
                let word = &self.text[start..self.pos];
                match Keyword::lookup(word) {
                    Some(keyword) => TokenKind::Keyword(keyword),
                    None => TokenKind::Name(word.into()),
                }
            }
            other => TokenKind::Other(other),
        };
        Ok(self.token(kind, start))
    }

    fn token(&self, kind: TokenKind, start: usize) -> Token {
        Token {
            kind,
            start,
            end: self.pos,
        }
    }

    /// Reads up to the closing `quote`, where a doubled quote stands for one.
    fn quoted(
        &mut self,
        quote: char,
        start: usize,
        closing: &str,
    ) -> Result<Box<str>, SelectorError> {
        let mut content = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => {
                    if !self.eat(quote) {
                        return Ok(content.into());
                    }
                    content.push(quote);
                }
                Some(c) => content.push(c),
                None => {
                    return Err(SelectorError::Unexpected {
                        position: char_position(self.text, start),
                        expected: closing.to_owned(),
                        found: "end of input".to_owned(),
                    })
                }
            }
        }
    }

    fn quoted_name(&mut self, start: usize) -> Result<TokenKind, SelectorError> {
        let name = self.quoted('"', start, "a closing double quote for the header name")?;
        if name.is_empty() {
            return Err(SelectorError::Invalid {
                position: char_position(self.text, start),
                problem: "header names cannot be empty".to_owned(),
            });
        }
        Ok(TokenKind::Name(name))
    }

    /// `-?digits(.digits)?`; the sign has been read when present. No exponent: the canonical
    /// print of a double never needs one, and selectors compare against human-sized values.
    fn number(&mut self, start: usize) -> Result<TokenKind, SelectorError> {
        self.skip_digits();
        if self.peek() == Some('.') {
            if !self.peek_second().is_some_and(|d| d.is_ascii_digit()) {
                self.bump();
                return Err(SelectorError::Unexpected {
                    position: char_position(self.text, self.pos),
                    expected: "a digit after the decimal point".to_owned(),
                    found: match self.peek() {
                        Some(c) => format!("'{c}'"),
                        None => "end of input".to_owned(),
                    },
                });
            }
            self.bump();
            self.skip_digits();
        }
        match self.text[start..self.pos].parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(TokenKind::Number(value)),
            _ => Err(SelectorError::Invalid {
                position: char_position(self.text, start),
                problem: "number out of range for a double".to_owned(),
            }),
        }
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|d| d.is_ascii_digit()) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn reads_every_kind_of_token() {
        use TokenKind::*;
        assert_eq!(
            kinds("a<>'it''s' \"ios-alert\"(-5, 3.25)!=<= >= < > = and TRUE ?"),
            vec![
                Name("a".into()),
                Op(CmpOp::Ne),
                Str("it's".into()),
                Name("ios-alert".into()),
                LParen,
                Number(-5.0),
                Comma,
                Number(3.25),
                RParen,
                Op(CmpOp::Ne),
                Op(CmpOp::Le),
                Op(CmpOp::Ge),
                Op(CmpOp::Lt),
                Op(CmpOp::Gt),
                Op(CmpOp::Eq),
                Keyword(super::Keyword::And),
                Keyword(super::Keyword::True),
                Other('?'),
                End,
            ]
        );
    }

    #[test]
    fn names_take_letters_digits_underscore_and_dollar_but_not_dash() {
        use TokenKind::*;
        assert_eq!(kinds("$a_1"), vec![Name("$a_1".into()), End]);
        assert_eq!(
            kinds("ios-alert"),
            vec![Name("ios".into()), Other('-'), Name("alert".into()), End]
        );
        assert_eq!(
            kinds("\"say \"\"hi\"\"\""),
            vec![Name("say \"hi\"".into()), End]
        );
        assert_eq!(
            kinds("Between"),
            vec![Keyword(super::Keyword::Between), End]
        );
    }

    #[test]
    fn tokens_know_their_spelling() {
        let tokens = tokenize("  foo >= 10").unwrap();
        assert_eq!((tokens[0].start, tokens[0].end), (2, 5));
        assert_eq!((tokens[1].start, tokens[1].end), (6, 8));
        assert_eq!((tokens[3].start, tokens[3].end), (11, 11));
    }
}
