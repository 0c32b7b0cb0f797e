//! Charts drawn server-side as inline SVG: time series, histograms, bars, sparklines.
//!
//! Every piece of text that goes into the markup (labels, tooltips) passes through
//! [`esc`]; class names come from fixed sets. Colours live in the stylesheet (classes), never in
//! `style` attributes, which the Content-Security-Policy forbids.

use super::fmt::{esc, esc_into, minute_label, num};
use crate::store::dashboard::MinuteCount;
use std::fmt::{self, Write};

/// Markup built by this module (or by the sequence graph), safe to print unescaped: every text
/// inside was escaped when it was built. Only code in `web` can make one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Svg(String);

impl Svg {
    pub(super) fn new(markup: String) -> Svg {
        Svg(markup)
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether nothing was drawn.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Svg {}

/// Width in pixels of the narrow variant of a chart ([`responsive`]): a phone's card.
pub const NARROW: u32 = 440;

/// One chart drawn twice, for wide and for narrow screens; the stylesheet shows one of them
/// (below 600 px, the narrow one). A chart drawn for 1,400 pixels and shrunk to a phone's
/// 360 would print its labels at a quarter of their size; a narrow drawing keeps them
/// readable and takes fewer bars. Empty when the wide chart is.
pub fn responsive(wide: Svg, narrow: Svg) -> Svg {
    if wide.is_empty() {
        return Svg::default();
    }
    Svg(format!(
        r#"<div class="chart-wide">{}</div><div class="chart-narrow">{}</div>"#,
        wide.0, narrow.0
    ))
}

/// A round number at or above `v` for an axis maximum, and the tick step (whole numbers: the
/// charts count things).
fn nice_max(v: f64) -> (f64, f64) {
    if v <= 1.0 {
        return (1.0, 1.0);
    }
    let raw = v / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let step = step.max(1.0);
    ((v / step).ceil() * step, step)
}

fn tick_label(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract() == 0.0 {
        num(&(v as i64))
    } else {
        format!("{v:.1}")
    }
}

/// A small line of activity (no axes): `values` left to right.
pub fn sparkline(values: &[i64], width: u32, height: u32) -> Svg {
    if values.is_empty() {
        return Svg::default();
    }
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (w, h) = (width as f64, height as f64);
    let n = values.len();
    let x = |i: usize| {
        if n == 1 {
            w / 2.0
        } else {
            1.0 + i as f64 * (w - 2.0) / (n - 1) as f64
        }
    };
    let y = |v: i64| h - 1.5 - (v as f64 / max) * (h - 3.0);
    let mut line = String::new();
    for (i, v) in values.iter().enumerate() {
        let _ = write!(
            line,
            "{}{:.1},{:.1}",
            if i == 0 { "" } else { " " },
            x(i),
            y(*v)
        );
    }
    let total: i64 = values.iter().sum();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="activity"><title>{} calls</title><path class="spark-area" d="M{:.1},{h} L{line} L{:.1},{h} Z"/><polyline class="spark-line" points="{line}"/></svg>"#,
        num(&total),
        x(0),
        x(n - 1),
    );
    Svg(s)
}

/// Calls (and errors) over time, one bar per time bucket, buckets sized so that there are at
/// most `max_bars`.
pub fn time_series(points: &[MinuteCount], width: u32, height: u32, max_bars: i64) -> Svg {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Svg::default();
    };
    let span = (last.minute - first.minute + 1).max(1);
    // Bucket sizes a reader counts in: minutes, hours, days, weeks, 30-day months, quarters,
    // years; past that, whole years.
    let step = [
        1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080, 43_200, 129_600, 525_600,
    ]
    .into_iter()
    .find(|s| span / s < max_bars.max(1))
    .unwrap_or_else(|| (span / max_bars.max(1) / 525_600 + 1) * 525_600);
    let lo = first.minute - first.minute.rem_euclid(step);
    let n = ((last.minute - lo) / step + 1) as usize;
    let mut calls = vec![0i64; n];
    let mut errors = vec![0i64; n];
    for p in points {
        let i = ((p.minute - lo) / step) as usize;
        if i < n {
            calls[i] += p.count;
            errors[i] += p.errors;
        }
    }
    let (w, h) = (width as f64, height as f64);
    let (ml, mr, mt, mb) = (46.0, 10.0, 10.0, 24.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let (ymax, ystep) = nice_max(calls.iter().copied().max().unwrap_or(0) as f64);
    let slot = pw / n as f64;
    let bw = (slot * 0.8).clamp(1.0, 36.0);
    // Axis labels: the time of day within one day, the date (with its year) beyond; months
    // for buckets of a month or more. Tooltips always carry the full date and time.
    let one_day = last.minute / 1440 == first.minute / 1440;
    let axis_label = |start: i64| -> String {
        let full = minute_label(start, true);
        if step >= 43_200 {
            full.get(..7).unwrap_or("").to_string()
        } else if step >= 1440 {
            full.get(..10).unwrap_or("").to_string()
        } else if one_day {
            full.get(11..).unwrap_or("").to_string()
        } else {
            full
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="calls over time">"#
    );
    // Grid and y labels.
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let y = mt + ph - v / ymax * ph;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{ml}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            w - mr,
            ml - 6.0,
            y + 3.5,
            tick_label(v)
        );
        v += ystep;
    }
    for i in 0..n {
        let x = ml + i as f64 * slot + (slot - bw) / 2.0;
        let start = lo + i as i64 * step;
        let label = minute_label(start, true);
        let bh = calls[i] as f64 / ymax * ph;
        let eh = errors[i] as f64 / ymax * ph;
        let _ = write!(
            s,
            r#"<g><title>{label} UTC{}: {} calls, {} errors</title><rect class="bar-hit" x="{:.1}" y="{mt}" width="{slot:.1}" height="{ph:.1}"/>"#,
            if step > 1 {
                format!(" (+{})", bucket_words(step))
            } else {
                String::new()
            },
            num(&calls[i]),
            num(&errors[i]),
            ml + i as f64 * slot,
        );
        if calls[i] > 0 {
            let _ = write!(
                s,
                r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"/>"#,
                mt + ph - bh,
                bh.max(1.0)
            );
        }
        if errors[i] > 0 {
            let _ = write!(
                s,
                r#"<rect class="bar-err" x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"/>"#,
                mt + ph - eh,
                eh.max(1.0)
            );
        }
        s.push_str("</g>");
    }
    // X labels: one per 150 pixels or so (8 on a wide chart, 3 on a phone).
    let every = n.div_ceil(((w / 150.0) as usize).clamp(2, 8)).max(1);
    for i in (0..n).step_by(every) {
        let label = axis_label(lo + i as i64 * step);
        let _ = write!(
            s,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            ml + (i as f64 + 0.5) * slot,
            h - 6.0,
            esc(&label)
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis-line" x1="{ml}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/></svg>"#,
        w - mr,
        mt + ph,
        mt + ph
    );
    Svg(s)
}

/// A bucket size in words: `10 min`, `6 h`, `1 day`, `7 days`, `1 year`.
fn bucket_words(minutes: i64) -> String {
    if minutes % 525_600 == 0 {
        let y = minutes / 525_600;
        format!("{y} year{}", if y == 1 { "" } else { "s" })
    } else if minutes % 1440 == 0 {
        let d = minutes / 1440;
        format!("{d} day{}", if d == 1 { "" } else { "s" })
    } else if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

/// One bin of a histogram.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Bin {
    /// Lower bound (ms).
    pub lo_ms: f64,
    /// Upper bound (ms).
    pub hi_ms: f64,
    /// Values in the bin.
    pub count: u64,
}

/// A histogram with equal-width bars (bins are usually log-spaced).
pub fn histogram(bins: &[Bin], width: u32, height: u32) -> Svg {
    if bins.is_empty() {
        return Svg::default();
    }
    let (w, h) = (width as f64, height as f64);
    let (ml, mr, mt, mb) = (46.0, 10.0, 10.0, 24.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let n = bins.len();
    let (ymax, ystep) = nice_max(bins.iter().map(|b| b.count).max().unwrap_or(0) as f64);
    let slot = pw / n as f64;
    let bw = (slot - 2.0).max(1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="latency histogram">"#
    );
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let y = mt + ph - v / ymax * ph;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{ml}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            w - mr,
            ml - 6.0,
            y + 3.5,
            tick_label(v)
        );
        v += ystep;
    }
    for (i, b) in bins.iter().enumerate() {
        let x = ml + i as f64 * slot + 1.0;
        let bh = b.count as f64 / ymax * ph;
        let _ = write!(
            s,
            r#"<g><title>{} – {}: {} calls</title><rect class="bar-hit" x="{:.1}" y="{mt}" width="{slot:.1}" height="{ph:.1}"/>"#,
            short_ms(b.lo_ms),
            short_ms(b.hi_ms),
            num(&(b.count as i64)),
            ml + i as f64 * slot
        );
        if b.count > 0 {
            let _ = write!(
                s,
                r#"<rect class="bar lat" x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"/>"#,
                mt + ph - bh,
                bh.max(1.0)
            );
        }
        s.push_str("</g>");
    }
    let every = n.div_ceil(7).max(1);
    for i in (0..n).step_by(every) {
        let _ = write!(
            s,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="start">{}</text>"#,
            ml + i as f64 * slot,
            h - 6.0,
            short_ms(bins[i].lo_ms)
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis-line" x1="{ml}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/></svg>"#,
        w - mr,
        mt + ph,
        mt + ph
    );
    Svg(s)
}

fn short_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1} s", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

