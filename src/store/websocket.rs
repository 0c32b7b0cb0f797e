//! WebSocket figures per endpoint (`endpoint_websockets`, the view `api_websockets`): merged
//! from the inventory's [`WsDelta`]s in the flush's transaction, carried over when an endpoint
//! is merged into a more general template, and read back as a typed row (the endpoint page,
//! `/api/endpoints/{id}`).

use super::db::Conn;
use super::{Store, StoreError};
use crate::analyze::websocket::{WsDelta, WsDirDelta};
use crate::websocket::{SIZE_BUCKETS, SizeHistogram};
use std::collections::BTreeMap;

/// The WebSocket figures of one endpoint, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WebsocketRow {
    /// Connections.
    pub connections: i64,
    /// Data messages, client to server.
    pub messages_client: i64,
    /// Data messages, server to client.
    pub messages_server: i64,
    /// Text messages, client to server.
    pub text_client: i64,
    /// Binary messages, client to server.
    pub binary_client: i64,
    /// Text messages, server to client.
    pub text_server: i64,
    /// Binary messages, server to client.
    pub binary_server: i64,
    /// Payload bytes of data messages, client to server (as on the wire).
    pub bytes_client: i64,
    /// Payload bytes of data messages, server to client.
    pub bytes_server: i64,
    /// Largest data message.
    pub max_message_bytes: i64,
    /// Median message size, to the power of two above.
    pub p50_message_bytes: Option<i64>,
    /// 99th percentile message size, to the power of two above.
    pub p99_message_bytes: Option<i64>,
    /// Connections by close code (1005: a close without a code, 1006: no close frame, 0:
    /// codes past the cap).
    pub close_codes: BTreeMap<u16, u64>,
    /// Connections by subprotocol.
    pub subprotocols: BTreeMap<String, u64>,
    /// Mean connection duration, in milliseconds.
    pub avg_duration_ms: Option<i64>,
    /// Longest connection, in milliseconds.
    pub max_duration_ms: i64,
    /// Connections with `permessage-deflate`.
    pub deflate: i64,
    /// Answers whose `Sec-WebSocket-Accept` did not match the key.
    pub accept_mismatches: i64,
    /// Compressed messages not inflated.
    pub not_decoded: i64,
    /// Connections whose parsing stopped early.
    pub stopped: i64,
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The stored columns read back into a delta, in [`WS_COLUMNS`]' order.
pub(crate) const WS_COLUMNS: &str =
    "connections, text_client, binary_client, text_server, binary_server,
    bytes_client, bytes_server, frames_client, frames_server, pings, max_message_bytes, size_hist,
    close_codes, subprotocols, duration_ms_total, duration_ms_max, deflate, accept_mismatches,
    not_decoded, stopped";

/// A stored row of [`WS_COLUMNS`] as a delta (to merge into): `int(k)` and `text(k)` read
/// column `k` (either backend).
pub(crate) fn ws_from_columns(
    int: impl Fn(usize) -> i64,
    text: impl Fn(usize) -> String,
) -> WsDelta {
    let g = |k: usize| u(int(k));
    let mut sizes = SizeHistogram::default();
    let stored: Vec<u64> = serde_json::from_str(&text(11)).unwrap_or_default();
    for (b, n) in sizes.0.iter_mut().zip(stored) {
        *b = n;
    }
    WsDelta {
        connections: g(0),
        client: WsDirDelta {
            text: g(1),
            binary: g(2),
            bytes: g(5),
            frames: g(7),
            pings: g(9),
        },
        server: WsDirDelta {
            text: g(3),
            binary: g(4),
            bytes: g(6),
            frames: g(8),
            pings: 0,
        },
        max_message_bytes: g(10),
        sizes,
        close_codes: serde_json::from_str::<BTreeMap<u16, u64>>(&text(12)).unwrap_or_default(),
        subprotocols: serde_json::from_str(&text(13)).unwrap_or_default(),
        duration_ms_total: g(14),
        duration_ms_max: g(15),
        deflate: g(16),
        accept_mismatches: g(17),
        not_decoded: g(18),
        stopped: g(19),
    }
}

