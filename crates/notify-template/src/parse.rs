//! Go text/template source to a tree: text, actions with pipelines, and the
//! `if`/`range`/`with`/`define`/`template`/`block` structure.

use serde_json::Value;

use crate::TemplateError;

/// One argument of a command.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `.` followed by a field chain (`.A.B`; empty chain = dot itself).
    Field(Vec<String>),
    /// `$name.A.B` (`$` alone is the root data).
    Var(String, Vec<String>),
    Literal(Value),
    /// A function name.
    Ident(String),
    /// `( pipeline )` with an optional field chain after it.
    Sub(Box<Pipeline>, Vec<String>),
}

/// Words of one command: a function and its arguments, or a single value.
pub type Command = Vec<Arg>;

/// `$x := a | b c`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`).
    pub decl: Vec<String>,
    pub assign: bool,
    pub commands: Vec<Command>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Output(Pipeline),
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Template(String, Option<Pipeline>, usize),
}

/// Parse result: the top-level nodes and the `define`d (and `block`) templates.
pub struct Parsed {
    pub nodes: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

/// A lexed piece: text, or an action's inside with its line.
enum Piece {
    Text(String),
    Action(String, usize),
}

fn err(source: &str, line: usize, message: impl Into<String>) -> TemplateError {
    TemplateError::Parse {
        template: source.to_string(),
        line,
        message: message.into(),
    }
}

fn split(source: &str, text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut offset = 0;
    // Lines are counted from where the previous action's were, so a long file with
    // many actions is scanned once, not once per action.
    let mut line = 1;
    let mut counted_to = 0;
    while let Some(found) = text[offset..].find("{{") {
        let open = offset + found;
        let mut before = &text[offset..open];
        line += text[counted_to..open].matches('\n').count();
        counted_to = open;
        let action_line = line;
        let mut start = open + 2;
        let trim_left = text[start..].starts_with('-')
            && text[start + 1..].starts_with([' ', '\t', '\n', '\r']);
        if trim_left {
            before = before.trim_end();
            start += 1;
        }
        // The closing braces, outside string literals.
        let bytes = text.as_bytes();
        let mut i = start;
        let mut quote: Option<u8> = None;
        let close = loop {
            let Some(&b) = bytes.get(i) else {
                return Err(err(source, action_line, "unclosed action"));
            };
            match quote {
                Some(q) => {
                    if b == b'\\' && q == b'"' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => {
                    if b == b'"' || b == b'`' {
                        quote = Some(b);
                    } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                        break i;
                    }
                }
            }
            i += 1;
        };
        let mut inner = &text[start..close];
        let mut next = close + 2;
        if inner.len() >= 2
            && inner.ends_with('-')
            && inner[..inner.len() - 1].ends_with([' ', '\t', '\n', '\r'])
        {
            inner = &inner[..inner.len() - 1];
            next += text[next..].len() - text[next..].trim_start().len();
        }
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_string()));
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            pieces.push(Piece::Action(inner.to_string(), action_line));
        }
        offset = next;
    }
    if offset < text.len() {
        pieces.push(Piece::Text(text[offset..].to_string()));
    }
    Ok(pieces)
}

/// Tokens inside an action.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(String),
    Open,
    Close(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

fn field_chain(chars: &[char], i: &mut usize) -> Vec<String> {
    let mut chain = Vec::new();
    while *i < chars.len() && chars[*i] == '.' {
        *i += 1;
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        if *i == start {
            break;
        }
        chain.push(chars[start..*i].iter().collect());
    }
    chain
}

fn lex(source: &str, line: usize, text: &str) -> Result<Vec<Tok>, TemplateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                i += 1;
                toks.push(Tok::Close(field_chain(&chars, &mut i)));
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '.' => {
                if chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    let start = i;
                    i += 1;
                    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == 'e') {
                        i += 1;
                    }
                    toks.push(Tok::Num(chars[start..i].iter().collect()));
                } else {
                    // Consumes the `.` even when no field follows (dot itself), and
                    // nothing after it: `(printf "%d" .)` keeps its parenthesis.
                    toks.push(Tok::Field(field_chain(&chars, &mut i)));
                }
            }
            '$' => {
                i += 1;
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                toks.push(Tok::Var(name, field_chain(&chars, &mut i)));
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(err(source, line, "unterminated quoted string"));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err(err(source, line, "unterminated quoted string"));
                            };
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                '\'' => '\'',
                                other => {
                                    return Err(err(
                                        source,
                                        line,
                                        format!("unknown escape \\{other}"),
                                    ))
                                }
                            });
                        }
                        c => s.push(c),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '`' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err(source, line, "unterminated raw string"));
                }
                toks.push(Tok::Str(chars[start..i].iter().collect()));
                i += 1;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if text.parse::<f64>().is_err() {
                    return Err(err(source, line, format!("bad number syntax: {text:?}")));
                }
                toks.push(Tok::Num(text));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(err(source, line, format!("unexpected {other:?} in action"))),
        }
    }
    Ok(toks)
}

