//! Tokens of ksqlDB's dialect, produced by sqlparser's tokenizer.
//!
//! sqlparser does the lexing (quoting rules, comments, numbers, positions); this module narrows
//! its token set to the one the ksqlDB grammar needs, so the parser can match on a small enum.

use sqlparser::dialect::Dialect;
use sqlparser::tokenizer::{Token as SqlToken, Tokenizer, Whitespace};

use super::ast::Location;
use super::error::ParseError;

/// sqlparser's view of ksqlDB's lexical rules: back-quoted and double-quoted identifiers.
#[derive(Debug)]
struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword; `quoted` identifiers are never keywords.
    Word {
        value: String,
        quoted: bool,
    },
    Number(String),
    Str(String),
    /// Punctuation and operators, as written (`(`, `->`, `:=`, `>=` …).
    Sym(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub location: Location,
}

impl Token {
    /// The token as ksqlDB quotes it in "Syntax error at or near" messages.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Word {
                value,
                quoted: false,
            } => value.clone(),
            Tok::Word {
                value,
                quoted: true,
            } => format!("`{value}`"),
            Tok::Number(n) => n.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Sym(s) => s.to_string(),
            Tok::Eof => "<EOF>".to_string(),
        }
    }
}

/// Splits `text` into tokens. `origin` is where the text starts in the script, so that
/// locations are reported relative to the whole script.
pub fn tokenize(text: &str, origin: Location) -> Result<Vec<Token>, ParseError> {
    let dialect = KsqlDialect;
    let raw = Tokenizer::new(&dialect, text)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| {
            let location = shift(
                Location {
                    line: e.location.line,
                    column: e.location.column,
                },
                origin,
            );
            ParseError::new(format!("Syntax Error\n{}", e.message), location)
        })?;
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len());
    for t in raw {
        let location = shift(
            Location {
                line: t.span.start.line,
                column: t.span.start.column,
            },
            origin,
        );
        let tok = match t.token {
            SqlToken::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => {
                continue;
            }
            SqlToken::Whitespace(_) => continue,
            SqlToken::Word(w) => Tok::Word {
                value: w.value,
                quoted: w.quote_style.is_some(),
            },
            SqlToken::Number(n, _) => Tok::Number(n),
            SqlToken::SingleQuotedString(s) => Tok::Str(s),
            SqlToken::EOF => Tok::Eof,
            other => match symbol(&other) {
                Some(s) => Tok::Sym(s),
                None => {
                    return Err(ParseError::new(
                        format!("Syntax Error\nUnexpected token '{other}'"),
                        location,
                    ));
                }
            },
        };
        // ksqlDB allows identifiers that start with digits (`1R`): the tokenizer splits them
        // into a number and a word written right after it.
        if let (
            Tok::Word {
                value,
                quoted: false,
            },
            Some(prev),
        ) = (&tok, tokens.last_mut())
            && let Tok::Number(n) = &prev.tok
            && n.chars().all(|c| c.is_ascii_digit())
            && prev.location.line == location.line
            && prev.location.column + n.len() as u64 == location.column
        {
            prev.tok = Tok::Word {
                value: format!("{n}{value}"),
                quoted: false,
            };
            continue;
        }
        tokens.push(Token { tok, location });
    }
    let end = tokens.last().map(|t| t.location).unwrap_or(origin);
    tokens.push(Token {
        tok: Tok::Eof,
        location: end,
    });
    Ok(tokens)
}

fn shift(location: Location, origin: Location) -> Location {
    if location.line <= 1 {
        Location {
            line: origin.line,
            column: origin.column + location.column.saturating_sub(1),
        }
    } else {
        Location {
            line: origin.line + location.line - 1,
            column: location.column,
        }
    }
}

fn symbol(token: &SqlToken) -> Option<&'static str> {
    Some(match token {
        SqlToken::Comma => ",",
        SqlToken::LParen => "(",
        SqlToken::RParen => ")",
        SqlToken::Period => ".",
        SqlToken::Eq | SqlToken::DoubleEq => "=",
        SqlToken::Neq => "<>",
        SqlToken::Lt => "<",
        SqlToken::Gt => ">",
        SqlToken::LtEq => "<=",
        SqlToken::GtEq => ">=",
        SqlToken::ShiftRight => ">>",
        SqlToken::ShiftLeft => "<<",
        SqlToken::Plus => "+",
        SqlToken::Minus => "-",
        SqlToken::Mul => "*",
        SqlToken::Div => "/",
        SqlToken::Mod => "%",
        SqlToken::StringConcat => "||",
        SqlToken::Colon => ":",
        SqlToken::DoubleColon => "::",
        SqlToken::Assignment => ":=",
        SqlToken::SemiColon => ";",
        SqlToken::LBracket => "[",
        SqlToken::RBracket => "]",
        SqlToken::Arrow => "->",
        SqlToken::RArrow => "=>",
        SqlToken::LBrace => "{",
        SqlToken::RBrace => "}",
        SqlToken::ExclamationMark => "!",
        _ => return None,
    })
}
