//! What the inventory records of an endpoint's WebSocket connections: message and byte counts
//! per direction, message sizes, close codes, subprotocols and durations, summed over the
//! connections its upgrade transactions opened. Fixed-size but for two capped maps.
//!
//! The sampled text messages are read by the inventory with the body analyses (shapes,
//! sensitive data); this file only holds the figures.

use crate::websocket::{SizeHistogram, WsSummary};
use std::collections::BTreeMap;

/// Close codes kept per endpoint and drain (others are folded into [`OTHER_CLOSE_CODE`]).
pub const MAX_CLOSE_CODES: usize = 16;

/// Subprotocols kept per endpoint and drain (others are not named, only counted).
pub const MAX_SUBPROTOCOLS: usize = 8;

/// The key of close codes past the cap.
pub const OTHER_CLOSE_CODE: u16 = 0;

/// RFC 6455 section 7.1.5: a close frame without a status code.
pub const NO_STATUS: u16 = 1005;

/// RFC 6455 section 7.1.5: no close frame at all.
pub const ABNORMAL: u16 = 1006;

/// One direction's figures over an endpoint's connections.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WsDirDelta {
    /// Text messages.
    pub text: u64,
    /// Binary messages.
    pub binary: u64,
    /// Payload bytes of data messages (as on the wire).
    pub bytes: u64,
    /// Frames, control frames included.
    pub frames: u64,
    /// Pings and pongs.
    pub pings: u64,
}

impl WsDirDelta {
    /// Text and binary messages.
    pub fn messages(&self) -> u64 {
        self.text + self.binary
    }

    fn add(&mut self, d: &crate::websocket::WsDirection) {
        self.text += d.text_messages;
        self.binary += d.binary_messages;
        self.bytes = self.bytes.saturating_add(d.bytes);
        self.frames += d.frames;
        self.pings += d.pings + d.pongs;
    }

    fn merge(&mut self, o: &WsDirDelta) {
        self.text = self.text.saturating_add(o.text);
        self.binary = self.binary.saturating_add(o.binary);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.frames = self.frames.saturating_add(o.frames);
        self.pings = self.pings.saturating_add(o.pings);
    }
}

/// The WebSocket figures of one endpoint since the last drain (a fleet's deltas carry them).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WsDelta {
    /// Connections (upgrade transactions whose connection ended).
    pub connections: u64,
    /// Client to server.
    pub client: WsDirDelta,
    /// Server to client.
    pub server: WsDirDelta,
    /// Largest data message, in payload bytes.
    pub max_message_bytes: u64,
    /// Data message sizes, both directions.
    pub sizes: SizeHistogram,
    /// Connections by close code ([`NO_STATUS`], [`ABNORMAL`] for none).
    pub close_codes: BTreeMap<u16, u64>,
    /// Connections by subprotocol, up to [`MAX_SUBPROTOCOLS`].
    pub subprotocols: BTreeMap<String, u64>,
    /// Sum of the connections' durations, in milliseconds.
    pub duration_ms_total: u64,
    /// Longest connection, in milliseconds.
    pub duration_ms_max: u64,
    /// Connections with `permessage-deflate`.
    pub deflate: u64,
    /// Connections whose `Sec-WebSocket-Accept` did not match.
    pub accept_mismatches: u64,
    /// Compressed messages not decoded.
    pub not_decoded: u64,
    /// Connections whose parsing stopped early (a gap, a cap, a bad length).
    pub stopped: u64,
}

