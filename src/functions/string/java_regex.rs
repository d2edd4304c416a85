//! Java regular expressions, as ksqlDB's REGEXP_* functions use them, on the `regex` crate.
//!
//! Patterns are translated where Java's syntax or meaning differs and the translation is
//! simple: `\d`, `\w`, `\s` (and their negations) and Java's POSIX classes such as `\p{Alpha}`
//! are ASCII-only in Java, `\Q…\E` quotes, `\h` and `\v` are whitespace classes, and `\0nn` is
//! an octal escape. Java features the crate lacks (back-references, look-around, possessive
//! quantifiers) make the pattern invalid, which is an error as an invalid pattern is in ksqlDB.
//! Matching follows `java.util.regex.Matcher.find`, replacement strings follow
//! `Matcher.appendReplacement` (`$n`, `${name}`, `\` escapes), and splitting follows
//! `Pattern.split` and Guava's `Splitter.on(Pattern)`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result as DfResult};
use regex::{Captures, Regex};

/// The compiled form of a Java pattern (cached per thread); an invalid pattern is an error.
pub(super) fn compile(pattern: &str) -> DfResult<Arc<Regex>> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Result<Arc<Regex>, String>>> =
            RefCell::new(HashMap::new());
    }
    let compiled = CACHE.with(|cache| {
        if let Some(hit) = cache.borrow().get(pattern) {
            return hit.clone();
        }
        let compiled = Regex::new(&translate(pattern))
            .map(Arc::new)
            .map_err(|e| format!("Invalid regular expression pattern: {pattern} ({e})"));
        let mut cache = cache.borrow_mut();
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), compiled.clone());
        compiled
    });
    compiled.map_err(DataFusionError::Execution)
}

/// Java's ASCII `\d`, `\w` and `\s`, and the whitespace classes `\h` and `\v`, as the inside of
/// a character class.
fn class_body(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        's' => "\\t\\n\\x0B\\f\\r ",
        'h' => " \\t\\xA0\\x{1680}\\x{180E}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}",
        'v' => "\\n\\x0B\\f\\r\\x{85}\\x{2028}\\x{2029}",
        _ => return None,
    })
}