struct TokStream<'a> {
    toks: &'a [Tok],
    pos: usize,
    source: &'a str,
    line: usize,
    /// Open parentheses: bounded so a hostile template cannot exhaust the stack.
    depth: usize,
}

/// Deepest nesting of parentheses in one action.
const MAX_PAREN_DEPTH: usize = 32;

impl TokStream<'_> {
    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, TemplateError> {
        let mut decl = Vec::new();
        let mut assign = false;
        if allow_decl {
            // `$a := ...`, `$a = ...`, `$i, $v := ...`
            let mut j = self.pos;
            let mut names = Vec::new();
            while let Some(Tok::Var(name, chain)) = self.toks.get(j) {
                if !chain.is_empty() {
                    break;
                }
                names.push(name.clone());
                j += 1;
                if self.toks.get(j) == Some(&Tok::Comma) {
                    j += 1;
                } else {
                    break;
                }
            }
            match self.toks.get(j) {
                Some(Tok::Declare) if !names.is_empty() => {
                    decl = names;
                    self.pos = j + 1;
                }
                Some(Tok::Assign) if !names.is_empty() => {
                    decl = names;
                    assign = true;
                    self.pos = j + 1;
                }
                _ => {}
            }
        }
        let mut commands = Vec::new();
        loop {
            let mut command = Vec::new();
            while let Some(tok) = self.toks.get(self.pos) {
                match tok {
                    Tok::Pipe | Tok::Close(_) => break,
                    _ => {
                        self.pos += 1;
                        command.push(self.arg(tok.clone())?);
                    }
                }
            }
            if command.is_empty() {
                return Err(err(self.source, self.line, "missing value for command"));
            }
            commands.push(command);
            if self.toks.get(self.pos) == Some(&Tok::Pipe) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Pipeline {
            decl,
            assign,
            commands,
            line: self.line,
        })
    }

    fn arg(&mut self, tok: Tok) -> Result<Arg, TemplateError> {
        Ok(match tok {
            Tok::Field(chain) => Arg::Field(chain),
            Tok::Var(name, chain) => Arg::Var(name, chain),
            Tok::Str(s) => Arg::Literal(Value::String(s)),
            Tok::Num(text) => Arg::Literal(match text.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
            }),
            Tok::Ident(name) => match name.as_str() {
                "true" => Arg::Literal(Value::Bool(true)),
                "false" => Arg::Literal(Value::Bool(false)),
                "nil" => Arg::Literal(Value::Null),
                _ => Arg::Ident(name),
            },
            Tok::Open => {
                self.depth += 1;
                if self.depth > MAX_PAREN_DEPTH {
                    return Err(err(
                        self.source,
                        self.line,
                        format!("more than {MAX_PAREN_DEPTH} nested parentheses"),
                    ));
                }
                let inner = self.pipeline(false)?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some(Tok::Close(chain)) => {
                        self.pos += 1;
                        Arg::Sub(Box::new(inner), chain.clone())
                    }
                    _ => return Err(err(self.source, self.line, "unclosed left paren")),
                }
            }
            other => return Err(err(self.source, self.line, format!("unexpected {other:?}"))),
        })
    }
}

fn parse_pipeline(
    source: &str,
    line: usize,
    text: &str,
    allow_decl: bool,
) -> Result<Pipeline, TemplateError> {
    let toks = lex(source, line, text)?;
    let mut stream = TokStream {
        toks: &toks,
        pos: 0,
        source,
        line,
        depth: 0,
    };
    let pipeline = stream.pipeline(allow_decl)?;
    if stream.pos != toks.len() {
        return Err(err(
            source,
            line,
            format!("unexpected {:?} in operand", toks[stream.pos]),
        ));
    }
    Ok(pipeline)
}

/// Where a block of nodes ended.
enum BlockEnd {
    Eof,
    EndKeyword(usize),
    Else(String, usize),
}

struct Parser<'a> {
    source: &'a str,
    pieces: Vec<Piece>,
    pos: usize,
    defines: Vec<(String, Vec<Node>)>,
}

fn quoted_name(source: &str, line: usize, text: &str) -> Result<(String, String), TemplateError> {
    let toks = lex(source, line, text)?;
    match toks.first() {
        Some(Tok::Str(name)) => {
            let rest_start = text
                .find(['"', '`'])
                .and_then(|start| {
                    text[start + 1..]
                        .find(['"', '`'])
                        .map(|end| start + end + 2)
                })
                .unwrap_or(text.len());
            Ok((name.clone(), text[rest_start..].trim().to_string()))
        }
        _ => Err(err(
            source,
            line,
            format!("expected a quoted template name in {text:?}"),
        )),
    }
}

