//! Alertmanager's UTF-8 matcher parser (`matcher/parse`, the default since 0.27):
//! optional braces, comma-separated matchers with a trailing comma allowed, names and
//! values either unquoted (any run of non-reserved characters, UTF-8 included) or
//! double-quoted with Go string escapes.

use crate::matcher::{MatchType, Matcher, MatcherError};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Op(MatchType),
    Quoted(String),
    Unquoted(String),
}

fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

fn syntax(input: &str, message: impl std::fmt::Display) -> MatcherError {
    MatcherError::Syntax(format!("{message} in {input:?}"))
}

fn lex(input: &str) -> Result<Vec<Token>, MatcherError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '=' => {
                if chars.peek().is_some_and(|(_, n)| *n == '~') {
                    chars.next();
                    tokens.push(Token::Op(MatchType::Regexp));
                } else {
                    tokens.push(Token::Op(MatchType::Equal));
                }
            }
            '!' => match chars.next() {
                Some((_, '=')) => tokens.push(Token::Op(MatchType::NotEqual)),
                Some((_, '~')) => tokens.push(Token::Op(MatchType::NotRegexp)),
                _ => return Err(syntax(input, format!("{}: invalid input", &input[start..]))),
            },
            '"' => {
                let mut escaped = false;
                let mut end = None;
                for (i, q) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if q == '\\' {
                        escaped = true;
                    } else if q == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| syntax(input, "unterminated quoted string"))?;
                let raw = &input[start..=end];
                tokens.push(Token::Quoted(
                    unquote(raw).ok_or_else(|| syntax(input, format!("{raw}: invalid input")))?,
                ));
            }
            c if is_reserved(c) => {
                return Err(syntax(input, format!("{c}: invalid input")));
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if is_reserved(n) {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                tokens.push(Token::Unquoted(input[start..end].to_string()));
            }
        }
    }
    Ok(tokens)
}

/// Go's `strconv.Unquote` for a double-quoted string; `None` when an escape is invalid
/// or the result is not UTF-8.
fn unquote(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next()?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let mut hex = |n: usize| -> Option<u32> {
            let digits: String = (0..n).map(|_| chars.next()).collect::<Option<String>>()?;
            u32::from_str_radix(&digits, 16).ok()
        };
        match e {
            'x' => out.push(u8::try_from(hex(2)?).ok()?),
            'u' => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(char::from_u32(hex(4)?)?.encode_utf8(&mut buf).as_bytes());
            }
            'U' => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(char::from_u32(hex(8)?)?.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let rest: String = (0..2).map(|_| chars.next()).collect::<Option<String>>()?;
                let n = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                out.push(u8::try_from(n).ok()?);
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a list of matchers; `""` and `"{}"` are no matchers.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let tokens = lex(input)?;
    let mut pos = 0;
    let mut matchers = Vec::new();
    if tokens.is_empty() {
        return Ok(matchers);
    }
    let braced = tokens.first() == Some(&Token::Open);
    if braced {
        pos += 1;
    }
    loop {
        match tokens.get(pos) {
            Some(Token::Close) if braced => {
                pos += 1;
                break;
            }
            None if !braced => break,
            None => return Err(syntax(input, "end of input: expected close brace")),
            _ => {}
        }
        let name = match tokens.get(pos) {
            Some(Token::Quoted(s) | Token::Unquoted(s)) => s.clone(),
            Some(Token::Close) => return Err(syntax(input, "}: expected opening brace")),
            other => {
                return Err(syntax(
                    input,
                    format!("unexpected {other:?}: expected label name"),
                ))
            }
        };
        let op = match tokens.get(pos + 1) {
            Some(Token::Op(op)) => *op,
            other => {
                return Err(syntax(
                    input,
                    format!("unexpected {other:?}: expected an operator"),
                ))
            }
        };
        let value = match tokens.get(pos + 2) {
            Some(Token::Quoted(s) | Token::Unquoted(s)) => s.clone(),
            other => {
                return Err(syntax(
                    input,
                    format!("unexpected {other:?}: expected label value"),
                ))
            }
        };
        pos += 3;
        matchers.push(Matcher::new(op, name, value)?);
        match tokens.get(pos) {
            Some(Token::Comma) => pos += 1,
            Some(Token::Close) if braced => {
                pos += 1;
                break;
            }
            None if !braced => break,
            None => return Err(syntax(input, "end of input: expected close brace")),
            Some(Token::Close) => return Err(syntax(input, "}: expected opening brace")),
            Some(other) => {
                return Err(syntax(
                    input,
                    format!("unexpected {other:?}: expected a comma or close brace"),
                ))
            }
        }
    }
    if pos != tokens.len() {
        return Err(syntax(input, "unexpected input after the matchers"));
    }
    Ok(matchers)
}

/// Parses exactly one matcher.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let mut matchers = parse_matchers(input)?;
    match matchers.len() {
        1 => Ok(matchers.remove(0)),
        0 => Err(syntax(input, "no matchers")),
        n => Err(syntax(input, format!("expected 1 matcher, found {n}"))),
    }
}