/// A stored row's values for `endpoint_websockets` after `endpoint_id`, in [`WS_INSERT`]'s
/// order: integers, or text (the JSON columns).
pub(crate) fn ws_values(w: &WsDelta) -> Vec<Result<Option<i64>, String>> {
    let q = |x: f64| Ok(w.sizes.quantile(x).map(i));
    let n = |v: u64| Ok(Some(i(v)));
    vec![
        n(w.connections),
        n(w.client.text),
        n(w.client.binary),
        n(w.server.text),
        n(w.server.binary),
        n(w.client.bytes),
        n(w.server.bytes),
        n(w.client.frames),
        n(w.server.frames),
        n(w.client.pings.saturating_add(w.server.pings)),
        n(w.max_message_bytes),
        Err(serde_json::to_string(&w.sizes.0[..]).unwrap_or_else(|_| "[]".into())),
        q(0.5),
        q(0.99),
        Err(serde_json::to_string(&w.close_codes).unwrap_or_else(|_| "{}".into())),
        Err(serde_json::to_string(&w.subprotocols).unwrap_or_else(|_| "{}".into())),
        n(w.duration_ms_total),
        n(w.duration_ms_max),
        n(w.deflate),
        n(w.accept_mismatches),
        n(w.not_decoded),
        n(w.stopped),
    ]
}

/// The columns [`ws_values`] fills, after `endpoint_id`.
pub(crate) const WS_INSERT: &str = "endpoint_id, connections, text_client,
    binary_client, text_server, binary_server, bytes_client, bytes_server, frames_client,
    frames_server, pings, max_message_bytes, size_hist, p50_message_bytes,
    p99_message_bytes, close_codes, subprotocols, duration_ms_total, duration_ms_max,
    deflate, accept_mismatches, not_decoded, stopped";

/// The stored figures of endpoint `id`, as a delta (to merge into).
async fn load(c: &mut Conn<'_>, id: i64) -> Result<Option<WsDelta>, StoreError> {
    let Some(r) = c
        .query(format!(
            "SELECT {WS_COLUMNS} FROM endpoint_websockets WHERE endpoint_id = ?"
        ))
        .bind(id)
        .fetch_optional()
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ws_from_columns(
        |k| r.get::<i64, _>(k),
        |k| r.get::<String, _>(k),
    )))
}

/// Writes endpoint `id`'s figures (the whole row).
async fn save(c: &mut Conn<'_>, id: i64, w: &WsDelta) -> Result<(), StoreError> {
    debug_assert_eq!(w.sizes.0.len(), SIZE_BUCKETS);
    let values = ws_values(w);
    let marks = vec!["?"; values.len() + 1].join(", ");
    let sets = WS_INSERT
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "endpoint_id")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = c
        .query(format!(
            "INSERT INTO endpoint_websockets ({WS_INSERT}) VALUES ({marks})
             ON CONFLICT (endpoint_id) DO UPDATE SET {sets}"
        ))
        .bind(id);
    for v in values {
        q = match v {
            Ok(n) => q.bind(n),
            Err(t) => q.bind(t),
        };
    }
    q.execute().await?;
    Ok(())
}

/// Adds figures (a flush's, a delta's, a merged endpoint's) to endpoint `id`'s, on either
/// backend: the sensor's store and the centre merge alike.
pub(crate) async fn merge_websocket(
    c: &mut Conn<'_>,
    id: i64,
    w: &WsDelta,
) -> Result<(), StoreError> {
    let mut stored = load(c, id).await?.unwrap_or_default();
    stored.merge(w);
    save(c, id, &stored).await
}

/// Carries endpoint `from`'s figures over to `to` (a merge into a more general template).
pub(super) async fn move_websocket(c: &mut Conn<'_>, to: i64, from: i64) -> Result<(), StoreError> {
    let Some(w) = load(c, from).await? else {
        return Ok(());
    };
    merge_websocket(c, to, &w).await?;
    c.query("DELETE FROM endpoint_websockets WHERE endpoint_id = ?")
        .bind(from)
        .execute()
        .await?;
    Ok(())
}

impl Store {
    /// The WebSocket figures of endpoint `id` (`None`: no WebSocket connection seen).
    pub async fn endpoint_websocket(&self, id: i64) -> Result<Option<WebsocketRow>, StoreError> {
        self.dashboard().endpoint_websocket(id).await
    }
}