impl Parser<'_> {
    fn block(&mut self, depth: usize) -> Result<(Vec<Node>, BlockEnd), TemplateError> {
        if depth > MAX_BLOCK_DEPTH {
            let line = match self.pieces.get(self.pos.saturating_sub(1)) {
                Some(Piece::Action(_, line)) => *line,
                _ => 0,
            };
            return Err(err(
                self.source,
                line,
                format!("more than {MAX_BLOCK_DEPTH} nested blocks"),
            ));
        }
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let piece = std::mem::replace(&mut self.pieces[self.pos], Piece::Text(String::new()));
            self.pos += 1;
            let (action, line) = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Piece::Action(a, line) => (a, line),
            };
            let (keyword, rest) = match action.split_once(char::is_whitespace) {
                Some((k, r)) => (k, r.trim()),
                None => (action.as_str(), ""),
            };
            match keyword {
                "end" => return Ok((nodes, BlockEnd::EndKeyword(line))),
                "else" => return Ok((nodes, BlockEnd::Else(rest.to_string(), line))),
                "if" | "with" | "range" => {
                    let pipeline = parse_pipeline(self.source, line, rest, keyword != "if")?;
                    let (body, end) = self.block(depth + 1)?;
                    let mut branches = vec![(pipeline, body)];
                    let mut otherwise = Vec::new();
                    let mut end = end;
                    loop {
                        match end {
                            BlockEnd::EndKeyword(_) => break,
                            BlockEnd::Eof => {
                                return Err(err(
                                    self.source,
                                    line,
                                    format!("unexpected EOF in {keyword}"),
                                ))
                            }
                            BlockEnd::Else(cond, else_line) => {
                                if let Some(cond) =
                                    cond.strip_prefix(keyword).filter(|_| keyword != "range")
                                {
                                    let pipeline = parse_pipeline(
                                        self.source,
                                        else_line,
                                        cond.trim(),
                                        keyword != "if",
                                    )?;
                                    let (body, next) = self.block(depth + 1)?;
                                    branches.push((pipeline, body));
                                    end = next;
                                } else if cond.is_empty() {
                                    let (body, next) = self.block(depth + 1)?;
                                    otherwise = body;
                                    if !matches!(next, BlockEnd::EndKeyword(_)) {
                                        return Err(err(
                                            self.source,
                                            else_line,
                                            "expected end after else",
                                        ));
                                    }
                                    break;
                                } else {
                                    return Err(err(
                                        self.source,
                                        else_line,
                                        format!("unexpected else {cond:?}"),
                                    ));
                                }
                            }
                        }
                    }
                    nodes.push(match keyword {
                        "if" => Node::If(branches, otherwise),
                        "with" => nest_with(branches, otherwise),
                        _ => {
                            let Some((pipeline, body)) = branches.into_iter().next() else {
                                return Err(err(self.source, line, "empty range"));
                            };
                            Node::Range(pipeline, body, otherwise)
                        }
                    });
                }
                "define" | "block" => {
                    let (name, arg) = quoted_name(self.source, line, rest)?;
                    let (body, end) = self.block(depth + 1)?;
                    if !matches!(end, BlockEnd::EndKeyword(_)) {
                        return Err(err(
                            self.source,
                            line,
                            format!("unexpected EOF in {keyword} {name:?}"),
                        ));
                    }
                    self.defines.push((name.clone(), body));
                    if keyword == "block" {
                        let pipeline = (!arg.is_empty())
                            .then(|| parse_pipeline(self.source, line, &arg, false))
                            .transpose()?;
                        nodes.push(Node::Template(name, pipeline, line));
                    } else if depth > 0 {
                        return Err(err(self.source, line, "define must be at the top level"));
                    }
                }
                "template" => {
                    let (name, arg) = quoted_name(self.source, line, rest)?;
                    let pipeline = (!arg.is_empty())
                        .then(|| parse_pipeline(self.source, line, &arg, false))
                        .transpose()?;
                    nodes.push(Node::Template(name, pipeline, line));
                }
                _ => nodes.push(Node::Output(parse_pipeline(
                    self.source,
                    line,
                    &action,
                    true,
                )?)),
            }
        }
        Ok((nodes, BlockEnd::Eof))
    }
}

/// `with a`/`else with b`/`else` as nested withs.
fn nest_with(branches: Vec<(Pipeline, Vec<Node>)>, otherwise: Vec<Node>) -> Node {
    let mut result = otherwise;
    for (pipeline, body) in branches.into_iter().rev() {
        result = vec![Node::With(pipeline, body, result)];
    }
    match result.pop() {
        Some(node) if result.is_empty() => node,
        Some(node) => {
            result.push(node);
            Node::If(Vec::new(), result)
        }
        None => Node::Text(String::new()),
    }
}

/// Deepest nesting of `if` / `range` / `with` / `define` blocks.
const MAX_BLOCK_DEPTH: usize = 50;

/// Parses `text` (named `source` in errors).
pub fn parse(source: &str, text: &str) -> Result<Parsed, TemplateError> {
    let pieces = split(source, text)?;
    let mut parser = Parser {
        source,
        pieces,
        pos: 0,
        defines: Vec::new(),
    };
    let (nodes, end) = parser.block(0)?;
    match end {
        BlockEnd::Eof => Ok(Parsed {
            nodes,
            defines: parser.defines,
        }),
        BlockEnd::EndKeyword(line) => Err(err(source, line, "unexpected {{end}}")),
        BlockEnd::Else(_, line) => Err(err(source, line, "unexpected {{else}}")),
    }
}
