//! gRPC over HTTP/2: which method a call runs, how its bodies are framed, and what its
//! messages hold, read without a schema (or with one, from a `FileDescriptorSet`).
//!
//! A gRPC call is an HTTP/2 request whose `content-type` is `application/grpc` (or
//! `application/grpc+proto`, `application/grpc-web`, `application/grpc-web+proto`,
//! `application/grpc-web-text`), `POST`, `:path` `/package.Service/Method`. Its endpoint is that
//! path exactly: service and method are names, never parameters. Its outcome is the
//! `grpc-status` field of the trailers (or of the headers of a trailers-only response), which
//! `http2::stream` appends to the response head; `grpc-status` other than 0 is an error even
//! under HTTP 200. gRPC-Web (over HTTP/1.1 as well) has no HTTP trailers: its `grpc-status`
//! travels in a trailer frame at the end of the response body (flag bit [`WEB_TRAILER_FLAG`],
//! an HTTP/1 header block), which [`split`] keeps and [`web_trailer_status`] reads.
//!
//! Bodies are length-prefixed messages: a compressed flag (1 byte), a big-endian length
//! (4 bytes), the message. [`split`] reads that framing over a body sample (which may be cut at
//! the body cap: the last message is then counted as truncated, never read past the sample).
//! Compressed messages (`grpc-encoding: gzip` or `deflate`) are inflated within a byte limit
//! ([`inflate`]); other encodings are counted as not decoded.
//!
//! Messages are walked as protobuf wire format ([`walk`]) into a JSON value, so that the
//! inventory's JSON shapes and sensitive-data scan apply unchanged. Without a descriptor, the
//! keys are `f` and the field number (`f1`; field 2 of the message in field 3 has the shape
//! path `f3.f2`: bare numbers would read as map keys, which shapes fold into `*`); with one
//! ([`Descriptors`]), field names (`price.currency`). A length-delimited field is a string when it is
//! UTF-8 without control characters, else a nested message when all of it parses as one (the
//! heuristic of `protoc --decode_raw`), else bytes, shown as `null` (JSON has no bytes type).
//! Varints and fixed-width fields are integers (with a descriptor: booleans, zig-zag signed,
//! floating point as declared). A field number seen twice makes an array.
//!
//! Server reflection seen on the wire is a descriptor source too: the `file_descriptor_proto`s
//! of a `ServerReflectionInfo` response ([`reflected_files`]) are decoded and added to the
//! descriptors ([`Reflected`]), within [`MAX_REFLECTED_FILES`] and [`MAX_REFLECTED_BYTES`].
//!
//! Bounds: [`MAX_MESSAGES`] messages framed per body, [`MAX_WALKED`] walked per body,
//! [`MAX_DEPTH`] levels of nesting, [`MAX_FIELDS`] fields per message walk, strings cut at
//! [`MAX_STRING`] bytes; every input is at most linear work times the depth bound. Nothing
//! here panics.
//!
//! What it owns: recognition, framing, the wire walk and the descriptor tables. What it may
//! not touch: the inventory's keys and counters (the inventory decides with these facts).

use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Messages framed per body at most; the rest of the body is counted as over the cap.
pub const MAX_MESSAGES: usize = 4096;
/// Messages per body walked into a shape at most (the first ones).
pub const MAX_WALKED: usize = 8;
/// Nesting of messages walked at most; deeper length-delimited fields are bytes.
pub const MAX_DEPTH: usize = 16;
/// Fields read per message walk at most (nested ones included).
pub const MAX_FIELDS: usize = 1024;
/// Bytes of a string field kept.
pub const MAX_STRING: usize = 1024;
/// Bytes of a descriptor set file read at most.
pub const MAX_DESCRIPTOR_BYTES: u64 = 16 << 20;
/// `FileDescriptorProto`s learned from server reflection responses at most, per inventory.
pub const MAX_REFLECTED_FILES: usize = 256;
/// Bytes of `FileDescriptorProto`s learned from server reflection at most, per inventory.
pub const MAX_REFLECTED_BYTES: usize = 4 << 20;

/// Whether a media type (lower case, parameters removed) is gRPC's.
pub fn is_grpc_media(media: &str) -> bool {
    media == "application/grpc"
        || media.starts_with("application/grpc+")
        || media == "application/grpc-web"
        || media.starts_with("application/grpc-web+")
        || media == "application/grpc-web-text"
        || media.starts_with("application/grpc-web-text+")
}

/// The service and method of a gRPC path `/package.Service/Method`: exactly two non-empty
/// segments, no query. `None` for any other path.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    if service.is_empty() || method.is_empty() || method.contains('/') || rest.contains('?') {
        return None;
    }
    Some((service, method))
}

/// What a service is, for the services every gRPC server may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// An application service.
    Application,
    /// Server reflection (`grpc.reflection.v1.ServerReflection`, `v1alpha`): it hands out the
    /// server's schema.
    Reflection,
    /// The standard health service (`grpc.health.v1.Health`).
    Health,
}

impl ServiceKind {
    /// The kind of `service` (fully qualified).
    pub fn of(service: &str) -> ServiceKind {
        match service {
            "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => {
                ServiceKind::Reflection
            }
            "grpc.health.v1.Health" => ServiceKind::Health,
            _ => ServiceKind::Application,
        }
    }

    /// The stable name (`application`, `reflection`, `health`).
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Application => "application",
            ServiceKind::Reflection => "reflection",
            ServiceKind::Health => "health",
        }
    }
}

