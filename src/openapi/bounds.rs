//! Bounds on an API description, checked before it is parsed: size (while reading), nesting
//! depth (a linear pre-scan), and the time and concurrency of the parse itself.
//!
//! A document is attacker-controlled when it comes through the dashboard. serde_json gives up
//! at depth 128 in microseconds, but the YAML fallback (libyaml) spends time quadratic in the
//! nesting of flow collections: 100,000 nested `{"a":` take minutes. [`check_nesting`] measures
//! the depth in one pass over the bytes, following YAML's rules for what is structure and what
//! is text (quoted scalars, plain scalars, block scalars, comments, indentation), and stops at
//! the first level past the limit. What it counts is an upper bound of the depth of flow
//! collections (`[...]`, `{...}`, which JSON documents are made of) and a close estimate of
//! block nesting (indentation and `- ` / `? ` / `: ` indicators).
//!
//! The parse then runs on a blocking thread ([`parse_bounded`]), one document at a time, within
//! a time budget: the async runtime that serves the dashboard and `/metrics` never runs it.

use super::{ApiSpec, ParseError, parse_checked};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// Largest document accepted (bytes).
pub const MAX_DOC: usize = 16 << 20;
/// Deepest nesting accepted (serde_json's own limit is 128; real API descriptions stay far
/// below 64: 11 to 21 levels in Twilio's 55 descriptions).
pub const MAX_DEPTH: usize = 128;
/// Most nodes (keys, scalars, collections) accepted: parsed documents take memory per node
/// (libyaml's events, then serde_json values: 200 to 450 bytes each for tiny nodes), so a
/// 16 MiB document of `{b: [1]}` items would take 1.3 GB (JSON) to 2.8 GB (YAML). Real API
/// descriptions have one node per 20 bytes or so (Twilio's: 66,440 nodes in 1.5 MB), so a
/// 16 MiB one has about 800,000.
pub const MAX_NODES: usize = 1_000_000;
/// Time a parse may take.
pub const PARSE_BUDGET: Duration = Duration::from_secs(30);

/// The bounds of an import.
#[derive(Clone, Debug)]
pub struct SpecLimits {
    /// Largest document, bytes.
    pub max_bytes: usize,
    /// Deepest nesting (flow collections plus block levels).
    pub max_depth: usize,
    /// Most nodes (keys, scalars, collections).
    pub max_nodes: usize,
    /// Time allowed to wait for the parser and to parse.
    pub parse_budget: Duration,
}

impl Default for SpecLimits {
    fn default() -> Self {
        SpecLimits {
            max_bytes: MAX_DOC,
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            parse_budget: PARSE_BUDGET,
        }
    }
}

/// Reads a document from a file, at most `limit` bytes: a larger file (or a device such as
/// `/dev/zero`) is refused after `limit + 1` bytes, never read whole.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let io = |error| ReadError::Io {
        path: path.display().to_string(),
        error,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    f.take(limit as u64 + 1).read_to_end(&mut out).map_err(io)?;
    if out.len() > limit {
        return Err(ReadError::TooLarge {
            path: path.display().to_string(),
            refusal: ParseError::TooLarge { limit },
        });
    }
    Ok(out)
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error(
        "{path}: {}; give the path of an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML)",
        crate::capture::io_reason(error)
    )]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// Larger than the limit.
    #[error("{path}: {refusal}")]
    TooLarge {
        /// The file.
        path: String,
        /// The refusal.
        refusal: ParseError,
    },
}

/// Parses a document on a blocking thread, one at a time, within `limits.parse_budget` (the
/// wait for a free parser included). Size and depth are checked first, on that thread too.
///
/// A parse past its budget is reported at once; its thread finishes on its own (it cannot be
/// stopped) and holds the parser until then, so a flood of uploads cannot pile up parses.
pub async fn parse_bounded(content: Vec<u8>, limits: &SpecLimits) -> Result<ApiSpec, ParseError> {
    static PARSER: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let started = Instant::now();
    let budget = limits.parse_budget;
    let secs = budget.as_secs_f64();
    let permit = tokio::time::timeout(budget, PARSER.acquire())
        .await
        .map_err(|_| ParseError::Busy { secs })?
        .map_err(|_| ParseError::Busy { secs })?;
    let limits = limits.clone();
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        parse_checked(&content, &limits)
    });
    match tokio::time::timeout(budget.saturating_sub(started.elapsed()), job).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(ParseError::Syntax(format!("the parser failed: {e}"))),
        Err(_) => Err(ParseError::TimedOut { secs }),
    }
}

