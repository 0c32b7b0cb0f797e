//! The time range of the dashboard: the picker at the top of every page ("last hour", "last
//! 24 hours", "last 7 days", "last 30 days", all time, or a custom range) and the `range`,
//! `from` and `to` parameters of the JSON API, read into the store's [`Window`].
//!
//! Relative ranges end at the newest request of the inventory, not at the wall clock:
//! captures are often old, and a running sensor's newest request is now. The pages keep the
//! chosen range in a cookie (`st_range`, the parameters as a query string), so it follows the
//! user from page to page until changed; a URL that names a range wins over the cookie. The
//! JSON API reads the parameters of each request only.

use super::AppError;
use super::api_doc::{TIME_VALUES, parse_since};
use crate::store::dashboard::Dashboard;
use crate::store::dashboard::Window;
use serde::Deserialize;

/// The cookie that keeps the pages' range.
pub const COOKIE: &str = "st_range";

/// The presets of `range`, with their labels (`custom`: `from` and `to` say).
pub const PRESETS: [(&str, &str); 6] = [
    ("all", "All time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Custom range"),
];

/// The values `range` takes.
pub fn range_values() -> Vec<&'static str> {
    PRESETS.iter().map(|(v, _)| *v).collect()
}

/// The parameters of a range (every page and the list operations of the JSON API).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RangeParams {
    /// A preset (`all`, `1h`, `24h`, `7d`, `30d`) or `custom`.
    pub range: Option<String>,
    /// Start of a custom range: an RFC 3339 time, `YYYY-MM-DD HH:MM` (UTC) or a duration back
    /// from the newest request (`90m`).
    pub from: Option<String>,
    /// End of a custom range, as `from`.
    pub to: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A time as the range takes it: [`parse_since`]'s forms, or a date and time without seconds
/// or zone as a `datetime-local` input sends it (`2025-01-31T12:00`, UTC).
fn parse_time(v: &str, newest: i64) -> Option<i64> {
    parse_since(v, newest).or_else(|| {
        let v = v.trim();
        match v.len() {
            10 => crate::time::parse_rfc3339(&format!("{v}T00:00:00Z")),
            16 => crate::time::parse_rfc3339(&format!("{v}:00Z")),
            19 => crate::time::parse_rfc3339(&format!("{v}Z")),
            _ => None,
        }
    })
}

/// What [`parse_time`] takes, in words.
const CUSTOM_VALUES: &str = "or a date and time in UTC (2025-01-31 12:00)";

impl RangeParams {
    /// Whether any of the three is given (an empty value counts: it clears the range).
    pub fn given(&self) -> bool {
        self.range.is_some() || self.from.is_some() || self.to.is_some()
    }

    /// The preset in effect: `range`, else `custom` when `from` or `to` is set, else `all`.
    pub fn preset(&self) -> &str {
        match nonempty(&self.range) {
            Some(r) => r,
            None if nonempty(&self.from).is_some() || nonempty(&self.to).is_some() => "custom",
            None => "all",
        }
    }

    /// The window these parameters name; `newest` is the newest request of the inventory
    /// (ns), the end of the relative ranges. A value that cannot be read is a 400 naming the
    /// parameter: there is no guessing a time.
    pub fn window(&self, newest: Option<i64>) -> Result<Window, AppError> {
        let newest = newest.unwrap_or(0);
        let invalid = |name: &'static str| AppError::InvalidParam {
            name,
            allowed: vec![format!("{TIME_VALUES}, {CUSTOM_VALUES}")],
        };
        match self.preset() {
            "all" => Ok(Window::ALL),
            "custom" => {
                let time = |name: &'static str, v: &Option<String>| {
                    nonempty(v)
                        .map(|v| parse_time(v, newest).ok_or_else(|| invalid(name)))
                        .transpose()
                };
                let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
                if let (Some(f), Some(t)) = (from, to)
                    && f > t
                {
                    return Err(AppError::InvalidParam {
                        name: "to",
                        allowed: vec!["a time after from".into()],
                    });
                }
                Ok(Window { from, to })
            }
            p if PRESETS.iter().any(|(v, _)| *v == p) => Ok(Window {
                from: parse_since(p, newest),
                to: None,
            }),
            _ => Err(AppError::InvalidParam {
                name: "range",
                allowed: range_values().iter().map(|s| s.to_string()).collect(),
            }),
        }
    }

    /// [`RangeParams::window`] against the inventory's newest request (read only for a
    /// relative range).
    pub async fn resolve(&self, store: &Dashboard) -> Result<Window, AppError> {
        let newest = if self.preset() == "all" {
            None
        } else {
            store.dashboard_newest().await?
        };
        self.window(newest)
    }

    /// These parameters as a query string without the `?` (what the cookie keeps); empty for
    /// all time.
    pub fn to_query(&self) -> String {
        let preset = self.preset();
        if preset == "all" {
            return String::new();
        }
        let mut pairs = vec![("range", preset.to_string())];
        if preset == "custom" {
            pairs.push(("from", nonempty(&self.from).unwrap_or_default().to_string()));
            pairs.push(("to", nonempty(&self.to).unwrap_or_default().to_string()));
        }
        super::fmt::query(&pairs)
            .trim_start_matches('?')
            .to_string()
    }

    /// Reads the parameters of a query string (the request's, or the cookie's).
    pub fn from_query(q: &str) -> RangeParams {
        let mut out = RangeParams::default();
        for (k, v) in url::form_urlencoded::parse(q.trim_start_matches('?').as_bytes()) {
            let slot = match &*k {
                "range" => &mut out.range,
                "from" => &mut out.from,
                "to" => &mut out.to,
                _ => continue,
            };
            *slot = Some(v.into_owned());
        }
        out
    }
}