/// How many messages a call carried each way, as a kind of call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Streaming {
    /// One message each way (or fewer: a failed call).
    Unary,
    /// Several request messages, at most one response message.
    ClientStreaming,
    /// At most one request message, several response messages.
    ServerStreaming,
    /// Several each way.
    Bidi,
}

impl Streaming {
    /// The kind a call with these message counts shows.
    pub fn of(requests: u64, responses: u64) -> Streaming {
        match (requests > 1, responses > 1) {
            (false, false) => Streaming::Unary,
            (true, false) => Streaming::ClientStreaming,
            (false, true) => Streaming::ServerStreaming,
            (true, true) => Streaming::Bidi,
        }
    }

    /// The widest of two kinds seen for one method: a method that once streamed each way is
    /// bidirectional.
    pub fn join(self, other: Streaming) -> Streaming {
        let c = matches!(self, Streaming::ClientStreaming | Streaming::Bidi)
            || matches!(other, Streaming::ClientStreaming | Streaming::Bidi);
        let s = matches!(self, Streaming::ServerStreaming | Streaming::Bidi)
            || matches!(other, Streaming::ServerStreaming | Streaming::Bidi);
        Streaming::of(1 + u64::from(c), 1 + u64::from(s))
    }

    /// The stable name (`unary`, `client_streaming`, `server_streaming`, `bidi_streaming`).
    pub fn name(self) -> &'static str {
        match self {
            Streaming::Unary => "unary",
            Streaming::ClientStreaming => "client_streaming",
            Streaming::ServerStreaming => "server_streaming",
            Streaming::Bidi => "bidi_streaming",
        }
    }
}

/// The name of a gRPC status code (`OK`, `NOT_FOUND`, ...); `UNKNOWN_CODE` past 16.
pub fn status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN_CODE")
}

/// The `grpc-status` value of a response field (ASCII digits, at most 10 of them).
pub fn parse_status(value: &[u8]) -> Option<u32> {
    let v = crate::http::head::trim(value);
    if v.is_empty() || v.len() > 10 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Flag bit of a gRPC-Web trailer frame: the last frame of a response body, holding the
/// trailers as `name: value` lines instead of a message.
pub const WEB_TRAILER_FLAG: u8 = 0x80;

/// The `grpc-status` of a gRPC-Web trailer frame's block (`name: value` lines, names in any
/// case); `None` when it has none or not a valid one. Reads at most the block given (a body
/// sample's bytes).
pub fn web_trailer_status(block: &[u8]) -> Option<u32> {
    block.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if crate::http::head::trim(name).eq_ignore_ascii_case(b"grpc-status") {
            parse_status(value)
        } else {
            None
        }
    })
}

/// One length-prefixed message of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The compressed flag was set.
    pub compressed: bool,
    /// The length the prefix declared.
    pub len: u32,
    /// The message bytes (all `len` of them: truncated messages are not frames).
    pub data: &'a [u8],
}

/// What [`split`] read of a body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split<'a> {
    /// The first [`MAX_WALKED`] whole messages.
    pub frames: Vec<Frame<'a>>,
    /// Whole messages (at most [`MAX_MESSAGES`]).
    pub messages: u64,
    /// Of them, compressed.
    pub compressed: u64,
    /// Smallest and largest declared message length, when there was a message.
    pub sizes: Option<(u32, u32)>,
    /// The body (sample) ended inside a message prefix or a message: the sample was cut, or
    /// the message was.
    pub truncated: bool,
    /// More than [`MAX_MESSAGES`] messages: the rest was not framed.
    pub over_cap: bool,
    /// A prefix whose flag byte was neither 0 nor 1 nor a gRPC-Web trailer frame's (not gRPC
    /// framing): reading stopped.
    pub malformed: bool,
    /// gRPC-Web: the block of the trailer frame that ended the body (whole, uncompressed).
    /// Reading stops at it: nothing follows a trailer frame.
    pub trailers: Option<&'a [u8]>,
}

/// Reads the length-prefixed messages of a body sample, in bounded work: one pass, no copy.
pub fn split(body: &[u8]) -> Split<'_> {
    let mut out = Split::default();
    let mut rest = body;
    while !rest.is_empty() {
        if out.messages as usize >= MAX_MESSAGES {
            out.over_cap = true;
            break;
        }
        let Some((&flag, after)) = rest.split_first() else {
            break;
        };
        if flag & WEB_TRAILER_FLAG != 0 && flag & !(WEB_TRAILER_FLAG | 1) == 0 {
            // gRPC-Web's trailer frame: the block is kept when whole and uncompressed (a
            // compressed one is not inflated: its status stays unknown).
            let Some((len, after)) = after.split_first_chunk::<4>() else {
                out.truncated = true;
                break;
            };
            match after.get(..u32::from_be_bytes(*len) as usize) {
                Some(block) if flag == WEB_TRAILER_FLAG => out.trailers = Some(block),
                Some(_) => {}
                None => out.truncated = true,
            }
            break;
        }
        if flag > 1 {
            out.malformed = true;
            break;
        }
        let Some((len, after)) = after.split_first_chunk::<4>() else {
            out.truncated = true;
            break;
        };
        let len = u32::from_be_bytes(*len);
        let Some(data) = after.get(..len as usize) else {
            out.truncated = true;
            break;
        };
        rest = &after[len as usize..];
        out.messages += 1;
        out.compressed += u64::from(flag == 1);
        out.sizes = Some(match out.sizes {
            Some((lo, hi)) => (lo.min(len), hi.max(len)),
            None => (len, len),
        });
        if out.frames.len() < MAX_WALKED {
            out.frames.push(Frame {
                compressed: flag == 1,
                len,
                data,
            });
        }
    }
    out
}

