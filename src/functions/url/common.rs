//! A URI parser that reads strings as `java.net.URI` does (RFC 2396 with Java's deviations),
//! which is what ksqlDB's URL functions use, and the per-row plumbing they share.
//!
//! Only what the functions need is kept: scheme, host, port, path, query and fragment, the
//! last three decoded as `URI.getPath()`/`getQuery()`/`getFragment()` decode them (runs of
//! `%XX` as UTF-8, malformed bytes replaced). A string that `java.net.URI` rejects is an error.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::common::{DataFusionError, Result as DfResult};

/// The parts of a parsed URI.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Uri {
    pub scheme: Option<String>,
    pub host: Option<String>,
    /// -1 when there is none, as in Java.
    pub port: i32,
    /// Raw (still encoded); `None` for an opaque URI such as `mailto:x`.
    pub raw_path: Option<String>,
    pub raw_query: Option<String>,
    pub raw_fragment: Option<String>,
}

impl Uri {
    pub(super) fn path(&self) -> Option<String> {
        self.raw_path.as_deref().map(decode)
    }

    pub(super) fn query(&self) -> Option<String> {
        self.raw_query.as_deref().map(decode)
    }

    pub(super) fn fragment(&self) -> Option<String> {
        self.raw_fragment.as_deref().map(decode)
    }
}