/// One bar of a bar chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Label (captured data allowed: escaped).
    pub label: String,
    /// Value.
    pub value: i64,
    /// CSS class suffix, from a fixed set (`fmt::badge`, `fmt::status_class`).
    pub class: &'static str,
    /// Link, built by the dashboard (a path and percent-encoded query).
    pub href: Option<String>,
}

/// Horizontal bars with their labels and values.
pub fn hbars(bars: &[Bar], width: u32) -> Svg {
    hbars_labelled(bars, width, ((width as f64) * 0.3).min(280.0) as u32)
}

/// [`hbars`] with `label_w` pixels for the labels (long names such as cipher suites).
pub fn hbars_labelled(bars: &[Bar], width: u32, label_w: u32) -> Svg {
    if bars.is_empty() {
        return Svg::default();
    }
    let row = 24.0;
    let w = width as f64;
    let label_w = (label_w as f64).min(w * 0.6);
    let value_w = 64.0;
    let bar_w = w - label_w - value_w - 8.0;
    let h = row * bars.len() as f64 + 4.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    let total: i64 = bars.iter().map(|b| b.value).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart hbars" viewBox="0 0 {width} {h}" role="img" aria-label="bar chart">"#
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 2.0 + i as f64 * row;
        let bw = (b.value as f64 / max * bar_w).max(if b.value > 0 { 2.0 } else { 0.0 });
        if let Some(href) = &b.href {
            s.push_str(r#"<a href=""#);
            esc_into(&mut s, href);
            s.push_str(r#"">"#);
        }
        let _ = write!(
            s,
            r#"<g class="hrow"><title>{}: {} ({})</title><rect class="bar-hit" x="0" y="{y:.1}" width="{w:.1}" height="{row:.1}"/><text class="label" x="0" y="{:.1}">{}</text><rect class="hbar {}" x="{label_w:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" rx="2"/><text class="value" x="{:.1}" y="{:.1}" text-anchor="end">{}</text></g>"#,
            esc(&b.label),
            num(&b.value),
            super::fmt::pct(&b.value, &total),
            y + row / 2.0 + 4.0,
            esc(&super::fmt::trunc(&b.label, (label_w / 7.0) as usize)),
            b.class,
            y + 5.0,
            row - 10.0,
            w,
            y + row / 2.0 + 4.0,
            num(&b.value),
        );
        if b.href.is_some() {
            s.push_str("</a>");
        }
    }
    s.push_str("</svg>");
    Svg(s)
}

/// One bar split into proportional segments (a legend is drawn by the page).
pub fn stacked(bars: &[Bar], width: u32, height: u32) -> Svg {
    let total: i64 = bars.iter().map(|b| b.value.max(0)).sum();
    if total == 0 {
        return Svg::default();
    }
    let w = width as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart stacked" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="proportions">"#
    );
    let mut x = 0.0;
    for b in bars.iter().filter(|b| b.value > 0) {
        let bw = b.value as f64 / total as f64 * w;
        let _ = write!(
            s,
            r#"<rect class="seg {}" x="{x:.2}" y="0" width="{bw:.2}" height="{height}"><title>{}: {} ({})</title></rect>"#,
            b.class,
            esc(&b.label),
            num(&b.value),
            super::fmt::pct(&b.value, &total)
        );
        x += bw;
    }
    s.push_str("</svg>");
    Svg(s)
}

