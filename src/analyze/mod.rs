//! Analyze: from transactions to what an API inventory records about them.
//!
//! Pure functions and bounded data structures over what the sensor sees on the wire. Input
//! is attacker-controlled: nothing here panics on any input, every structure has a cap, and
//! what a cap drops is counted.
//!
//! * [`sensitive`]: sensitive data detection with validation, redaction and keyed hashing.
//! * [`segments`]: URL path segment classification and parameter naming.
//! * [`template`]: a bounded path-template learner.
//! * [`shape`]: JSON body shape inference and JSON Schema output.
//! * [`form`]: shape of `application/x-www-form-urlencoded` bodies and query strings.
//! * [`auth`]: auth scheme detection and JWT helpers.
//! * [`graphql`], [`grpc`]: API protocols read from a transaction's bodies and fields (the
//!   operation or method it runs).
//! * [`protocol`]: which protocol an endpoint speaks ([`protocol::protocol_of`]).
//! * [`scope`]: which endpoints are APIs of ours and which are noise (static content,
//!   third-party hosts, ignored).
//! * [`redact`]: secrets redacted in place in text an output prints (`shadowtap log`).
//! * [`request`]: the parsed view of a transaction (target, query pairs, named header fields,
//!   credentials, media types, decoded bodies and their JSON) that every analysis shares,
//!   parsed once.
//! * [`websocket`]: the WebSocket figures of an endpoint (its upgrade transactions'
//!   connections); their sampled text messages go through the body analyses.
//!
//! The endpoint aggregation that ties these together lives in [`inventory`].

pub mod auth;
pub mod endpoint;
pub mod form;
pub mod graphql;
pub mod grpc;
pub mod hll;
pub mod inventory;
pub mod posture;
pub mod protocol;
pub mod redact;
pub mod request;
pub mod scope;
pub mod secret;
pub mod segments;
pub mod sensitive;
pub mod sequence;
pub mod shape;
pub mod template;
#[cfg(test)]
mod testinput;
pub mod tls;
mod util;
pub mod vocab;
pub mod websocket;
