//! Which protocol an endpoint speaks, decided per transaction in one place
//! ([`protocol_of`]), stored per endpoint (`api_endpoints.protocol`).
//!
//! The API protocols carried by HTTP come first: gRPC (a `content-type: application/grpc*`
//! request), GraphQL (an operation the inventory recognised), WebSocket (the upgrade
//! transaction); then the HTTP version of the request (`h2`, `http/1.1`, `http/1.0`).

use super::grpc;
use crate::http::{HttpTransaction, Version};

/// The protocol of an endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1 (and requests whose version could not be read).
    #[default]
    Http11,
    /// HTTP/2 (not gRPC).
    H2,
    /// gRPC (over HTTP/2, or gRPC-Web over any HTTP).
    Grpc,
    /// GraphQL over HTTP.
    Graphql,
    /// An accepted WebSocket upgrade (tagged `Tags::WEBSOCKET` by the HTTP layer).
    Websocket,
}

impl Protocol {
    /// Every protocol, in the order listings show them.
    pub const ALL: [Protocol; 6] = [
        Protocol::Http10,
        Protocol::Http11,
        Protocol::H2,
        Protocol::Grpc,
        Protocol::Graphql,
        Protocol::Websocket,
    ];

    /// The stable name stored and shown (`http/1.0`, `http/1.1`, `h2`, `grpc`, `graphql`,
    /// `websocket`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http10 => "http/1.0",
            Protocol::Http11 => "http/1.1",
            Protocol::H2 => "h2",
            Protocol::Grpc => "grpc",
            Protocol::Graphql => "graphql",
            Protocol::Websocket => "websocket",
        }
    }

    /// The protocol of a stable name.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// An API protocol carried by HTTP (gRPC, GraphQL, WebSocket): it wins over the HTTP
    /// version when an endpoint's transactions disagree.
    pub fn is_api(self) -> bool {
        matches!(
            self,
            Protocol::Grpc | Protocol::Graphql | Protocol::Websocket
        )
    }
}

/// The protocol of one transaction: `graphql` says the inventory recognised a GraphQL
/// operation in it.
pub fn protocol_of(t: &HttpTransaction, graphql: bool) -> Protocol {
    let Some(req) = t.request.as_ref() else {
        return Protocol::default();
    };
    // An accepted WebSocket upgrade (the HTTP layer tags it when it hands the connection
    // over): the endpoint is the socket, whatever the request says.
    if t.tags.contains(crate::http::Tags::WEBSOCKET) {
        return Protocol::Websocket;
    }
    let media = super::request::media_type(&req.head);
    if grpc::is_grpc_media(&media) {
        return Protocol::Grpc;
    }
    if graphql {
        return Protocol::Graphql;
    }
    match req.head.version() {
        Version::HTTP_2 => Protocol::H2,
        Version::HTTP_10 => Protocol::Http10,
        _ => Protocol::Http11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
        }
        assert_eq!(Protocol::from_name("gopher"), None);
        assert!(Protocol::Grpc.is_api() && !Protocol::H2.is_api());
    }
}
