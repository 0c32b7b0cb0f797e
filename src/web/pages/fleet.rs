//! The Fleet page (`GET /fleet`, `templates/fleet.html`): each sensor of a fleet as the centre
//! last heard of it (`api_sensors`): its version, host and interfaces, its latest delta and how
//! late it is, the deltas applied and parked, what it read and dropped, and the endpoints it
//! saw (a link to the endpoint list filtered by that sensor).

use super::{Chrome, chrome, render};
use crate::store::read::SensorRow;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

/// A sensor with no delta for longer than this is shown as late (ten flush intervals of the
/// daemon's default, 60 s).
pub const LATE_AFTER_S: i64 = 600;

/// One sensor as the page and `/api/fleet` show it.
#[derive(Clone, Debug, Serialize)]
pub struct SensorView {
    /// The row of `api_sensors`.
    #[serde(flatten)]
    pub row: SensorRow,
    /// Endpoints it saw.
    pub endpoints: i64,
    /// Seconds since its latest delta was made (its clock against the centre's), when known.
    pub silent_s: Option<i64>,
    /// `ok`, `late` (no delta for [`LATE_AFTER_S`]), `parked` (a delta refused) or `dropping`
    /// (packets lost before analysis, or caps reached).
    pub health: &'static str,
    /// Frames lost before analysis: kernel, interface and worker queues.
    pub dropped: i64,
}

/// The fleet: every sensor, by name.
pub async fn fleet_data(state: &AppState, now_s: i64) -> Result<Vec<SensorView>, AppError> {
    let rows = state.dash().dashboard_sensors().await?;
    let seen = state.dash().dashboard_facets().await?.sensors;
    Ok(rows
        .into_iter()
        .map(|row| {
            let silent_s = parse_iso_s(&row.last_delta_at).map(|t| (now_s - t).max(0));
            let dropped = row.kernel_dropped + row.if_dropped + row.queue_dropped;
            let health = if silent_s.is_some_and(|s| s > LATE_AFTER_S) {
                "late"
            } else if row.parked > 0 {
                "parked"
            } else if dropped > 0 || row.cap_drops > 0 {
                "dropping"
            } else {
                "ok"
            };
            SensorView {
                endpoints: seen
                    .iter()
                    .find(|c| c.key == row.sensor)
                    .map_or(0, |c| c.count),
                row,
                silent_s,
                health,
                dropped,
            }
        })
        .collect())
}

/// Seconds since the epoch of an ISO 8601 time as the views write them
/// (`2025-01-31T00:00:00.123Z`).
fn parse_iso_s(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// How long ago, in words.
pub fn ago(s: &Option<i64>) -> String {
    match *s {
        None => "unknown".into(),
        Some(s) if s < 120 => format!("{s} s ago"),
        Some(s) if s < 7200 => format!("{} min ago", s / 60),
        Some(s) if s < 172_800 => format!("{} h ago", s / 3600),
        Some(s) => format!("{} days ago", s / 86_400),
    }
}

/// The centre's numbers for `/metrics` (`serve --db postgres://...`): each sensor's health
/// and the apply backlog.
pub struct CentreSnapshot {
    /// The sensors.
    pub sensors: Vec<SensorView>,
    /// Deltas waiting to be applied, and their bytes.
    pub backlog: Option<(i64, i64)>,
}

impl std::fmt::Debug for CentreSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentreSnapshot")
            .field("sensors", &self.sensors.len())
            .field("backlog", &self.backlog)
            .finish()
    }
}

impl prometheus_client::collector::Collector for CentreSnapshot {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> std::fmt::Result {
        let mut f = crate::web::live::Families::new(&mut encoder);
        let s = &self.sensors;
        let n = |v: i64| v.max(0) as u64;
        f.gauge(
            "shadowtap_centre_sensors",
            "Sensors whose deltas the centre applied",
            s.len() as i64,
        )?;
        if let Some((pending, bytes)) = self.backlog {
            f.gauge(
                "shadowtap_centre_deltas_pending",
                "Deltas received and not applied yet",
                pending,
            )?;
            f.gauge(
                "shadowtap_centre_delta_bytes_pending",
                "Bytes of the deltas not applied yet",
                bytes,
            )?;
        }
        f.gauges(
            "shadowtap_centre_sensor_silent_seconds",
            "Seconds since the sensor's latest delta was made (its clock against the centre's)",
            "sensor",
            s.iter().filter_map(|v| Some((&v.row.sensor, v.silent_s?))),
        )?;
        f.gauges(
            "shadowtap_centre_sensor_apply_lag_seconds",
            "From the latest delta's making to its apply",
            "sensor",
            s.iter()
                .map(|v| (&v.row.sensor, v.row.apply_lag_ms as f64 / 1000.0)),
        )?;
        f.gauges(
            "shadowtap_centre_sensor_late",
            "1 when the sensor sent no delta for 10 minutes",
            "sensor",
            s.iter()
                .map(|v| (&v.row.sensor, i64::from(v.health == "late"))),
        )?;
        f.gauges(
            "shadowtap_centre_sensor_endpoints",
            "Endpoints the sensor saw",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, v.endpoints)),
        )?;
        f.counters(
            "shadowtap_centre_sensor_deltas",
            "Deltas of the sensor applied",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, n(v.row.deltas))),
        )?;
        f.counters(
            "shadowtap_centre_sensor_parked",
            "Deltas of the sensor refused and parked",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, n(v.row.parked))),
        )?;
        f.counters(
            "shadowtap_centre_sensor_packets",
            "Frames the sensor read, as of its latest delta",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, n(v.row.packets))),
        )?;
        f.counters(
            "shadowtap_centre_sensor_dropped",
            "Frames the sensor lost before analysis (kernel, interface, worker queues)",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, n(v.dropped))),
        )?;
        f.counters(
            "shadowtap_centre_sensor_cap_drops",
            "What the sensor's caps dropped (engine, inventory, store)",
            "sensor",
            s.iter().map(|v| (&v.row.sensor, n(v.row.cap_drops))),
        )
    }
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    chrome: Chrome,
    sensors: Vec<SensorView>,
    central: bool,
}

/// `GET /fleet`.
pub async fn fleet(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let sensors = fleet_data(
        &state,
        crate::time::Timestamp::now().as_nanos() / 1_000_000_000,
    )
    .await?;
    render(&FleetPage {
        chrome: chrome(&state, &session, "/fleet"),
        central: state.dash().is_central(),
        sensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_times_parse() {
        assert_eq!(parse_iso_s("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_iso_s("2025-01-31T00:00:01.123Z"), Some(1_738_281_601));
        assert_eq!(parse_iso_s("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(parse_iso_s("garbage"), None);
        assert_eq!(parse_iso_s("2025-01-31 00:00:00"), None);
        assert_eq!(ago(&Some(30)), "30 s ago");
        assert_eq!(ago(&Some(3600)), "60 min ago");
        assert_eq!(ago(&None), "unknown");
    }
}