impl WsDelta {
    /// Adds one connection.
    pub fn add(&mut self, s: &WsSummary) {
        self.connections += 1;
        self.client.add(&s.client);
        self.server.add(&s.server);
        self.max_message_bytes = self
            .max_message_bytes
            .max(s.client.max_message_bytes)
            .max(s.server.max_message_bytes);
        self.sizes.merge(&s.client.sizes);
        self.sizes.merge(&s.server.sizes);
        let code = match s.close_code() {
            Some(c) => c,
            None if s.client.closes + s.server.closes > 0 => NO_STATUS,
            None => ABNORMAL,
        };
        add_code(&mut self.close_codes, code, 1);
        if let Some(p) = &s.subprotocol
            && (self.subprotocols.contains_key(p) || self.subprotocols.len() < MAX_SUBPROTOCOLS)
        {
            *self.subprotocols.entry(p.clone()).or_default() += 1;
        }
        let ms = s.duration_ms() as u64;
        self.duration_ms_total = self.duration_ms_total.saturating_add(ms);
        self.duration_ms_max = self.duration_ms_max.max(ms);
        self.deflate += u64::from(s.deflate);
        self.accept_mismatches += u64::from(!s.accept_ok);
        self.not_decoded += s.not_decoded;
        self.stopped += u64::from(s.client.stopped || s.server.stopped);
    }

    /// Folds `o` (the same endpoint) into this one: counts saturate and the maps keep their
    /// caps, whatever `o` holds (a fleet's centre merges what sensors send).
    pub fn merge(&mut self, o: &WsDelta) {
        self.connections = self.connections.saturating_add(o.connections);
        self.client.merge(&o.client);
        self.server.merge(&o.server);
        self.max_message_bytes = self.max_message_bytes.max(o.max_message_bytes);
        self.sizes.merge(&o.sizes);
        for (&c, &n) in &o.close_codes {
            add_code(&mut self.close_codes, c, n);
        }
        for (p, &n) in &o.subprotocols {
            if self.subprotocols.contains_key(p) || self.subprotocols.len() < MAX_SUBPROTOCOLS {
                let c = self.subprotocols.entry(p.clone()).or_default();
                *c = c.saturating_add(n);
            }
        }
        self.duration_ms_total = self.duration_ms_total.saturating_add(o.duration_ms_total);
        self.duration_ms_max = self.duration_ms_max.max(o.duration_ms_max);
        self.deflate = self.deflate.saturating_add(o.deflate);
        self.accept_mismatches = self.accept_mismatches.saturating_add(o.accept_mismatches);
        self.not_decoded = self.not_decoded.saturating_add(o.not_decoded);
        self.stopped = self.stopped.saturating_add(o.stopped);
    }
}

fn add_code(map: &mut BTreeMap<u16, u64>, code: u16, n: u64) {
    let key = if map.contains_key(&code) || map.len() < MAX_CLOSE_CODES - 1 {
        code
    } else {
        OTHER_CLOSE_CODE
    };
    let c = map.entry(key).or_default();
    *c = c.saturating_add(n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn connections_add_up_and_maps_stay_capped() {
        let mut s = WsSummary {
            subprotocol: Some("chat".into()),
            first_ts: Timestamp(0),
            last_ts: Timestamp(2_500_000_000),
            ..WsSummary::default()
        };
        s.client.text_messages = 3;
        s.client.bytes = 30;
        s.client.close_code = Some(1000);
        s.client.closes = 1;
        s.server.binary_messages = 1;
        s.server.max_message_bytes = 700;
        let mut d = WsDelta::default();
        d.add(&s);
        d.add(&WsSummary::default());
        assert_eq!(d.connections, 2);
        assert_eq!(d.client.messages(), 3);
        assert_eq!(d.server.binary, 1);
        assert_eq!(d.max_message_bytes, 700);
        assert_eq!(d.duration_ms_max, 2500);
        assert_eq!(d.close_codes, BTreeMap::from([(1000, 1), (ABNORMAL, 1)]));
        assert_eq!(d.subprotocols.get("chat"), Some(&1));
        let mut e = WsDelta::default();
        for code in 3000..3100 {
            let mut s = WsSummary::default();
            s.server.close_code = Some(code);
            s.subprotocol = Some(format!("p{code}"));
            e.add(&s);
        }
        assert_eq!(e.close_codes.len(), MAX_CLOSE_CODES);
        assert_eq!(e.subprotocols.len(), MAX_SUBPROTOCOLS);
        d.merge(&e);
        assert_eq!(d.connections, 102);
        assert!(d.close_codes.len() <= MAX_CLOSE_CODES);
        assert_eq!(d.close_codes.values().sum::<u64>(), 102);
    }
}
