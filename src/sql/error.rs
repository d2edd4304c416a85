//! Parse errors, with the position ksqlDB reports them at.

use std::fmt;

use super::ast::Location;

/// A statement that could not be parsed. Displays as ksqlDB does: `line 1:29: Syntax Error…`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub location: Option<Location>,
}

impl ParseError {
    pub fn new(message: impl Into<String>, location: Location) -> ParseError {
        ParseError {
            message: message.into(),
            location: Some(location),
        }
    }

    pub fn without_location(message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            location: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(l) => write!(f, "line {}:{}: {}", l.line, l.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}