/// Java's POSIX character classes (ASCII-only) and `java…` classes, as a Rust class body.
fn property_body(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => "\\x00-\\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => "!-/:-@\\[-`{-~",
        "Graph" => "!-~",
        "Print" => " -~",
        "Blank" => " \\t",
        "Cntrl" => "\\x00-\\x1F\\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => "\\t\\n\\x0B\\f\\r ",
        "javaLowerCase" => "\\p{Lowercase}",
        "javaUpperCase" => "\\p{Uppercase}",
        "javaWhitespace" => "\\t\\n\\x0B\\f\\r\\x1C-\\x1F\\p{Zs}\\p{Zl}\\p{Zp}",
        "javaDigit" => "\\p{Nd}",
        "javaLetter" => "\\p{L}",
        "javaLetterOrDigit" => "\\p{L}\\p{Nd}",
        "javaAlphabetic" => "\\p{Alphabetic}",
        _ => return None,
    })
}

/// The Java flags that change how a pattern is translated.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `s`: `.` matches any character.
    dotall: bool,
    /// `d`: only `\n` ends a line.
    unix_lines: bool,
    /// `U`: `\d`, `\w`, `\s` and the POSIX classes are Unicode classes.
    unicode_classes: bool,
}

impl Flags {
    /// These flags with a Java flag letter turned on or off.
    fn with(mut self, flag: char, on: bool) -> Flags {
        match flag {
            's' => self.dotall = on,
            'd' => self.unix_lines = on,
            'U' => self.unicode_classes = on,
            _ => {}
        }
        self
    }
}

/// A Java pattern in the `regex` crate's syntax.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut depth = 0usize; // nesting of character classes
    let mut flags = Flags::default();
    let mut groups: Vec<Flags> = Vec::new(); // the flags outside each open group
    let mut i = 0;
    // A class body as a whole class outside a class, or as a nested class inside one.
    let class = |out: &mut String, body: &str, negated: bool| {
        out.push('[');
        if negated {
            out.push('^');
        }
        out.push_str(body);
        out.push(']');
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                i += 2;
                let ascii_class = matches!(e, 'd' | 'D' | 'w' | 'W' | 's' | 'S')
                    && !flags.unicode_classes
                    || matches!(e, 'h' | 'H' | 'v' | 'V');
                if let Some(body) = class_body(e.to_ascii_lowercase()).filter(|_| ascii_class) {
                    let negated = e.is_ascii_uppercase();
                    if depth > 0 && !negated {
                        out.push_str(body);
                    } else {
                        class(&mut out, body, negated);
                    }
                } else if e == 'Q' {
                    let mut literal = String::new();
                    while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                        literal.push(chars[i]);
                        i += 1;
                    }
                    i = (i + 2).min(chars.len());
                    out.push_str(&regex::escape(&literal));
                } else if (e == 'p' || e == 'P') && chars.get(i) == Some(&'{') {
                    let close = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                    let name: String = match close {
                        Some(close) => chars[i + 1..close].iter().collect(),
                        None => String::new(),
                    };
                    let stripped = name.strip_prefix("Is").unwrap_or(&name);
                    let body = property_body(stripped)
                        .filter(|_| !flags.unicode_classes || stripped.starts_with("java"));
                    match (close, body) {
                        (Some(close), Some(body)) => {
                            let negated = e == 'P';
                            if depth > 0 && !negated {
                                out.push_str(body);
                            } else {
                                class(&mut out, body, negated);
                            }
                            i = close + 1;
                        }
                        (Some(close), None) => {
                            out.push('\\');
                            out.push(e);
                            out.push('{');
                            out.push_str(stripped);
                            out.push('}');
                            i = close + 1;
                        }
                        (None, _) => {
                            out.push('\\');
                            out.push(e);
                        }
                    }
                } else if e == '0' {
                    // An octal escape: \0n, \0nn or \0mnn (m up to 3).
                    let digits: String = chars[i..]
                        .iter()
                        .take(3)
                        .take_while(|c| c.is_digit(8))
                        .collect();
                    let mut take = digits.len();
                    if take == 3 && digits.as_bytes()[0] > b'3' {
                        take = 2;
                    }
                    match u32::from_str_radix(&digits[..take], 8) {
                        Ok(v) if take > 0 => {
                            out.push_str(&format!("\\x{{{v:X}}}"));
                            i += take;
                        }
                        _ => out.push_str("\\0"),
                    }
                } else {
                    out.push('\\');
                    out.push(e);
                }
            }
            '[' => {
                depth += 1;
                out.push(c);
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(c);
                i += 1;
            }
            _ if depth > 0 => {
                out.push(c);
                i += 1;
            }
            '.' => {
                // Java's `.` stops at every line terminator, not only at `\n`.
                out.push_str(if flags.dotall {
                    "(?s:.)"
                } else if flags.unix_lines {
                    "[^\\n]"
                } else {
                    "[^\\n\\r\\x{85}\\x{2028}\\x{2029}]"
                });
                i += 1;
            }
            '(' => {
                i += 1;
                let letters: String = if chars.get(i) == Some(&'?') {
                    chars[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphabetic() || **c == '-')
                        .collect()
                } else {
                    String::new()
                };
                let end = chars.get(i + 1 + letters.chars().count()).copied();
                if !letters.is_empty() && matches!(end, Some(')' | ':')) {
                    // Inline flags, for the rest of the group or for a group of their own.
                    let mut new_flags = flags;
                    let mut on = true;
                    let mut kept = String::new();
                    for f in letters.chars() {
                        if f == '-' {
                            on = false;
                            kept.push(f);
                            continue;
                        }
                        new_flags = new_flags.with(f, on);
                        // `d` and `U` mean nothing (or something else) to the regex crate.
                        if f != 'd' && f != 'U' {
                            kept.push(f);
                        }
                    }
                    let kept = kept.trim_end_matches('-');
                    i += 1 + letters.chars().count() + 1;
                    if end == Some(':') {
                        groups.push(flags);
                        out.push_str(&format!("(?{kept}:"));
                    } else if !kept.is_empty() {
                        out.push_str(&format!("(?{kept})"));
                    }
                    flags = new_flags;
                } else {
                    groups.push(flags);
                    out.push('(');
                }
            }
            ')' => {
                if let Some(outer) = groups.pop() {
                    flags = outer;
                }
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The matches of `re` in `hay` as `Matcher.find()` finds them one after another: after an
/// empty match the search resumes one character later, and an empty match right after a
/// non-empty one counts.
pub(super) fn matches<'r, 'h>(re: &'r Regex, hay: &'h str) -> JavaMatches<'r, 'h> {
    JavaMatches {
        re,
        hay,
        next: Some(0),
    }
}

pub(super) struct JavaMatches<'r, 'h> {
    re: &'r Regex,
    hay: &'h str,
    next: Option<usize>,
}

impl<'h> Iterator for JavaMatches<'_, 'h> {
    type Item = Captures<'h>;

    fn next(&mut self) -> Option<Captures<'h>> {
        let from = self.next?;
        let Some(caps) = self.re.captures_at(self.hay, from) else {
            self.next = None;
            return None;
        };
        let m = caps.get(0).expect("group 0 always matches");
        self.next = if m.is_empty() {
            next_boundary(self.hay, m.end())
        } else {
            Some(m.end())
        };
        Some(caps)
    }
}

/// The character boundary after `at`, or `None` at the end.
fn next_boundary(s: &str, at: usize) -> Option<usize> {
    s[at..].chars().next().map(|c| at + c.len_utf8())
}

/// One piece of a replacement string.
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

/// A Java replacement string: `$n` and `${name}` insert groups, `\x` is `x`.
fn parse_replacement(re: &Regex, replacement: &str) -> Result<Vec<Part>, String> {
    let groups = re.captures_len() - 1;
    let chars: Vec<char> = replacement.chars().collect();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                let Some(&c) = chars.get(i) else {
                    return Err("character to be escaped is missing".to_string());
                };
                literal.push(c);
                i += 1;
            }
            '$' => {
                i += 1;
                let Some(&c) = chars.get(i) else {
                    return Err("Illegal group reference: group index is missing".to_string());
                };
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                if c == '{' {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    if i == start {
                        return Err("named capturing group has 0 length name".to_string());
                    }
                    if chars.get(i) != Some(&'}') {
                        return Err("named capturing group is missing trailing '}'".to_string());
                    }
                    let name: String = chars[start..i].iter().collect();
                    if !re.capture_names().any(|n| n == Some(name.as_str())) {
                        return Err(format!("No group with name {{{name}}}"));
                    }
                    parts.push(Part::Named(name));
                    i += 1;
                } else {
                    let Some(first) = c.to_digit(10) else {
                        return Err("Illegal group reference".to_string());
                    };
                    let mut group = first as usize;
                    i += 1;
                    // Further digits belong to the reference while it names a group.
                    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                        let longer = group * 10 + d as usize;
                        if longer > groups {
                            break;
                        }
                        group = longer;
                        i += 1;
                    }
                    if group > groups {
                        return Err(format!("No group {group}"));
                    }
                    parts.push(Part::Group(group));
                }
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// `hay` with every match of `re` replaced (`Matcher.replaceAll`). A malformed replacement is an
/// error only when something matches.
pub(super) fn replace_all(re: &Regex, hay: &str, replacement: &str) -> DfResult<String> {
    let mut parts: Option<Vec<Part>> = None;
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    for caps in matches(re, hay) {
        let parts = match &parts {
            Some(p) => p,
            None => parts
                .insert(parse_replacement(re, replacement).map_err(DataFusionError::Execution)?),
        };
        let m = caps.get(0).expect("group 0 always matches");
        out.push_str(&hay[last..m.start()]);
        for part in parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
                Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
        last = m.end();
    }
    out.push_str(&hay[last..]);
    Ok(out)
}

/// `Pattern.split(hay)`: the parts between matches, without a leading empty part from an empty
/// match at the start, and without trailing empty parts.
pub(super) fn split_java<'h>(re: &Regex, hay: &'h str) -> Vec<&'h str> {
    let mut parts = Vec::new();
    let mut index = 0;
    for caps in matches(re, hay) {
        let m = caps.get(0).expect("group 0 always matches");
        if index == 0 && m.start() == 0 && m.is_empty() {
            continue;
        }
        parts.push(&hay[index..m.start()]);
        index = m.end();
    }
    if index == 0 {
        return vec![hay];
    }
    parts.push(&hay[index..]);
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// Guava's `Splitter.on(pattern).splitToList(hay)`: every part between matches, empty ones
/// included; an empty match where a part starts is skipped.
pub(super) fn split_guava<'h>(re: &Regex, hay: &'h str) -> Vec<&'h str> {
    let mut parts = Vec::new();
    let mut offset = Some(0);
    let mut next_start = 0;
    while let Some(from) = offset {
        let end = match re.find_at(hay, from) {
            None => {
                offset = None;
                hay.len()
            }
            Some(m) => {
                if m.end() == next_start {
                    // An empty match where the part starts: search again one character on.
                    offset = next_boundary(hay, m.end());
                    continue;
                }
                offset = Some(m.end());
                m.start()
            }
        };
        parts.push(&hay[next_start..end]);
        if let Some(o) = offset {
            next_start = o;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Arc<Regex> {
        compile(p).unwrap()
    }

    #[test]
    fn translates_java_syntax() {
        assert!(re("\\w+").is_match("abc"));
        assert!(!re("^\\w+$").is_match("\u{e9}t\u{e9}"));
        assert!(re("^[\\d.]+$").is_match("1.5"));
        assert!(!re("^\\d$").is_match("\u{663}"));
        assert!(re("^\\Q.*\\E$").is_match(".*"));
        assert!(re("^\\p{Alpha}+\\P{Digit}$").is_match("ab!"));
        assert!(re("^\\0101$").is_match("A"));
        assert!(!re("^.$").is_match("\r"));
        assert!(re("^(?s).$").is_match("\r"));
        assert!(re("^(?d).$").is_match("\r"));
        assert!(!re("^(?s:.)(?d).$").is_match("\n\n"));
        assert!(re("^(?U)\\w$").is_match("\u{e9}"));
        assert!(re("^(?i:a)B$").is_match("AB"));
        assert!(!re("^(?i:a)B$").is_match("Ab"));
        assert!(compile("(a)\\1").is_err());
        assert!(compile("(").is_err());
    }

    #[test]
    fn finds_like_java() {
        let found: Vec<_> = matches(&re("a*"), "baaa")
            .map(|c| c.get(0).unwrap().as_str().to_string())
            .collect();
        assert_eq!(found, vec!["", "aaa", ""]);
    }

    #[test]
    fn replaces_like_java() {
        assert_eq!(
            replace_all(&re("(ab)+"), "baababaa", "cat").unwrap(),
            "bacataa"
        );
        assert_eq!(
            replace_all(&re("(\\w)(\\d)"), "a1 b2", "$2$1\\$").unwrap(),
            "1a$ 2b$"
        );
        assert_eq!(replace_all(&re("(?<x>a)"), "ba", "[${x}]").unwrap(), "b[a]");
        assert_eq!(replace_all(&re("(a)"), "a", "$10").unwrap(), "a0");
        assert!(replace_all(&re("a"), "a", "$1").is_err());
        assert!(replace_all(&re("a"), "b", "$1").is_ok());
        assert_eq!(replace_all(&re("x*"), "ab", "-").unwrap(), "-a-b-");
    }

    #[test]
    fn splits_like_java_and_guava() {
        assert_eq!(split_java(&re(""), "abc"), vec!["a", "b", "c"]);
        assert_eq!(split_java(&re(""), ""), vec![""]);
        assert_eq!(split_java(&re("a*"), "abc"), vec!["", "", "b", "c"]);
        assert_eq!(split_java(&re(","), ","), Vec::<&str>::new());
        assert_eq!(split_guava(&re("(ab|cd)"), "aabcda"), vec!["a", "", "a"]);
        assert_eq!(split_guava(&re("(ab|cd)"), "zxy"), vec!["zxy"]);
        assert_eq!(split_guava(&re(","), ",a,"), vec!["", "a", ""]);
        assert_eq!(split_guava(&re("\\b"), "ab cd"), vec!["ab", " ", "cd"]);
    }
}