/// A compressed message inflated: `grpc-encoding` `gzip` or `deflate` (zlib), at most `limit`
/// bytes out; `None` for another encoding, a broken stream or more than `limit` bytes.
pub fn inflate(data: &[u8], encoding: &[u8], limit: usize) -> Option<Vec<u8>> {
    let encoding = crate::http::head::trim(encoding);
    let mut out = Vec::new();
    let cap = limit as u64 + 1;
    let read = if encoding.eq_ignore_ascii_case(b"gzip") {
        flate2::read::GzDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out)
    } else if encoding.eq_ignore_ascii_case(b"deflate") {
        flate2::read::ZlibDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out)
    } else {
        return None;
    };
    (read.is_ok() && out.len() <= limit).then_some(out)
}

/// The base64 body of `application/grpc-web-text` decoded (at most `limit` bytes out), `None`
/// when it is not base64.
pub fn decode_web_text(body: &[u8], limit: usize) -> Option<Vec<u8>> {
    use base64::Engine as _;
    // Whole 4-character groups only (a sample cut mid-group loses its tail).
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(limit.saturating_mul(4) / 3 + 4)
        .collect();
    let whole = text.len() / 4 * 4;
    // grpc-web-text may concatenate base64 chunks, each with its own padding.
    let mut out = Vec::new();
    for chunk in text[..whole].split_inclusive(|&b| b == b'=') {
        if chunk.iter().all(|&b| b == b'=') {
            continue;
        }
        let padded = chunk.len().div_ceil(4) * 4;
        let mut c = chunk.to_vec();
        c.resize(padded, b'=');
        base64::engine::general_purpose::STANDARD
            .decode_vec(&c, &mut out)
            .ok()?;
    }
    out.truncate(limit);
    Some(out)
}

/// What one method's calls showed, summed (an endpoint's gRPC figures between flushes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodFigures {
    /// The service (`package.Service`).
    pub service: String,
    /// The method.
    pub method: String,
    /// Calls.
    pub calls: u64,
    /// Some call sent several request messages.
    pub client_streamed: bool,
    /// Some call received several response messages.
    pub server_streamed: bool,
    /// Request messages (whole ones, in the body samples read).
    pub messages_in: u64,
    /// Response messages.
    pub messages_out: u64,
    /// Smallest and largest request message length.
    pub in_sizes: Option<(u32, u32)>,
    /// Smallest and largest response message length.
    pub out_sizes: Option<(u32, u32)>,
    /// Messages with the compressed flag.
    pub compressed: u64,
    /// Bodies whose messages could not all be counted: the sample was cut (body cap, capture
    /// gap) or ended inside a message, or it held more than [`MAX_MESSAGES`] messages.
    pub truncated: u64,
    /// Calls per `grpc-status` (`None`: the server sent none, e.g. no response).
    pub status: BTreeMap<Option<u32>, u64>,
}

impl MethodFigures {
    /// No calls yet of `service`/`method`.
    pub fn new(service: &str, method: &str) -> MethodFigures {
        MethodFigures {
            service: service.to_string(),
            method: method.to_string(),
            ..MethodFigures::default()
        }
    }

    /// Counts one call: its request body's framing, its response body's (when answered) and
    /// the status. `complete_*`: the body sample held the whole body.
    pub fn record(
        &mut self,
        request: &Split<'_>,
        complete_request: bool,
        response: Option<(&Split<'_>, bool)>,
        status: Option<u32>,
    ) {
        self.calls += 1;
        self.messages_in += request.messages;
        self.in_sizes = join_sizes(self.in_sizes, request.sizes);
        self.compressed += request.compressed;
        self.truncated += u64::from(!complete_request || request.truncated || request.over_cap);
        let out = response.map_or(0, |(r, complete)| {
            self.out_sizes = join_sizes(self.out_sizes, r.sizes);
            self.compressed += r.compressed;
            self.truncated += u64::from(!complete || r.truncated || r.over_cap);
            r.messages
        });
        self.messages_out += out;
        self.client_streamed |= request.messages > 1;
        self.server_streamed |= out > 1;
        *self.status.entry(status).or_default() += 1;
    }

    /// The kind of method its calls showed (the widest: a method seen streaming each way is
    /// bidirectional).
    pub fn streaming(&self) -> Streaming {
        Streaming::of(
            1 + u64::from(self.client_streamed),
            1 + u64::from(self.server_streamed),
        )
    }

    /// The kind of service ([`ServiceKind::of`]).
    pub fn service_kind(&self) -> ServiceKind {
        ServiceKind::of(&self.service)
    }

    /// Folds `other` (the same method) in.
    /// Counts saturate (a fleet's spool folds what sensors made).
    pub fn merge(&mut self, other: &MethodFigures) {
        self.calls = self.calls.saturating_add(other.calls);
        self.client_streamed |= other.client_streamed;
        self.server_streamed |= other.server_streamed;
        self.messages_in = self.messages_in.saturating_add(other.messages_in);
        self.messages_out = self.messages_out.saturating_add(other.messages_out);
        self.in_sizes = join_sizes(self.in_sizes, other.in_sizes);
        self.out_sizes = join_sizes(self.out_sizes, other.out_sizes);
        self.compressed = self.compressed.saturating_add(other.compressed);
        self.truncated = self.truncated.saturating_add(other.truncated);
        for (k, n) in &other.status {
            let c = self.status.entry(*k).or_default();
            *c = c.saturating_add(*n);
        }
    }
}

fn join_sizes(a: Option<(u32, u32)>, b: Option<(u32, u32)>) -> Option<(u32, u32)> {
    match (a, b) {
        (Some((l1, h1)), Some((l2, h2))) => Some((l1.min(l2), h1.max(h2))),
        (a, b) => a.or(b),
    }
}

/// How a declared field is read (from a descriptor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A message of this fully qualified type (no leading dot).
    Message(String),
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
    /// `double`.
    Double,
    /// `float`.
    Float,
    /// `sint32`, `sint64` (zig-zag).
    Signed,
    /// `int32`, `int64` (two's complement in a varint), `sfixed32`, `sfixed64`.
    Int,
    /// `bool`.
    Bool,
    /// Anything else (unsigned integers, enums).
    Other,
}