/// Applies `f` to each non-null URL, parsed; a URL that does not parse fails the call.
pub(super) fn map_urls(
    args: &[ArrayRef],
    f: impl Fn(&Uri) -> Option<String>,
) -> DfResult<ArrayRef> {
    let out = args[0]
        .as_string::<i32>()
        .iter()
        .map(|url| {
            url.map(parse_url)
                .transpose()
                .map(|u| u.and_then(|u| f(&u)))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

/// Parses a URL, with ksqlDB's error when `java.net.URI` would reject it.
pub(super) fn parse_url(url: &str) -> DfResult<Uri> {
    parse(url).map_err(|reason| {
        DataFusionError::Execution(format!("URL input has invalid syntax: {url} ({reason})"))
    })
}

// Character classes of RFC 2396, as java.net.URI defines them.
const MARK: &str = "-_.!~*'()";
const RESERVED: &str = ";/?:@&=+$,[]";

fn is_alpha(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_alphanum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn is_unreserved(c: char) -> bool {
    is_alphanum(c) || MARK.contains(c)
}

/// A class of characters, and whether it admits `%XX` escapes and visible non-ASCII characters
/// (`java.net.URI`'s "escaped" and "other").
#[derive(Clone, Copy)]
struct Class {
    test: fn(char) -> bool,
    escaped: bool,
}

const URIC: Class = Class {
    test: |c| RESERVED.contains(c) || is_unreserved(c),
    escaped: true,
};
const PATH: Class = Class {
    test: |c| is_unreserved(c) || ":@&=+$,;/".contains(c),
    escaped: true,
};
const SCHEME: Class = Class {
    test: |c| is_alphanum(c) || "+-.".contains(c),
    escaped: false,
};
const USERINFO: Class = Class {
    test: |c| is_unreserved(c) || ";:&=+$,".contains(c),
    escaped: true,
};
const REG_NAME: Class = Class {
    test: |c| is_unreserved(c) || "$,;:@&=+".contains(c),
    escaped: true,
};
const SERVER: Class = Class {
    test: |c| (USERINFO.test)(c) || is_alphanum(c) || "-.:@[]".contains(c),
    escaped: true,
};
const SERVER_PERCENT: Class = Class {
    test: |c| (SERVER.test)(c) || c == '%',
    escaped: true,
};

struct Parser {
    chars: Vec<char>,
    uri: Uri,
}

type Step<T> = Result<T, String>;

/// Parses as `new java.net.URI(text)`.
pub(super) fn parse(text: &str) -> Result<Uri, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        uri: Uri {
            port: -1,
            ..Uri::default()
        },
    };
    p.parse()?;
    Ok(p.uri)
}

impl Parser {
    fn at(&self, i: usize, c: char) -> bool {
        self.chars.get(i) == Some(&c)
    }

    fn substring(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    /// The first position in [start, end) holding a character of `stop` (or `end`); `None`
    /// when a character of `err` comes first.
    fn scan_stop(&self, start: usize, end: usize, err: &str, stop: &str) -> Option<usize> {
        let mut p = start;
        while p < end {
            let c = self.chars[p];
            if err.contains(c) {
                return None;
            }
            if stop.contains(c) {
                break;
            }
            p += 1;
        }
        Some(p)
    }

    /// The end of the run of `class` characters from `start`.
    fn scan(&self, start: usize, end: usize, class: Class) -> Step<usize> {
        let mut p = start;
        while p < end {
            let c = self.chars[p];
            if (class.test)(c) {
                p += 1;
                continue;
            }
            if class.escaped {
                if c == '%' {
                    let hex = |i: usize| self.chars.get(i).is_some_and(|c| c.is_ascii_hexdigit());
                    if p + 3 <= end && hex(p + 1) && hex(p + 2) {
                        p += 3;
                        continue;
                    }
                    return Err(format!("Malformed escape pair at index {p}"));
                }
                if (c as u32) > 128 && !c.is_whitespace() && !c.is_control() {
                    p += 1;
                    continue;
                }
            }
            break;
        }
        Ok(p)
    }

    fn check(&self, start: usize, end: usize, class: Class, what: &str) -> Step<()> {
        let p = self.scan(start, end, class)?;
        if p < end {
            return Err(format!("Illegal character in {what} at index {p}"));
        }
        Ok(())
    }

    fn parse(&mut self) -> Step<()> {
        let n = self.chars.len();
        let colon = self.scan_stop(0, n, "/?#", ":");
        let mut p = match colon {
            Some(p) if self.at(p, ':') => {
                if p == 0 {
                    return Err("Expected scheme name at index 0".into());
                }
                if !is_alpha(self.chars[0]) {
                    return Err("Illegal character in scheme name at index 0".into());
                }
                self.check(1, p, SCHEME, "scheme name")?;
                self.uri.scheme = Some(self.substring(0, p));
                let p = p + 1;
                if self.at(p, '/') {
                    self.hierarchical(p, n)?
                } else {
                    let q = self.scan_stop(p, n, "", "#").unwrap_or(n);
                    if q <= p {
                        return Err(format!("Expected scheme-specific part at index {p}"));
                    }
                    self.check(p, q, URIC, "opaque part")?;
                    q
                }
            }
            _ => self.hierarchical(0, n)?,
        };
        if self.at(p, '#') {
            self.check(p + 1, n, URIC, "fragment")?;
            self.uri.raw_fragment = Some(self.substring(p + 1, n));
            p = n;
        }
        if p < n {
            return Err(format!("Illegal character at index {p}"));
        }
        Ok(())
    }

    fn hierarchical(&mut self, start: usize, n: usize) -> Step<usize> {
        let mut p = start;
        if self.at(p, '/') && self.at(p + 1, '/') {
            p += 2;
            let q = self.scan_stop(p, n, "", "/?#").unwrap_or(n);
            if q > p {
                p = self.authority(p, q)?;
            } else if q >= n {
                return Err(format!("Expected authority at index {p}"));
            }
        }
        let q = self.scan_stop(p, n, "", "?#").unwrap_or(n);
        self.check(p, q, PATH, "path")?;
        self.uri.raw_path = Some(self.substring(p, q));
        p = q;
        if self.at(p, '?') {
            p += 1;
            let q = self.scan_stop(p, n, "", "#").unwrap_or(n);
            self.check(p, q, URIC, "query")?;
            self.uri.raw_query = Some(self.substring(p, q));
            p = q;
        }
        Ok(p)
    }

    fn authority(&mut self, start: usize, n: usize) -> Step<usize> {
        let p = start;
        // java.net.URI admits '%' in server authorities that hold anything before a ']'.
        let bracket = self.scan_stop(p, n, "", "]").unwrap_or(n);
        let server_chars = if bracket > p {
            self.scan(p, n, SERVER_PERCENT)? == n
        } else {
            self.scan(p, n, SERVER)? == n
        };
        let reg_chars = self.scan(p, n, REG_NAME)? == n;
        if reg_chars && !server_chars {
            return Ok(n);
        }
        let mut failure = None;
        let mut q = p;
        if server_chars {
            match self.server(p, n) {
                Ok(end) if end >= n => q = end,
                Ok(end) => {
                    failure = Some(format!("Expected end of authority at index {end}"));
                    self.uri.host = None;
                    self.uri.port = -1;
                }
                Err(e) => {
                    failure = Some(e);
                    self.uri.host = None;
                    self.uri.port = -1;
                }
            }
        }
        if q < n {
            if reg_chars {
                // A registry-based authority: no host or port.
            } else if let Some(e) = failure {
                return Err(e);
            } else {
                return Err(format!("Illegal character in authority at index {q}"));
            }
        }
        Ok(n)
    }

    fn server(&mut self, start: usize, n: usize) -> Step<usize> {
        let mut p = start;
        // userinfo
        if let Some(q) = self.scan_stop(p, n, "/?#", "@")
            && self.at(q, '@')
            && q < n
        {
            self.check(p, q, USERINFO, "user info")?;
            p = q + 1;
        }
        // host: an IPv6 reference, an IPv4 address or a hostname
        if self.at(p, '[') {
            p += 1;
            let q = self.scan_stop(p, n, "/?#", "]");
            match q {
                Some(q) if q > p && self.at(q, ']') => {
                    let inside = self.substring(p, q);
                    let address = inside.split('%').next().unwrap_or("");
                    if address.parse::<std::net::Ipv6Addr>().is_err() {
                        return Err(format!("Malformed IPv6 address at index {p}"));
                    }
                    if let Some(scope) = inside.split_once('%').map(|(_, s)| s)
                        && (scope.is_empty()
                            || !scope.chars().all(|c| is_alphanum(c) || "_.".contains(c)))
                    {
                        return Err(format!("Illegal character in scope id at index {p}"));
                    }
                    self.uri.host = Some(self.substring(p - 1, q + 1));
                    p = q + 1;
                }
                _ => {
                    return Err(format!(
                        "Expected closing bracket for IPv6 address at index {p}"
                    ));
                }
            }
        } else {
            let q = match self.ipv4(p, n) {
                Some(q) if q > p => q,
                _ => self.hostname(p, n)?,
            };
            p = q;
        }
        // port
        if self.at(p, ':') {
            p += 1;
            let q = self.scan_stop(p, n, "", "/").unwrap_or(n);
            if q > p {
                let digits = self.substring(p, q);
                if !digits.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("Illegal character in port number at index {p}"));
                }
                self.uri.port = digits
                    .parse()
                    .map_err(|_| format!("Malformed port number at index {p}"))?;
                p = q;
            }
        }
        if p < n {
            return Err(format!("Expected port number at index {p}"));
        }
        Ok(p)
    }

    /// A dotted IPv4 address (four decimal bytes, each up to 255), followed by the end or a
    /// ':'; `None` when there is none.
    fn ipv4(&mut self, start: usize, n: usize) -> Option<usize> {
        let m = {
            let mut m = start;
            while m < n && (self.chars[m].is_ascii_digit() || self.chars[m] == '.') {
                m += 1;
            }
            m
        };
        if m <= start {
            return None;
        }
        let text = self.substring(start, m);
        let parts: Vec<&str> = text.split('.').collect();
        let valid = parts.len() == 4
            && parts
                .iter()
                .all(|b| b.parse::<i32>().is_ok_and(|v| v <= 255));
        if !valid {
            return None;
        }
        if m < n && self.chars[m] != ':' {
            return None;
        }
        self.uri.host = Some(text);
        Some(m)
    }

    /// `hostname = domainlabel [ "." ] | 1*( domainlabel "." ) toplabel [ "." ]`.
    fn hostname(&mut self, start: usize, n: usize) -> Step<usize> {
        let mut p = start;
        let mut last_label = None;
        loop {
            let q = self.scan_ascii(p, n, is_alphanum);
            if q <= p {
                break;
            }
            last_label = Some(p);
            p = q;
            let q = self.scan_ascii(p, n, |c| is_alphanum(c) || c == '-');
            if q > p {
                if self.chars[q - 1] == '-' {
                    return Err(format!("Illegal character in hostname at index {}", q - 1));
                }
                p = q;
            }
            if self.at(p, '.') {
                p += 1;
            } else {
                break;
            }
            if p >= n {
                break;
            }
        }
        if p < n && !self.at(p, ':') {
            return Err(format!("Illegal character in hostname at index {p}"));
        }
        let Some(label) = last_label else {
            return Err(format!("Expected hostname at index {start}"));
        };
        if label > start && !is_alpha(self.chars[label]) {
            return Err(format!("Illegal character in hostname at index {label}"));
        }
        self.uri.host = Some(self.substring(start, p));
        Ok(p)
    }

    fn scan_ascii(&self, start: usize, end: usize, ok: fn(char) -> bool) -> usize {
        let mut p = start;
        while p < end && ok(self.chars[p]) {
            p += 1;
        }
        p
    }
}

/// `java.net.URI`'s decoding of a component: runs of `%XX` as UTF-8 (malformed sequences
/// replaced), except within square brackets.
pub(super) fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_brackets = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            in_brackets = true;
        } else if in_brackets && c == ']' {
            in_brackets = false;
        }
        if c != '%' || in_brackets {
            out.push(c);
            i += 1;
            continue;
        }
        let mut bytes = Vec::new();
        while i + 2 < chars.len() && chars[i] == '%' {
            match (chars[i + 1].to_digit(16), chars[i + 2].to_digit(16)) {
                (Some(high), Some(low)) => bytes.push((high * 16 + low) as u8),
                _ => break,
            }
            i += 3;
        }
        if bytes.is_empty() {
            // Not an escape (the parser rejects these); keep the character.
            out.push(c);
            i += 1;
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        parse(text).unwrap()
    }

    #[test]
    fn parses_like_java_net_uri() {
        let u = uri("http://test@confluent.io:8080/nested/path?query&jobs#frag");
        assert_eq!(u.scheme.as_deref(), Some("http"));
        assert_eq!(u.host.as_deref(), Some("confluent.io"));
        assert_eq!(u.port, 8080);
        assert_eq!(u.path().as_deref(), Some("/nested/path"));
        assert_eq!(u.query().as_deref(), Some("query&jobs"));
        assert_eq!(u.fragment().as_deref(), Some("frag"));

        let u = uri("http://www.test.com?query#fragment");
        assert_eq!(u.path().as_deref(), Some(""));
        assert_eq!(u.query().as_deref(), Some("query"));

        let u = uri("www.confluent.io");
        assert_eq!(u.scheme, None);
        assert_eq!(u.host, None);
        assert_eq!(u.path().as_deref(), Some("www.confluent.io"));

        let u = uri("mailto:someone@example.com");
        assert_eq!(u.scheme.as_deref(), Some("mailto"));
        assert_eq!(u.raw_path, None);

        // Registry-based authorities have no host.
        assert_eq!(uri("http://www.1abc/").host, None);
        assert_eq!(uri("http://under_score.com/").host, None);
        assert_eq!(uri("http://1.2.3.4:80/").host.as_deref(), Some("1.2.3.4"));
        assert_eq!(uri("http://[::1]:80/").host.as_deref(), Some("[::1]"));
        assert_eq!(uri("http://host:99999999999/").port, -1);
        assert_eq!(uri("file:///tmp/x").host, None);
        assert_eq!(uri("").path().as_deref(), Some(""));

        let u = uri("http://h/a%20b?x=%C3%A9#%zz".replace("%zz", "%41").as_str());
        assert_eq!(u.path().as_deref(), Some("/a b"));
        assert_eq!(u.query().as_deref(), Some("x=é"));
        assert_eq!(u.fragment().as_deref(), Some("A"));

        assert!(parse("http://h/a b").is_err());
        assert!(parse("http://h/%zz").is_err());
        assert!(parse(":x").is_err());
        assert!(parse("1http://x").is_err());
        assert!(parse("http://").is_err());
        assert!(parse("http:").is_err());
    }
}