/// One certificate on the expiry timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct CertMark {
    /// Label, e.g. the subject's common name (captured data allowed: escaped).
    pub label: String,
    /// Tooltip (captured data allowed: escaped).
    pub title: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// CSS class from a fixed set: `valid`, `expiring`, `expired`, `notyet`.
    pub state: &'static str,
    /// Text of the right-hand column (the expiry date, and what it means).
    pub end: String,
    /// Link, built by the dashboard (a path).
    pub href: Option<String>,
}

fn date_of(secs: i64) -> (i64, u32, u32) {
    crate::time::civil_from_days(secs.div_euclid(86_400))
}

fn secs_of(y: i64, m: u32, d: u32) -> i64 {
    crate::time::days_from_civil(y, m, d).saturating_mul(86_400)
}

/// Ticks of a time axis between `t0` and `t1` (seconds): years, months or days, about ten.
fn time_ticks(t0: i64, t1: i64) -> Vec<(i64, String)> {
    let days = (t1 - t0) / 86_400;
    let mut out = Vec::new();
    if days > 3 * 365 {
        let years = days / 365 + 1;
        let step = [1, 2, 5, 10, 20, 50, 100, 200, 500]
            .into_iter()
            .find(|s| years / s <= 10)
            .unwrap_or(1000);
        let (y0, _, _) = date_of(t0);
        let mut y = y0 - y0.rem_euclid(step);
        while secs_of(y, 1, 1) <= t1 {
            let t = secs_of(y, 1, 1);
            if t >= t0 {
                out.push((t, y.to_string()));
            }
            y += step;
        }
    } else if days > 60 {
        let months = days / 30 + 1;
        let step = [1, 2, 3, 6, 12]
            .into_iter()
            .find(|s| months / s <= 12)
            .unwrap_or(12);
        let (y0, m0, _) = date_of(t0);
        let mut i = y0 * 12 + i64::from(m0) - 1;
        i -= i.rem_euclid(step);
        loop {
            let (y, m) = (i.div_euclid(12), i.rem_euclid(12) as u32 + 1);
            let t = secs_of(y, m, 1);
            if t > t1 {
                break;
            }
            if t >= t0 {
                out.push((t, format!("{y}-{m:02}")));
            }
            i += step;
        }
    } else {
        let step = (days / 10).max(1);
        let mut d = t0.div_euclid(86_400) + 1;
        while d * 86_400 <= t1 {
            let (_, m, day) = crate::time::civil_from_days(d);
            out.push((d * 86_400, format!("{m:02}-{day:02}")));
            d += step;
        }
    }
    out
}