/// The range of a page: what the picker shows and what the page counts.
#[derive(Clone, Debug, Default)]
pub struct PageRange {
    /// The parameters (from the URL, or the cookie).
    pub params: RangeParams,
    /// The window they name.
    pub window: Window,
}

impl PageRange {
    /// The range of a page request: the URL's parameters when it names one (the cookie is then
    /// set to them: the second value, empty to clear it), else the cookie's. A range the URL
    /// names but that cannot be read is an error (a 400); a damaged cookie is dropped.
    pub async fn of_page(
        store: &Dashboard,
        query: &str,
        cookie: Option<&str>,
    ) -> Result<(PageRange, Option<String>), AppError> {
        let from_url = RangeParams::from_query(query);
        if from_url.given() {
            let window = from_url.resolve(store).await?;
            let kept = from_url.to_query();
            return Ok((
                PageRange {
                    params: from_url,
                    window,
                },
                Some(kept),
            ));
        }
        let Some(cookie) = cookie else {
            return Ok((PageRange::default(), None));
        };
        // The cookie holds the query string percent-encoded once more (see [`set_cookie`]).
        let kept: String = url::form_urlencoded::parse(format!("v={cookie}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .next()
            .unwrap_or_default();
        let params = RangeParams::from_query(&kept);
        match params.resolve(store).await {
            Ok(window) => Ok((PageRange { params, window }, None)),
            Err(_) => Ok((PageRange::default(), Some(String::new()))),
        }
    }
}

/// The `Set-Cookie` value that keeps `query` (a range's parameters, [`RangeParams::to_query`])
/// for the next pages; an empty `query` clears the cookie. `secure`: the dashboard is reached
/// over HTTPS.
pub fn set_cookie(query: &str, secure: bool) -> String {
    if query.is_empty() {
        return format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    }
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        super::fmt::qs(query)
    )
}

/// The label of a window for people: `2025-01-31 11:00 – 2025-01-31 12:00 UTC`.
pub fn label(w: &Window) -> String {
    let t = |v: Option<i64>| v.map(|ns| super::fmt::ts_short(&Some(ns)));
    match (t(w.from), t(w.to)) {
        (None, None) => "all time".into(),
        (Some(f), None) => format!("{f} UTC to the newest request"),
        (None, Some(to)) => format!("up to {to} UTC"),
        (Some(f), Some(to)) => format!("{f} – {to} UTC"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;

    fn p(range: Option<&str>, from: Option<&str>, to: Option<&str>) -> RangeParams {
        RangeParams {
            range: range.map(String::from),
            from: from.map(String::from),
            to: to.map(String::from),
        }
    }

    #[test]
    fn presets_end_at_the_newest_request() {
        let newest = Some(100 * H);
        assert_eq!(p(None, None, None).window(newest).unwrap(), Window::ALL);
        assert_eq!(
            p(Some("all"), None, None).window(newest).unwrap(),
            Window::ALL
        );
        assert_eq!(
            p(Some("24h"), Some("ignored"), None)
                .window(newest)
                .unwrap(),
            Window {
                from: Some(76 * H),
                to: None
            }
        );
        let e = p(Some("2h"), None, None).window(newest).unwrap_err();
        assert!(matches!(e, AppError::InvalidParam { name: "range", .. }));
    }

    #[test]
    fn custom_ranges_take_times_in_several_forms() {
        let w = p(None, Some("1970-01-01 01:00"), Some("1970-01-01T03:00:00Z"))
            .window(Some(100 * H))
            .unwrap();
        assert_eq!((w.from, w.to), (Some(H), Some(3 * H)));
        let w = p(Some("custom"), Some("2h"), None)
            .window(Some(10 * H))
            .unwrap();
        assert_eq!((w.from, w.to), (Some(8 * H), None));
        assert!(
            p(None, Some("1970-01-02"), Some("1970-01-01"))
                .window(None)
                .is_err(),
            "backwards"
        );
        assert!(p(None, Some("yesterday"), None).window(None).is_err());
    }

    #[test]
    fn the_cookie_keeps_what_the_url_said() {
        let q = p(None, Some("2025-01-31 12:00"), Some("")).to_query();
        assert_eq!(
            RangeParams::from_query(&q).window(None).unwrap(),
            p(Some("custom"), Some("2025-01-31T12:00:00Z"), None)
                .window(None)
                .unwrap()
        );
        assert_eq!(p(Some("all"), None, None).to_query(), "");
        assert_eq!(
            RangeParams::from_query(&p(Some("7d"), None, None).to_query()).preset(),
            "7d"
        );
    }
}