/// A declared field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// Its name.
    pub name: String,
    /// How it is read.
    pub kind: FieldKind,
}

/// A declared method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// The request message type (fully qualified, no leading dot).
    pub input: String,
    /// The response message type.
    pub output: String,
    /// Declared `stream` requests.
    pub client_streaming: bool,
    /// Declared `stream` responses.
    pub server_streaming: bool,
}

/// Why a descriptor set could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// The file could not be read.
    #[error("cannot read the descriptor set {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DESCRIPTOR_BYTES`].
    #[error("the descriptor set {path} is larger than {MAX_DESCRIPTOR_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not a `FileDescriptorSet`.
    #[error("{path} is not a protobuf FileDescriptorSet (protoc --descriptor_set_out): {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        source: prost::DecodeError,
    },
}

/// Methods and message types from `FileDescriptorSet`s (`protoc --descriptor_set_out`): what
/// names the fields of a method's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Descriptors {
    /// By gRPC path (`/package.Service/Method`).
    pub methods: HashMap<String, MethodInfo>,
    /// By fully qualified message name (no leading dot): field number to field.
    pub messages: HashMap<String, HashMap<u32, FieldInfo>>,
}

impl Descriptors {
    /// Reads a `FileDescriptorSet` file (at most [`MAX_DESCRIPTOR_BYTES`]).
    pub fn load(path: &Path) -> Result<Descriptors, DescriptorError> {
        let f = std::fs::File::open(path).map_err(|source| DescriptorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut bytes = Vec::new();
        f.take(MAX_DESCRIPTOR_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| DescriptorError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if bytes.len() as u64 > MAX_DESCRIPTOR_BYTES {
            return Err(DescriptorError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        Descriptors::from_bytes(&bytes).map_err(|source| DescriptorError::Decode {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads every file of `paths` into one table (later files win on a name clash).
    pub fn load_all(paths: &[PathBuf]) -> Result<Descriptors, DescriptorError> {
        let mut d = Descriptors::default();
        for p in paths {
            d.extend(Descriptors::load(p)?);
        }
        Ok(d)
    }

    /// Decodes an encoded `FileDescriptorSet`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Descriptors, prost::DecodeError> {
        use prost::Message as _;
        let set = prost_types::FileDescriptorSet::decode(bytes)?;
        Ok(Descriptors::from_files(&set.file))
    }

    /// The methods and messages of decoded `FileDescriptorProto`s.
    pub fn from_files(files: &[prost_types::FileDescriptorProto]) -> Descriptors {
        use prost_types::field_descriptor_proto::Type;
        let mut d = Descriptors::default();
        fn messages(
            prefix: &str,
            list: &[prost_types::DescriptorProto],
            out: &mut HashMap<String, HashMap<u32, FieldInfo>>,
        ) {
            for m in list {
                let name = format!("{prefix}{}", m.name());
                let mut fields = HashMap::new();
                for f in &m.field {
                    let kind = match f.r#type() {
                        Type::Message | Type::Group => {
                            FieldKind::Message(f.type_name().trim_start_matches('.').to_string())
                        }
                        Type::String => FieldKind::String,
                        Type::Bytes => FieldKind::Bytes,
                        Type::Double => FieldKind::Double,
                        Type::Float => FieldKind::Float,
                        Type::Sint32 | Type::Sint64 => FieldKind::Signed,
                        Type::Int32 | Type::Int64 | Type::Sfixed32 | Type::Sfixed64 => {
                            FieldKind::Int
                        }
                        Type::Bool => FieldKind::Bool,
                        _ => FieldKind::Other,
                    };
                    if let Ok(number) = u32::try_from(f.number()) {
                        fields.insert(
                            number,
                            FieldInfo {
                                name: f.name().to_string(),
                                kind,
                            },
                        );
                    }
                }
                messages(&format!("{name}."), &m.nested_type, out);
                out.insert(name, fields);
            }
        }
        for file in files {
            let prefix = if file.package().is_empty() {
                String::new()
            } else {
                format!("{}.", file.package())
            };
            messages(&prefix, &file.message_type, &mut d.messages);
            for s in &file.service {
                for m in &s.method {
                    d.methods.insert(
                        format!("/{prefix}{}/{}", s.name(), m.name()),
                        MethodInfo {
                            input: m.input_type().trim_start_matches('.').to_string(),
                            output: m.output_type().trim_start_matches('.').to_string(),
                            client_streaming: m.client_streaming(),
                            server_streaming: m.server_streaming(),
                        },
                    );
                }
            }
        }
        d
    }

    /// Adds `other`'s methods and messages.
    pub fn extend(&mut self, other: Descriptors) {
        self.methods.extend(other.methods);
        self.messages.extend(other.messages);
    }

    /// Adds the methods and messages of `other` that this table lacks (what is already here,
    /// a descriptor set given by the user, wins). Returns how many were added.
    pub fn extend_missing(&mut self, other: Descriptors) -> usize {
        let mut n = 0;
        for (k, v) in other.methods {
            if let std::collections::hash_map::Entry::Vacant(e) = self.methods.entry(k) {
                e.insert(v);
                n += 1;
            }
        }
        for (k, v) in other.messages {
            if let std::collections::hash_map::Entry::Vacant(e) = self.messages.entry(k) {
                e.insert(v);
                n += 1;
            }
        }
        n
    }

    /// The message type of `path`'s requests (`response == false`) or responses.
    pub fn message_of(&self, path: &str, response: bool) -> Option<&str> {
        let m = self.methods.get(path)?;
        Some(if response { &m.output } else { &m.input })
    }
}

/// The fields of a protobuf message, in order: (number, wire type, value), the value of a
/// varint or fixed field as its bytes, of a length-delimited one as its payload. `None` when
/// the message does not parse (a group, a field running past the end).
fn wire_fields(mut b: &[u8]) -> Option<Vec<(u64, u8, &[u8])>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&x, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(x & 0x7f) << (7 * i);
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let wire = (key & 7) as u8;
        let start = b;
        let len = match wire {
            0 => {
                varint(&mut b)?;
                start.len() - b.len()
            }
            1 => 8,
            2 => usize::try_from(varint(&mut b)?).ok()?,
            5 => 4,
            _ => return None,
        };
        let from = if wire == 2 { b } else { start };
        let value = from.get(..len)?;
        b = &from[len..];
        out.push((key >> 3, wire, value));
    }
    Some(out)
}

/// The serialized `FileDescriptorProto`s of one `ServerReflectionResponse` message
/// (`grpc.reflection.v1` and `v1alpha` share the layout): its field 4,
/// `file_descriptor_response`, and in it the repeated bytes field 1, `file_descriptor_proto`.
/// Empty for the other responses (`list_services_response`, `error_response`, ...) and for a
/// message that does not parse.
pub fn reflected_files(message: &[u8]) -> Vec<&[u8]> {
    let Some(fields) = wire_fields(message) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter(|&(n, w, _)| n == 4 && w == 2)
        .filter_map(|(_, _, resp)| wire_fields(resp))
        .flatten()
        .filter(|&(n, w, _)| n == 1 && w == 2)
        .map(|(_, _, file)| file)
        .collect()
}

/// What server reflection seen on the wire taught an inventory: the files learned (by name,
/// so that a file sent again is not decoded again) and their bytes, within
/// [`MAX_REFLECTED_FILES`] and [`MAX_REFLECTED_BYTES`].
#[derive(Clone, Debug, Default)]
pub struct Reflected {
    files: std::collections::HashSet<String>,
    bytes: usize,
}

/// What [`Reflected::learn`] did with one response message's files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    /// Files decoded and added.
    pub files: u64,
    /// Files not added: over a cap, or not a `FileDescriptorProto`.
    pub dropped: u64,
}

impl Reflected {
    /// Decodes the `FileDescriptorProto`s of a reflection response `message` and adds their
    /// methods and messages to `into` where it has none of that name.
    pub fn learn(&mut self, message: &[u8], into: &mut Descriptors) -> Learned {
        use prost::Message as _;
        let mut out = Learned::default();
        let mut files = Vec::new();
        for raw in reflected_files(message) {
            let Ok(file) = prost_types::FileDescriptorProto::decode(raw) else {
                out.dropped += 1;
                continue;
            };
            if self.files.contains(file.name()) {
                continue;
            }
            if self.files.len() >= MAX_REFLECTED_FILES
                || self.bytes + raw.len() > MAX_REFLECTED_BYTES
            {
                out.dropped += 1;
                continue;
            }
            self.files.insert(file.name().to_string());
            self.bytes += raw.len();
            out.files += 1;
            files.push(file);
        }
        if !files.is_empty() {
            into.extend_missing(Descriptors::from_files(&files));
        }
        out
    }
}

/// What a [`walk`] read.
#[derive(Clone, Debug, PartialEq)]
pub struct Walked {
    /// The message as a JSON object (field numbers or names as keys).
    pub value: Value,
    /// A bound ([`MAX_FIELDS`], [`MAX_DEPTH`]) stopped the walk early.
    pub capped: bool,
}

/// Walks one protobuf message (wire format) into a JSON object (keys `f<number>`), naming
/// fields from `names`
/// (the descriptors and the message's type) when given. `None` when the bytes are not a
/// well-formed message.
pub fn walk(bytes: &[u8], names: Option<(&Descriptors, &str)>) -> Option<Walked> {
    let mut w = Walker {
        budget: MAX_FIELDS,
        capped: false,
        desc: names.map(|(d, _)| d),
    };
    let ty = names.map(|(_, t)| t);
    let value = w.message(bytes, 0, ty)?;
    Some(Walked {
        value: Value::Object(value),
        capped: w.capped,
    })
}

struct Walker<'d> {
    budget: usize,
    capped: bool,
    desc: Option<&'d Descriptors>,
}

/// A wire value.
enum Wire<'a> {
    Varint(u64),
    I64([u8; 8]),
    Len(&'a [u8]),
    I32([u8; 4]),
}

fn varint(input: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// One field: (number, value); `None` when the bytes are not a field.
fn field<'a>(input: &mut &'a [u8]) -> Option<(u32, Wire<'a>)> {
    let tag = varint(input)?;
    let number = u32::try_from(tag >> 3)
        .ok()
        .filter(|n| (1..1 << 29).contains(n))?;
    let wire = match tag & 7 {
        0 => Wire::Varint(varint(input)?),
        1 => {
            let (b, rest) = input.split_first_chunk::<8>()?;
            *input = rest;
            Wire::I64(*b)
        }
        2 => {
            let len = usize::try_from(varint(input)?).ok()?;
            let data = input.get(..len)?;
            *input = &input[len..];
            Wire::Len(data)
        }
        5 => {
            let (b, rest) = input.split_first_chunk::<4>()?;
            *input = rest;
            Wire::I32(*b)
        }
        // Groups (3, 4) are deprecated and rare; 6 and 7 are not wire types.
        _ => return None,
    };
    Some((number, wire))
}

/// Whether `s` reads as text: no control characters but tab, CR and LF.
fn is_text(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn cut_string(s: &str) -> String {
    let mut end = s.len().min(MAX_STRING);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl Walker<'_> {
    /// A whole message, or `None` when some byte of it does not parse.
    fn message(
        &mut self,
        mut bytes: &[u8],
        depth: usize,
        ty: Option<&str>,
    ) -> Option<Map<String, Value>> {
        let fields = ty.and_then(|t| self.desc?.messages.get(t));
        let mut out = Map::new();
        while !bytes.is_empty() {
            if self.budget == 0 {
                self.capped = true;
                break;
            }
            self.budget -= 1;
            let (number, wire) = field(&mut bytes)?;
            let info = fields.and_then(|f| f.get(&number));
            let value = self.value(wire, depth, info);
            let key = match info {
                Some(i) => i.name.clone(),
                None => format!("f{number}"),
            };
            match out.get_mut(&key) {
                Some(Value::Array(a)) => a.push(value),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, value]);
                }
                None => {
                    out.insert(key, value);
                }
            }
        }
        Some(out)
    }

    fn value(&mut self, wire: Wire<'_>, depth: usize, info: Option<&FieldInfo>) -> Value {
        let kind = info.map(|i| &i.kind);
        match wire {
            Wire::Varint(v) => match kind {
                Some(FieldKind::Bool) => Value::Bool(v != 0),
                Some(FieldKind::Signed) => Value::from(((v >> 1) as i64) ^ -((v & 1) as i64)),
                Some(FieldKind::Int) => Value::from(v as i64),
                _ => Value::from(v),
            },
            Wire::I64(b) => match kind {
                Some(FieldKind::Double) => {
                    Number::from_f64(f64::from_le_bytes(b)).map_or(Value::Null, Value::Number)
                }
                Some(FieldKind::Int) => Value::from(i64::from_le_bytes(b)),
                _ => Value::from(u64::from_le_bytes(b)),
            },
            Wire::I32(b) => match kind {
                Some(FieldKind::Float) => Number::from_f64(f64::from(f32::from_le_bytes(b)))
                    .map_or(Value::Null, Value::Number),
                Some(FieldKind::Int) => Value::from(i32::from_le_bytes(b)),
                _ => Value::from(u32::from_le_bytes(b)),
            },
            Wire::Len(data) => self.len_value(data, depth, kind),
        }
    }

    fn len_value(&mut self, data: &[u8], depth: usize, kind: Option<&FieldKind>) -> Value {
        match kind {
            Some(FieldKind::String) => {
                return Value::String(cut_string(&String::from_utf8_lossy(data)));
            }
            Some(FieldKind::Bytes) => return Value::Null,
            Some(FieldKind::Message(t)) => {
                if depth + 1 >= MAX_DEPTH {
                    self.capped = true;
                    return Value::Null;
                }
                let t = t.clone();
                let saved = self.budget;
                return match self.message(data, depth + 1, Some(&t)) {
                    Some(m) => Value::Object(m),
                    None => {
                        self.budget = saved;
                        Value::Null
                    }
                };
            }
            _ => {}
        }
        if let Ok(s) = std::str::from_utf8(data)
            && is_text(s)
        {
            return Value::String(cut_string(s));
        }
        if !data.is_empty() && depth + 1 < MAX_DEPTH {
            let saved = self.budget;
            if let Some(m) = self.message(data, depth + 1, None) {
                return Value::Object(m);
            }
            // Not a message: its fields do not count against the budget.
            self.budget = saved;
        } else if depth + 1 >= MAX_DEPTH {
            self.capped = true;
        }
        match std::str::from_utf8(data) {
            Ok(s) => Value::String(cut_string(s)),
            Err(_) => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Encodes a varint.
    fn v(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn len_field(number: u32, data: &[u8], out: &mut Vec<u8>) {
        v(u64::from(number) << 3 | 2, out);
        v(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    fn framed(msgs: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            out.push(0);
            out.extend_from_slice(&(m.len() as u32).to_be_bytes());
            out.extend_from_slice(m);
        }
        out
    }

    #[test]
    fn recognises_grpc_media_types_and_paths() {
        for m in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
        ] {
            assert!(is_grpc_media(m), "{m}");
        }
        assert!(!is_grpc_media("application/grpcx"));
        assert!(!is_grpc_media("application/json"));
        assert_eq!(
            split_path("/acme.v1.Inventory/GetItem"),
            Some(("acme.v1.Inventory", "GetItem"))
        );
        assert_eq!(split_path("/a/b/c"), None);
        assert_eq!(split_path("//b"), None);
        assert_eq!(split_path("/a/"), None);
        assert_eq!(split_path("/a/b?x=1"), None);
        assert_eq!(
            ServiceKind::of("grpc.reflection.v1alpha.ServerReflection"),
            ServiceKind::Reflection
        );
        assert_eq!(
            ServiceKind::of("grpc.health.v1.Health"),
            ServiceKind::Health
        );
    }

    #[test]
    fn statuses_parse_strictly() {
        assert_eq!(parse_status(b"0"), Some(0));
        assert_eq!(parse_status(b" 5 "), Some(5));
        assert_eq!(parse_status(b"-1"), None);
        assert_eq!(parse_status(b""), None);
        assert_eq!(parse_status(b"99999999999"), None);
        assert_eq!(status_name(5), "NOT_FOUND");
        assert_eq!(status_name(99), "UNKNOWN_CODE");
    }

    #[test]
    fn streaming_kinds_from_counts() {
        assert_eq!(Streaming::of(1, 1), Streaming::Unary);
        assert_eq!(Streaming::of(1, 0), Streaming::Unary);
        assert_eq!(Streaming::of(4, 1), Streaming::ClientStreaming);
        assert_eq!(Streaming::of(1, 6), Streaming::ServerStreaming);
        assert_eq!(Streaming::of(3, 3), Streaming::Bidi);
        assert_eq!(
            Streaming::ClientStreaming.join(Streaming::ServerStreaming),
            Streaming::Bidi
        );
        assert_eq!(Streaming::Unary.join(Streaming::Unary), Streaming::Unary);
    }

    #[test]
    fn framing_counts_and_truncation() {
        let body = framed(&[b"ab", b"", b"xyz"]);
        let s = split(&body);
        assert_eq!(s.messages, 3);
        assert_eq!(s.sizes, Some((0, 3)));
        assert!(!s.truncated);
        assert_eq!(s.frames[2].data, b"xyz");
        // Cut at every length: never a panic, whole messages only, truncation flagged.
        for cut in 0..body.len() {
            let s = split(&body[..cut]);
            assert!(s.messages <= 3);
            assert_eq!(s.truncated, ![0, 7, 12].contains(&cut), "cut {cut}");
        }
        // A prefix claiming 4 GB: truncated, nothing allocated for it.
        let huge = [0u8, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let s = split(&huge);
        assert_eq!((s.messages, s.truncated), (0, true));
        // A flag byte that is not 0 or 1: not gRPC framing.
        assert!(split(&[7, 0, 0, 0, 0]).malformed);
        // gRPC-Web: a message, then the trailer frame (not a message, not malformed).
        let mut web = vec![0, 0, 0, 0, 2, 8, 1];
        let block = b"grpc-status: 5\r\ngrpc-message: no%20item\r\n";
        web.push(WEB_TRAILER_FLAG);
        web.extend((block.len() as u32).to_be_bytes());
        web.extend(block);
        let sp = split(&web);
        assert_eq!((sp.messages, sp.malformed, sp.truncated), (1, false, false));
        assert_eq!(sp.trailers, Some(&block[..]));
        assert_eq!(web_trailer_status(sp.trailers.unwrap()), Some(5));
        // Cut inside the trailer frame: truncated, no block.
        let cut = split(&web[..web.len() - 3]);
        assert_eq!((cut.messages, cut.truncated, cut.trailers), (1, true, None));
        // A compressed trailer frame is not read.
        web[7] = WEB_TRAILER_FLAG | 1;
        assert_eq!(split(&web).trailers, None);
        assert_eq!(web_trailer_status(b"Grpc-Status:0\n"), Some(0));
        assert_eq!(web_trailer_status(b"grpc-message: x\r\n"), None);
        assert_eq!(web_trailer_status(b"grpc-status: five\r\n"), None);
    }

    #[test]
    fn a_hundred_thousand_tiny_messages_stop_at_the_cap() {
        let body = [0u8, 0, 0, 0, 0].repeat(100_000);
        let s = split(&body);
        assert_eq!(s.messages, MAX_MESSAGES as u64);
        assert!(s.over_cap);
        assert_eq!(s.frames.len(), MAX_WALKED);
    }

    #[test]
    fn gzip_messages_inflate_within_the_limit() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[b'a'; 1000]).unwrap();
        let data = gz.finish().unwrap();
        assert_eq!(inflate(&data, b"gzip", 1000).map(|d| d.len()), Some(1000));
        assert_eq!(inflate(&data, b"gzip", 999), None, "over the limit");
        assert_eq!(inflate(&data, b"snappy", 1000), None);
        assert_eq!(inflate(b"not gzip", b"gzip", 1000), None);
    }

    #[test]
    fn grpc_web_text_is_base64() {
        use base64::Engine as _;
        let body = framed(&[b"\x0a\x03abc"]);
        let text = base64::engine::general_purpose::STANDARD.encode(&body);
        assert_eq!(decode_web_text(text.as_bytes(), 1024), Some(body));
        assert_eq!(decode_web_text(b"!!!!", 1024), None);
    }

    #[test]
    fn walks_without_a_schema() {
        // {1: "SKU-1", 2: 1, 3: {1: 1025, 2: "EUR"}, 4: ["a", "b"], 5: fixed32 7, 6: bytes}
        let mut price = Vec::new();
        v(1 << 3, &mut price);
        v(1025, &mut price);
        len_field(2, b"EUR", &mut price);
        let mut m = Vec::new();
        len_field(1, b"SKU-1", &mut m);
        v(2 << 3, &mut m);
        v(1, &mut m);
        len_field(3, &price, &mut m);
        len_field(4, b"a", &mut m);
        len_field(4, b"b", &mut m);
        v(5 << 3 | 5, &mut m);
        m.extend_from_slice(&7u32.to_le_bytes());
        len_field(6, &[0xff, 0xfe, 0x00], &mut m);
        let w = walk(&m, None).expect("a message");
        assert_eq!(
            w.value,
            json!({"f1": "SKU-1", "f2": 1, "f3": {"f1": 1025, "f2": "EUR"}, "f4": ["a", "b"], "f5": 7, "f6": null})
        );
        assert!(!w.capped);
        // Not a message: a truncated field, a bad wire type, field number 0.
        assert!(walk(&m[..m.len() - 1], None).is_none());
        assert!(walk(&[0x0b], None).is_none());
        assert!(walk(&[0x00, 0x01], None).is_none());
        assert_eq!(walk(&[], None).map(|w| w.value), Some(json!({})));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // 10,000 levels of field 1 inside field 1: walked to MAX_DEPTH, no stack overflow.
        let mut m = vec![0x08, 0x01];
        for _ in 0..10_000 {
            let mut outer = Vec::with_capacity(m.len() + 6);
            len_field(1, &m, &mut outer);
            m = outer;
        }
        let w = walk(&m, None).expect("a message");
        assert!(w.capped);
        let mut depth = 0;
        let mut cur = &w.value;
        while let Some(next) = cur.get("f1") {
            depth += 1;
            cur = next;
        }
        assert!(depth <= MAX_DEPTH, "{depth}");
    }

    #[test]
    fn many_fields_stop_at_the_budget() {
        let m = [0x08u8, 0x01].repeat(50_000);
        let w = walk(&m, None).expect("a message");
        assert!(w.capped);
        assert_eq!(w.value["f1"].as_array().map(Vec::len), Some(MAX_FIELDS));
    }

    #[test]
    fn walks_with_a_descriptor() {
        let mut d = Descriptors::default();
        let f = |name: &str, kind| FieldInfo {
            name: name.into(),
            kind,
        };
        d.messages.insert(
            "p.Item".into(),
            HashMap::from([
                (1, f("sku", FieldKind::String)),
                (2, f("in_stock", FieldKind::Bool)),
                (3, f("price", FieldKind::Message("p.Price".into()))),
                (4, f("delta", FieldKind::Signed)),
                (5, f("ratio", FieldKind::Double)),
            ]),
        );
        d.messages.insert(
            "p.Price".into(),
            HashMap::from([(1, f("cents", FieldKind::Int))]),
        );
        let mut price = Vec::new();
        v(1 << 3, &mut price);
        v(250, &mut price);
        let mut m = Vec::new();
        len_field(1, b"SKU-1", &mut m);
        v(2 << 3, &mut m);
        v(1, &mut m);
        len_field(3, &price, &mut m);
        v(4 << 3, &mut m);
        v(5, &mut m); // zig-zag -3
        v(5 << 3 | 1, &mut m);
        m.extend_from_slice(&0.5f64.to_le_bytes());
        let w = walk(&m, Some((&d, "p.Item"))).expect("a message");
        assert_eq!(
            w.value,
            json!({"sku": "SKU-1", "in_stock": true, "price": {"cents": 250}, "delta": -3, "ratio": 0.5})
        );
    }

    /// The files of a reflection response, and what is not one: another response, a broken
    /// message, a file that does not decode (counted), a file sent again (not counted).
    #[test]
    fn reflected_files_are_read_from_file_descriptor_responses_only() {
        use prost::Message as _;
        let file = prost_types::FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("a".into()),
            ..Default::default()
        }
        .encode_to_vec();
        let mut fdr = vec![0x0a, file.len() as u8];
        fdr.extend_from_slice(&file);
        fdr.extend_from_slice(&[0x0a, 1, 0xff]);
        let mut msg = vec![0x22, fdr.len() as u8];
        msg.extend_from_slice(&fdr);
        assert_eq!(reflected_files(&msg), vec![&file[..], &[0xff][..]]);
        // list_services_response (5), a truncated message, a group.
        assert!(reflected_files(&[0x2a, 2, 0x0a, 0]).is_empty());
        assert!(reflected_files(&[0x22, 9, 0x0a]).is_empty());
        assert!(reflected_files(&[0x23]).is_empty());
        let mut r = Reflected::default();
        let mut d = Descriptors::default();
        assert_eq!(
            r.learn(&msg, &mut d),
            Learned {
                files: 1,
                dropped: 1
            }
        );
        assert_eq!(
            r.learn(&msg, &mut d),
            Learned {
                files: 0,
                dropped: 1
            }
        );
    }
}