/// Certificates on a time axis running from the earliest start of validity to the latest
/// expiry (and over `now`, seconds): one row per certificate, its validity as a line and its
/// expiry as a mark, coloured by state; a dashed line at now; the expiry in words on the right.
pub fn cert_timeline(certs: &[CertMark], now: i64, width: u32) -> Svg {
    if certs.is_empty() {
        return Svg::default();
    }
    let lo = certs
        .iter()
        .map(|c| c.not_before.min(c.not_after))
        .min()
        .unwrap_or(now)
        .min(now);
    let hi = certs
        .iter()
        .map(|c| c.not_after.max(c.not_before))
        .max()
        .unwrap_or(now)
        .max(now);
    // A little room on both sides, so marks at the ends stay whole.
    let pad = ((hi - lo) / 40).max(86_400);
    let (t0, t1) = (lo.saturating_sub(pad), hi.saturating_add(pad));
    let w = width as f64;
    let row = 26.0;
    let (mt, mb) = (22.0, 26.0);
    let label_w = (w * 0.22).min(300.0);
    let end_w = 150.0;
    let (x0, x1) = (label_w + 8.0, w - end_w);
    let h = mt + row * certs.len() as f64 + mb;
    let x = |t: i64| x0 + (t - t0) as f64 / (t1 - t0) as f64 * (x1 - x0);
    let bottom = mt + row * certs.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart timeline" viewBox="0 0 {width} {h}" role="img" aria-label="certificate expiry timeline">"#
    );
    for (t, label) in time_ticks(t0, t1) {
        let tx = x(t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{tx:.1}" x2="{tx:.1}" y1="{mt}" y2="{bottom:.1}"/><text class="axis" x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            h - 8.0,
            esc(&label)
        );
    }
    for (i, c) in certs.iter().enumerate() {
        let y = mt + i as f64 * row;
        let cy = y + row / 2.0;
        let (a, b) = (c.not_before.min(c.not_after), c.not_after);
        if let Some(href) = &c.href {
            s.push_str(r#"<a href=""#);
            esc_into(&mut s, href);
            s.push_str(r#"">"#);
        }
        let _ = write!(
            s,
            r#"<g class="cert-row {}"><title>{}</title><rect class="bar-hit" x="0" y="{y:.1}" width="{w:.1}" height="{row:.1}"/><text class="label" x="0" y="{:.1}">{}</text><line class="validity" x1="{:.1}" x2="{:.1}" y1="{cy:.1}" y2="{cy:.1}"/><circle class="mark" cx="{:.1}" cy="{cy:.1}" r="5"/><text class="value" x="{w:.1}" y="{:.1}" text-anchor="end">{}</text></g>"#,
            c.state,
            esc(&c.title),
            cy + 4.0,
            esc(&super::fmt::trunc(&c.label, (label_w / 7.0) as usize)),
            x(a),
            x(b),
            x(b),
            cy + 4.0,
            esc(&c.end),
        );
        if c.href.is_some() {
            s.push_str("</a>");
        }
    }
    let nx = x(now);
    let (y, m, d) = date_of(now);
    let _ = write!(
        s,
        r#"<line class="axis-line" x1="{x0:.1}" x2="{x1:.1}" y1="{bottom:.1}" y2="{bottom:.1}"/><g class="now"><title>now: {y}-{m:02}-{d:02}</title><line class="now-line" x1="{nx:.1}" x2="{nx:.1}" y1="{:.1}" y2="{bottom:.1}"/><text class="now-label" x="{nx:.1}" y="{:.1}" text-anchor="middle">now</text></g></svg>"#,
        mt - 4.0,
        mt - 8.0,
    );
    Svg(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis() {
        assert_eq!(nice_max(0.0), (1.0, 1.0));
        assert_eq!(nice_max(3.0), (3.0, 1.0));
        assert_eq!(nice_max(7.0), (8.0, 2.0));
        assert_eq!(nice_max(93.0), (100.0, 25.0));
        assert_eq!(nice_max(1.0), (1.0, 1.0));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = hbars(
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                value: 3,
                class: "s2",
                href: Some("/endpoints?host=%3C".into()),
            }],
            400,
        );
        assert!(!svg.as_str().contains("<script>"));
        assert!(svg.as_str().contains("&lt;script&gt;"));
        let svg = stacked(
            &[Bar {
                label: "\"><img src=x onerror=alert(1)>".into(),
                value: 1,
                class: "shadow",
                href: None,
            }],
            300,
            12,
        );
        assert!(!svg.as_str().contains("<img"));
    }

    #[test]
    fn series_buckets() {
        let pts: Vec<MinuteCount> = (0..500)
            .map(|m| MinuteCount {
                minute: 28_000_000 + m,
                count: 1,
                errors: 0,
            })
            .collect();
        let svg = time_series(&pts, 800, 200, 90);
        // 500 minutes in 10-minute buckets: 51 bars at most.
        assert!(svg.as_str().matches(r#"class="bar""#).count() <= 51);
        // Within one day the axis reads times; the tooltips the full date.
        assert!(svg.as_str().contains(">10:40</text>"), "{}", svg.as_str());
        assert!(
            svg.as_str()
                .contains("<title>2023-03-28 10:40 UTC (+10 min)")
        );
        // Traffic over 24 years: 90-day buckets labelled by month, with the year.
        let years: Vec<MinuteCount> = [0, 525_600 * 20, 525_600 * 24]
            .into_iter()
            .map(|m| MinuteCount {
                minute: 16_000_000 + m,
                count: 2,
                errors: 1,
            })
            .collect();
        let svg = time_series(&years, 1400, 200, 120);
        assert!(svg.as_str().contains("(+90 days)"), "{}", svg.as_str());
        assert!(svg.as_str().contains(">2000-04</text>"), "{}", svg.as_str());
        assert!(!svg.as_str().contains("(+74"));
        // A narrow chart prints fewer labels.
        let narrow = time_series(&pts, NARROW, 200, 36);
        assert!(narrow.as_str().matches(r#"text-anchor="middle""#).count() <= 3);
        assert!(time_series(&[], 800, 200, 90).is_empty());
        assert!(!sparkline(&[0, 3, 1], 100, 20).is_empty());
    }

    #[test]
    fn certificate_timeline() {
        let day = 86_400;
        let now = 1_800_000_000;
        let mark = |label: &str, nb: i64, na: i64, state: &'static str| CertMark {
            label: label.into(),
            title: format!("{label} tooltip"),
            not_before: nb,
            not_after: na,
            state,
            end: "2034-01-01".into(),
            href: Some("/tls/1".into()),
        };
        let svg = cert_timeline(
            &[
                mark(
                    "<script>alert(1)</script>",
                    now - 400 * day,
                    now - 30 * day,
                    "expired",
                ),
                mark("ok.example", now - 100 * day, now + 3000 * day, "valid"),
            ],
            now,
            1000,
        );
        let s = svg.as_str();
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(s.matches(r#"<circle class="mark""#).count(), 2);
        assert!(s.contains(r#"class="cert-row expired""#));
        assert!(s.contains(r#"class="now-line""#));
        assert!(s.contains(r#"<a href="/tls/1">"#));
        // Eight and a half years: year ticks.
        assert!(s.contains(">2027</text>"), "{s}");
        assert!(cert_timeline(&[], now, 1000).is_empty());
        // Short spans get months, then days.
        assert!(
            time_ticks(now, now + 200 * day)
                .iter()
                .all(|(_, l)| l.len() == 7)
        );
        assert!(
            time_ticks(now, now + 20 * day)
                .iter()
                .all(|(_, l)| l.len() == 5)
        );
    }
}