/// A UTF-16 document (with its byte order mark) as UTF-8, so that the pre-scan sees the same
/// characters as the parsers; other documents unchanged (without a UTF-8 byte order mark).
pub fn to_utf8(content: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let utf16 = |be: bool| {
        let units = content[2..].chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        Cow::Owned(text.into_bytes())
    };
    match content {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        [0xEF, 0xBB, 0xBF, rest @ ..] => Cow::Borrowed(rest),
        _ => Cow::Borrowed(content),
    }
}

/// A document past a limit of [`check_nesting`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Nested deeper than the limit.
    TooDeep {
        /// 1-based line where the limit was passed.
        line: usize,
    },
    /// More nodes than the limit.
    TooManyNodes {
        /// 1-based line where the limit was passed.
        line: usize,
    },
}

/// What [`check_nesting`] measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    /// The deepest level.
    pub depth: usize,
    /// Nodes: keys, scalars and collections.
    pub nodes: usize,
}

/// Checks that no point of `doc` (UTF-8 JSON or YAML) is nested more than `max_depth` levels
/// deep and that it has at most `max_nodes` nodes. Linear in the length, and stops at the first
/// level or node past a limit.
pub fn check_nesting(doc: &[u8], max_depth: usize, max_nodes: usize) -> Result<Measure, Refused> {
    let mut s = Scan {
        s: doc,
        i: 0,
        line: 1,
        line_start: 0,
        limit: max_depth,
        max_nodes,
        m: Measure::default(),
        stack: Vec::new(),
        flow: 0,
        anchors: HashMap::new(),
        pending: Vec::new(),
        anchor_next: None,
    };
    s.run()?;
    Ok(s.m)
}

/// One block level: the column of its nodes; `seq_dup` marks a block sequence written at the
/// indentation of the mapping key that holds it (`key:\n- a`), one level below it.
#[derive(Clone, Copy, Debug)]
struct Level {
    col: usize,
    seq_dup: bool,
}

/// An anchored node whose end is not reached yet.
struct Pending {
    name: Vec<u8>,
    /// Nodes counted before it.
    start: usize,
    close: Close,
}

/// Where an anchored node ends.
enum Close {
    /// A block node: at a line indented less than `owner` (the column of its key or `-`), or as
    /// much unless it is a `- ` entry of a sequence that is the value of the key `owner`.
    Block { owner: isize, key: bool },
    /// A flow collection: where the flow depth comes back to this.
    Flow(usize),
}

/// How a line of block context ended.
struct LineEnd {
    /// An empty node is open (`key:`, `-`): a deeper next line is nested in it.
    opened: bool,
    /// A plain scalar may continue on lines indented more than this column (-1: any).
    cont: Option<isize>,
}

struct Scan<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    limit: usize,
    max_nodes: usize,
    m: Measure,
    stack: Vec<Level>,
    flow: usize,
    /// Nodes of every anchored node seen (after the expansion of aliases inside it): an alias
    /// stands for a copy of them in the parsed document.
    anchors: HashMap<Vec<u8>, usize>,
    pending: Vec<Pending>,
    /// An anchor read, waiting for its node.
    anchor_next: Option<Vec<u8>>,
}

