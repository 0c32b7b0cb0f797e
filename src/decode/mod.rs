//! Decode: from a captured frame to a TCP segment, without copying.
//!
//! [`link::strip`] removes the link-layer header, [`ip::parse`] reads IPv4/IPv6 (with extension
//! headers, through etherparse's lax slices so that frames cut by a snap length still decode) and
//! TCP. IP fragments are put back together by [`frag::Defragmenter`] within fixed bounds.
//! Every function here accepts any bytes: malformed input is an error value, never a panic.

pub mod frag;
pub mod ip;
pub mod link;

pub use frag::{DefragConfig, Defragmenter, Fragment};
pub use ip::{IpPacket, TcpFlags, TcpSegment};
pub use link::LinkPayload;

use crate::capture::LinkType;

/// Why a frame could not be decoded down to TCP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame ended inside the named header.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// The named header's fields contradict each other.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// More stacked VLAN tags than any real network uses.
    #[error("too many stacked VLAN tags")]
    TooManyVlanTags,
    /// A link-layer type shadowtap does not read.
    #[error("unsupported link type {0}")]
    UnsupportedLink(LinkType),
}

impl DecodeError {
    /// A stable name for statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Truncated(_) => "truncated",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::TooManyVlanTags => "too_many_vlan_tags",
            DecodeError::UnsupportedLink(_) => "unsupported_link",
        }
    }
}