fn blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl Scan<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    /// Length of the line break at `i` (LF, CRLF, CR, NEL, LS, PS: what libyaml breaks on).
    fn brk(&self, i: usize) -> usize {
        match &self.s[i.min(self.s.len())..] {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] | [b'\r', ..] => 1,
            [0xC2, 0x85, ..] => 2,
            [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
            _ => 0,
        }
    }

    /// Blank, break or end of input at `i`.
    fn blankz(&self, i: usize) -> bool {
        i >= self.s.len() || blank(self.s[i]) || self.brk(i) > 0
    }

    fn eol(&self) -> bool {
        self.i >= self.s.len() || self.brk(self.i) > 0
    }

    fn col(&self) -> usize {
        self.i - self.line_start
    }

    /// Consumes the line break at `i`.
    fn newline(&mut self) {
        let n = self.brk(self.i).max(1);
        self.i += n;
        self.line += 1;
        self.line_start = self.i;
    }

    /// Moves to the start of the next line.
    fn next_line(&mut self) {
        while self.i < self.s.len() && self.brk(self.i) == 0 {
            self.i += 1;
        }
        if self.i < self.s.len() {
            self.newline();
        }
    }

    fn skip_blanks(&mut self) {
        while self.at(self.i).is_some_and(blank) {
            self.i += 1;
        }
    }

    fn depth(&self) -> usize {
        self.stack.len() + self.flow
    }

    /// A new collection: checks the depth and counts a node.
    fn check(&mut self) -> Result<(), Refused> {
        let d = self.depth();
        self.m.depth = self.m.depth.max(d);
        if d > self.limit {
            return Err(Refused::TooDeep { line: self.line });
        }
        self.node_seen()
    }

    /// Counts a node.
    fn node_seen(&mut self) -> Result<(), Refused> {
        self.add_nodes(1)
    }

    fn add_nodes(&mut self, n: usize) -> Result<(), Refused> {
        self.m.nodes = self.m.nodes.saturating_add(n);
        if self.m.nodes > self.max_nodes {
            return Err(Refused::TooManyNodes { line: self.line });
        }
        Ok(())
    }

    /// An anchor at `&`: its name waits for the node.
    fn anchor(&mut self) {
        self.i += 1;
        let start = self.i;
        while self
            .at(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            self.i += 1;
        }
        self.anchor_next = Some(self.s[start..self.i].to_vec());
    }

    /// An alias at `*`: a copy of the anchored node (of what it has so far, when it refers to
    /// a node not ended yet; one node when the anchor is unknown).
    fn alias(&mut self) -> Result<(), Refused> {
        self.scalar_start();
        self.i += 1;
        let start = self.i;
        while self
            .at(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            self.i += 1;
        }
        let name = &self.s[start..self.i];
        let n = match self.anchors.get(name) {
            Some(&n) => n,
            None => self
                .pending
                .iter()
                .rev()
                .find(|p| p.name == name)
                .map_or(1, |p| self.m.nodes - p.start),
        };
        self.add_nodes(n.max(1))
    }

    /// A scalar (or an empty node) starts: an anchor waiting for it is one node.
    fn scalar_start(&mut self) {
        if let Some(name) = self.anchor_next.take() {
            self.anchors.insert(name, 1);
        }
    }

    /// A flow collection starts (before its depth is raised).
    fn flow_start(&mut self) {
        if let Some(name) = self.anchor_next.take() {
            self.pending.push(Pending {
                name,
                start: self.m.nodes,
                close: Close::Flow(self.flow),
            });
        }
    }

    /// A flow collection ended, the depth back to `self.flow`.
    fn flow_end(&mut self) {
        while let Some(Pending {
            close: Close::Flow(d),
            ..
        }) = self.pending.last()
        {
            if *d < self.flow {
                break;
            }
            self.close_last();
        }
    }

    /// A line of block context at `indent` (`dash`: it starts with `- `): anchored block nodes
    /// that end before it.
    fn block_end(&mut self, indent: usize, dash: bool) {
        let indent = indent as isize;
        while let Some(Pending {
            close: Close::Block { owner, key },
            ..
        }) = self.pending.last()
        {
            if indent > *owner || (indent == *owner && *key && dash) {
                break;
            }
            self.close_last();
        }
    }

    fn close_last(&mut self) {
        if let Some(p) = self.pending.pop() {
            self.anchors.insert(p.name, self.m.nodes - p.start);
        }
    }

    fn push(&mut self, col: usize, seq_dup: bool) -> Result<(), Refused> {
        self.stack.push(Level { col, seq_dup });
        self.check()
    }

    fn run(&mut self) -> Result<(), Refused> {
        let mut opened = true;
        let mut cont: Option<isize> = None;
        while self.i < self.s.len() {
            // At the start of a line, in block context.
            let start = self.i;
            self.skip_spaces_only();
            let indent = self.i - start;
            if self.eol() {
                self.next_line();
                continue;
            }
            let c = self.s[self.i];
            if c == b'#' {
                self.next_line();
                continue;
            }
            if indent == 0 && self.marker() {
                self.stack.clear();
                self.pending.clear();
                self.anchors.clear();
                self.anchor_next = None;
                self.i += 3;
                let end = self.node(-1)?;
                opened = end.opened;
                cont = end.cont;
                self.end_line();
                continue;
            }
            if let Some(t) = cont
                && indent as isize > t
            {
                // The continuation of a multi-line plain scalar: text.
                self.next_line();
                continue;
            }
            cont = None;
            if indent == 0 && c == b'%' {
                self.next_line();
                continue;
            }
            let dash = self.indicator(b'-');
            self.block_end(indent, dash);
            while let Some(top) = self.stack.last() {
                if top.col > indent || (top.col == indent && top.seq_dup && !dash) {
                    self.stack.pop();
                } else {
                    break;
                }
            }
            match self.stack.last().copied() {
                None => self.push(indent, false)?,
                Some(top) if indent > top.col => self.push(indent, false)?,
                Some(top) if top.col == indent && opened && dash && !top.seq_dup => {
                    self.push(indent, true)?
                }
                _ => {}
            }
            // The collection a bare node of this line belongs to.
            let n = self.stack.len();
            let owner = if n >= 2 {
                self.stack[n - 2].col as isize
            } else {
                -1
            };
            let end = self.node(owner)?;
            opened = end.opened;
            cont = end.cont;
            self.end_line();
        }
        Ok(())
    }

    /// Past the end of the line a node ended on (a block scalar ends at the start of the line
    /// after it, which is read next).
    fn end_line(&mut self) {
        if self.i != self.line_start {
            self.next_line();
        }
    }

    fn skip_spaces_only(&mut self) {
        while self.at(self.i) == Some(b' ') {
            self.i += 1;
        }
    }

    /// `---` or `...` followed by a blank, a break or the end.
    fn marker(&self) -> bool {
        let s = &self.s[self.i..];
        (s.starts_with(b"---") || s.starts_with(b"...")) && self.blankz(self.i + 3)
    }

    /// `c` followed by a blank, a break or the end (a block indicator).
    fn indicator(&self, c: u8) -> bool {
        self.at(self.i) == Some(c) && self.blankz(self.i + 1)
    }

    /// A node in block context at `self.i`, belonging to the block collection at column
    /// `owner`; consumes what it spans (quoted scalars and flow collections may span lines,
    /// block scalars take the lines that follow) and the rest of its line.
    fn node(&mut self, mut owner: isize) -> Result<LineEnd, Refused> {
        // Whether `owner` is the column of a key (else of an indicator or a collection).
        let mut key = false;
        loop {
            self.skip_blanks();
            if self.eol() || self.at(self.i) == Some(b'#') {
                return Ok(self.opened(owner, key));
            }
            let c = self.s[self.i];
            if matches!(c, b'-' | b'?' | b':') && self.blankz(self.i + 1) {
                // A block sequence entry, a complex key or its value: a node one level in.
                owner = self.col() as isize;
                key = false;
                self.i += 1;
                self.skip_blanks();
                if self.eol() || self.at(self.i) == Some(b'#') {
                    return Ok(self.opened(owner, key));
                }
                let col = self.col();
                if self.stack.last().is_none_or(|t| col > t.col) {
                    self.push(col, false)?;
                }
                continue;
            }
            let node_col = self.col() as isize;
            if !matches!(c, b'[' | b'{' | b'&' | b'!' | b'*') {
                self.scalar_start();
                self.node_seen()?;
            }
            match c {
                b'[' | b'{' => self.flow_collection()?,
                b'"' => self.double_quoted(),
                b'\'' => self.single_quoted(),
                b'|' | b'>' => {
                    self.block_scalar(owner);
                    return Ok(LineEnd {
                        opened: false,
                        cont: None,
                    });
                }
                b'&' | b'!' => {
                    // An anchor or a tag, then the node (maybe on the next line). An anchor's
                    // name ends where libyaml ends it (letters, digits, `-`, `_`): what follows
                    // (`&a: value`, an empty key) is read, not skipped.
                    if c == b'&' {
                        self.anchor();
                    } else {
                        while !self.blankz(self.i) {
                            self.i += 1;
                        }
                    }
                    continue;
                }
                b'*' => {
                    // The alias's name ends as an anchor's; `*a: value` is a key.
                    self.alias()?;
                }
                _ => {
                    // A plain scalar; up to `: ` it is a key.
                    if self.plain_block() {
                        owner = node_col;
                        key = true;
                        continue;
                    }
                    return Ok(LineEnd {
                        opened: false,
                        cont: Some(owner),
                    });
                }
            }
            // After a quoted scalar, a flow collection or an alias: a key, or the line's end.
            self.skip_blanks();
            if self.at(self.i) == Some(b':') && self.blankz(self.i + 1) {
                owner = node_col;
                key = true;
                self.i += 1;
                continue;
            }
            self.next_line_keep();
            return Ok(LineEnd {
                opened: false,
                cont: None,
            });
        }
    }

    /// The line ends with an empty node open (`key:`, `-`): an anchor waiting for its node
    /// anchors the block node of the lines that follow.
    fn opened(&mut self, owner: isize, key: bool) -> LineEnd {
        if let Some(name) = self.anchor_next.take() {
            self.pending.push(Pending {
                name,
                start: self.m.nodes,
                close: Close::Block { owner, key },
            });
        }
        LineEnd {
            opened: true,
            cont: None,
        }
    }

    /// Goes to the end of the line (not past its break).
    fn next_line_keep(&mut self) {
        while self.i < self.s.len() && self.brk(self.i) == 0 {
            self.i += 1;
        }
    }

    /// A plain scalar in block context: true when it ends with `: ` (a key, the position just
    /// past the colon), false at a comment or the end of the line.
    fn plain_block(&mut self) -> bool {
        let mut prev_blank = false;
        while !self.eol() {
            let c = self.s[self.i];
            if c == b':' && self.blankz(self.i + 1) {
                self.i += 1;
                return true;
            }
            if c == b'#' && prev_blank {
                break;
            }
            prev_blank = blank(c);
            self.i += 1;
        }
        self.next_line_keep();
        false
    }

    fn double_quoted(&mut self) {
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'"' => {
                    self.i += 1;
                    return;
                }
                b'\\' => {
                    self.i += 1;
                    if self.brk(self.i) > 0 {
                        self.newline();
                    } else {
                        self.i += 1;
                    }
                }
                _ if self.brk(self.i) > 0 => self.newline(),
                _ => self.i += 1,
            }
        }
    }

    fn single_quoted(&mut self) {
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\'' if self.at(self.i + 1) == Some(b'\'') => self.i += 2,
                b'\'' => {
                    self.i += 1;
                    return;
                }
                _ if self.brk(self.i) > 0 => self.newline(),
                _ => self.i += 1,
            }
        }
    }

    /// A block scalar (`|`, `>`): its header, then every following line that is blank or
    /// indented at least as much as its content (libyaml's rule: the first non-blank line sets
    /// the indentation unless the header gives it; it must be deeper than `owner`).
    fn block_scalar(&mut self, owner: isize) {
        self.i += 1;
        let mut explicit = None;
        while let Some(c) = self.at(self.i) {
            match c {
                b'+' | b'-' => self.i += 1,
                b'1'..=b'9' => {
                    explicit = Some((c - b'0') as isize);
                    self.i += 1;
                }
                _ => break,
            }
        }
        self.next_line_keep();
        if self.i < self.s.len() {
            self.newline();
        }
        let mut indent: Option<usize> = explicit.map(|d| (owner.max(0) + d) as usize);
        let floor = (owner + 1).max(1) as usize;
        while self.i < self.s.len() {
            let start = self.i;
            let mut j = start;
            while self.s.get(j) == Some(&b' ') {
                j += 1;
            }
            let ind = j - start;
            let is_blank = j >= self.s.len() || self.brk(j) > 0;
            if is_blank {
                self.i = j;
                if self.i < self.s.len() {
                    self.newline();
                }
                continue;
            }
            let need = *indent.get_or_insert(ind.max(floor));
            if ind >= need {
                self.i = j;
                self.next_line_keep();
                if self.i < self.s.len() {
                    self.newline();
                }
                continue;
            }
            // Less indented: the scalar ended; this line is read again in block context.
            self.i = start;
            return;
        }
    }

    /// A flow collection from its opening bracket to the matching close (or the end of input),
    /// across lines: every `[` and `{` outside quoted and plain scalars and comments is a level.
    fn flow_collection(&mut self) -> Result<(), Refused> {
        let base = self.flow;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if self.brk(self.i) > 0 {
                self.newline();
                continue;
            }
            match c {
                b' ' | b'\t' => self.i += 1,
                // At the start of a token, `#` opens a comment (libyaml does not ask for a
                // blank before it there).
                b'#' => self.next_line_keep(),
                b'[' | b'{' => {
                    self.flow_start();
                    self.flow += 1;
                    self.i += 1;
                    self.check()?;
                }
                b']' | b'}' => {
                    self.scalar_start();
                    self.flow = self.flow.saturating_sub(1);
                    self.i += 1;
                    self.flow_end();
                    if self.flow <= base {
                        self.flow = base;
                        return Ok(());
                    }
                }
                b',' => {
                    self.scalar_start();
                    self.i += 1;
                }
                b'?' | b':' => self.i += 1,
                b'"' => {
                    self.scalar_start();
                    self.node_seen()?;
                    self.double_quoted()
                }
                b'\'' => {
                    self.scalar_start();
                    self.node_seen()?;
                    self.single_quoted()
                }
                b'&' => self.anchor(),
                b'*' => self.alias()?,
                b'!' => {
                    while !self.blankz(self.i)
                        && !matches!(self.s[self.i], b',' | b'[' | b']' | b'{' | b'}')
                    {
                        self.i += 1;
                    }
                }
                _ => {
                    self.scalar_start();
                    self.node_seen()?;
                    self.plain_flow()
                }
            }
        }
        Ok(())
    }

    /// A plain scalar in flow context (it may span lines): it ends before `,[]{}`, before a
    /// `:` followed by a blank or one of `,?[]{}`, and at a `#` after a blank (a comment).
    fn plain_flow(&mut self) {
        let mut prev_blank = false;
        while self.i < self.s.len() {
            if self.brk(self.i) > 0 {
                self.newline();
                prev_blank = true;
                continue;
            }
            let c = self.s[self.i];
            match c {
                b',' | b'[' | b']' | b'{' | b'}' => return,
                b':' if self.blankz(self.i + 1)
                    || matches!(
                        self.at(self.i + 1),
                        Some(b',' | b'?' | b'[' | b']' | b'{' | b'}')
                    ) =>
                {
                    return;
                }
                b'#' if prev_blank => {
                    self.next_line_keep();
                    return;
                }
                _ => {}
            }
            prev_blank = blank(c);
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(doc: &str) -> usize {
        check_nesting(doc.as_bytes(), 1000, usize::MAX)
            .unwrap()
            .depth
    }

    fn too_deep(doc: &[u8]) -> bool {
        matches!(
            check_nesting(doc, 128, usize::MAX),
            Err(Refused::TooDeep { .. })
        )
    }

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        assert_eq!(depth(r#"{"a": {"b": [1, 2, {"c": "x"}]}}"#), 5);
        assert_eq!(depth(r#"{"a": "[[[[{{{{", "b": "\"[[[["}"#), 2);
        assert_eq!(depth("[]"), 2);
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let e = check_nesting(deep.as_bytes(), 128, usize::MAX).unwrap_err();
        assert_eq!(e, Refused::TooDeep { line: 1 });
        let deep = r#"{"a":"#.repeat(100_000);
        assert!(too_deep(deep.as_bytes()));
    }

    #[test]
    fn yaml_block_nesting_follows_indentation() {
        let doc = "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - name: x\n          in: query\n      responses:\n        '200':\n          description: ok\n";
        assert_eq!(depth(doc), 6);
        // A sequence at the indentation of its key is one level below it.
        assert_eq!(depth("a:\n- b:\n  - c:\n    - d\n"), 7);
        // Siblings of that shape do not add up.
        let many = "k:\n- a\n".repeat(1000);
        assert_eq!(depth(&many), 3);
        // Compact nested sequences.
        assert_eq!(depth("- - - x\n"), 4);
        let compact = "- ".repeat(10_000) + "x\n";
        assert!(too_deep(compact.as_bytes()));
    }

    #[test]
    fn text_is_not_structure() {
        // Brackets in plain, quoted and block scalars and comments are text.
        let doc = "a: see [RFC 1 and {x\nb: 'it''s [ {'\nc: \"[[[\\\"[[\"\nd: |\n  [[[[\n    {{{{\n  - - - -\ne: x # [[[[\n# {{{{\nf: don't [\n";
        assert_eq!(depth(doc), 1);
        // A multi-line plain scalar: deeper lines are its text.
        assert_eq!(depth("a: one\n  [[[[\n    {{{{\nb: 2\n"), 1);
        // Flow collections inside block context.
        assert_eq!(depth("a:\n  b: [1, [2, {c: [3]}]]\n"), 6);
        assert_eq!(depth("a: {b: c:d, e: http://x/[y]}\n"), 3);
    }

    #[test]
    fn hidden_structure_is_found() {
        // A quote inside a plain scalar does not open a string (libyaml reads it as text).
        let doc = format!("[a:\"b, {}x{}, \"]", "[".repeat(200), "]".repeat(200));
        assert!(too_deep(doc.as_bytes()));
        let doc = format!("- a\n  \"\n- {}x\n", "[".repeat(200));
        assert!(too_deep(doc.as_bytes()));
        // Lone CR, NEL, LS and PS break lines for libyaml, so they do here.
        for br in ["\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let doc = format!("a: x{br}{}1{}: y\n", "[".repeat(200), "]".repeat(200));
            assert!(too_deep(doc.as_bytes()), "{br:?}");
        }
        // UTF-16 is read as text.
        let doc: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "a: "
                    .encode_utf16()
                    .chain("[".repeat(200).encode_utf16())
                    .flat_map(|u| u.to_le_bytes()),
            )
            .collect();
        assert!(too_deep(&to_utf8(&doc)));
    }

    #[test]
    fn nodes_are_counted() {
        let m = check_nesting(b"a: 1\nb: [x, 'y', {c: \"d\"}]\ne: |\n  t\n", 100, 100).unwrap();
        // The root mapping, a, 1, b, [ ], x, y, { }, c, d, e, the block scalar.
        assert_eq!(
            m,
            Measure {
                depth: 3,
                nodes: 12
            }
        );
        let items = "[".to_string() + &"{b: [1]},".repeat(1000) + "]";
        assert_eq!(
            check_nesting(items.as_bytes(), 100, 3999),
            Err(Refused::TooManyNodes { line: 1 })
        );
        assert!(check_nesting(items.as_bytes(), 100, 4002).is_ok());
    }

    #[test]
    fn aliases_count_as_the_copies_they_stand_for() {
        let doc = "base: &b\n  x: 1\n  y: [1, 2]\nother: *b\nlist:\n- &e\n  k: v\n- *e\n";
        assert_eq!(check_nesting(doc.as_bytes(), 100, 100).unwrap().nodes, 25);
        // A list of 1000 items referred to 1000 times: a million nodes once parsed.
        let doc = format!(
            "a: &a [{}]\nb: [{}]\n",
            ["1"; 1000].join(","),
            ["*a"; 1000].join(",")
        );
        assert!(matches!(
            check_nesting(doc.as_bytes(), 128, 100_000),
            Err(Refused::TooManyNodes { line: 2 })
        ));
        // The billion laughs, in flow and in block style.
        let mut flow = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        let mut block = String::from("a0: &a0\n");
        block += &"  - x\n".repeat(10);
        for i in 1..10 {
            flow += &format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(", ")
            );
            block += &format!("a{i}: &a{i}\n");
            block += &format!("  - *a{}\n", i - 1).repeat(10);
        }
        for doc in [flow, block] {
            assert!(
                matches!(
                    check_nesting(doc.as_bytes(), 128, 1_000_000),
                    Err(Refused::TooManyNodes { .. })
                ),
                "{doc}"
            );
        }
    }

    fn value_depth(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        match v {
            Value::Array(a) => 1 + a.iter().map(value_depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(value_depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn value_nodes(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        match v {
            Value::Array(a) => 1 + a.iter().map(value_nodes).sum::<usize>(),
            Value::Object(o) => 1 + o.values().map(|x| 1 + value_nodes(x)).sum::<usize>(),
            _ => 1,
        }
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        // Strings with what is structure elsewhere: brackets, quotes, colons, comments, breaks.
        let text = "[a-z\\[\\]{}\"':#|>&*!, \n-]{0,12}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(8, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(text, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// On documents written by serializers (JSON compact and pretty, YAML block style),
        /// the scan finds the parsed depth (plus the document's own level) and counts the
        /// parsed nodes within a factor of two.
        #[test]
        fn scan_agrees_with_the_parsers(v in arb_value()) {
            let (depth, nodes) = (value_depth(&v), value_nodes(&v));
            let docs = [
                serde_json::to_string(&v).unwrap(),
                serde_json::to_string_pretty(&v).unwrap(),
                serde_yaml_ng::to_string(&v).unwrap(),
            ];
            for doc in docs {
                let back: serde_json::Value = serde_yaml_ng::from_str(&doc).unwrap();
                proptest::prop_assert_eq!(&back, &v);
                let m = check_nesting(doc.as_bytes(), 1000, usize::MAX).unwrap();
                proptest::prop_assert!(m.depth >= depth && m.depth <= depth + 2, "depth {} vs {depth}:\n{doc}", m.depth);
                proptest::prop_assert!(2 * m.nodes + 2 >= nodes && m.nodes <= 2 * nodes + 2, "nodes {} vs {nodes}:\n{doc}", m.nodes);
            }
        }
    }

    #[test]
    fn block_scalars_end_where_libyaml_ends_them() {
        // The content indentation is set by its first line; a less indented line ends it.
        assert_eq!(depth("a: |\n    x\n  b: [[[1]]]\n"), 5);
        assert_eq!(depth("- |\n  x\n- [[1]]\n"), 4);
        assert_eq!(depth("a: |2\n    [[[[\nb: 1\n"), 1);
    }

    #[test]
    fn anchor_and_alias_names_end_where_libyaml_ends_them() {
        // Found by the fuzz target: `&a: 1` anchors an empty key, and the lines after it are
        // counted; `*a: {...}` is a key whose value is counted too.
        let doc = "&penapi: 3.03\nfn.io: {ttile: 'x', version: \"1.0\"}\nsehrvers:\n  - url: h\n";
        let v: serde_json::Value = serde_yaml_ng::from_str(doc).unwrap();
        let m = check_nesting(doc.as_bytes(), 128, usize::MAX).unwrap();
        assert!(2 * m.nodes + 2 >= 14, "{} nodes counted for {v}", m.nodes);
        let m = check_nesting(b"a: &x 1\nb:\n  *x : [[[[[1]]]]]\n", 128, usize::MAX).unwrap();
        assert!(m.depth >= 6, "depth {}", m.depth);
    }

    #[test]
    fn reading_stops_past_the_limit() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("more than 1 MiB"), "{e}");
    }
}
