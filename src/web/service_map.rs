//! The service map: which clients call which hosts, drawn as a bipartite SVG — clients in a
//! column on the left (busiest first), hosts on the right (ordered by the mean position of
//! their clients, so edges cross less), one curve per (client, host) pair whose width grows with
//! the log of its requests.
//!
//! The drawing has a fixed `viewBox` width and scales to its container; labels are cut to fit
//! their column with the full text in a `<title>`. All text is escaped; host nodes link to
//! their pages (percent-encoded).

use super::charts::Svg;
use super::fmt::{esc, esc_into, num, qs, trunc};
use crate::store::dashboard::ServiceEdge;
use std::collections::HashMap;
use std::fmt::Write;

const WIDTH: f64 = 1000.0;
const ROW: f64 = 26.0;
const NODE_W: f64 = 250.0;
const NODE_H: f64 = 20.0;
const TOP: f64 = 24.0;

/// The link of a host's page: `/hosts/{host}`, percent-encoded.
pub fn host_href(host: &str) -> String {
    format!("/hosts/{}", qs(host))
}

/// Draws `edges`; `focus` is the host whose neighbourhood this is (drawn highlighted).
pub fn draw(edges: &[ServiceEdge], focus: Option<&str>) -> Svg {
    if edges.is_empty() {
        return Svg::default();
    }
    // Clients by requests, busiest first.
    let mut client_total: HashMap<&str, i64> = HashMap::new();
    let mut host_total: HashMap<&str, i64> = HashMap::new();
    for e in edges {
        *client_total.entry(&e.client).or_default() += e.requests;
        *host_total.entry(&e.host).or_default() += e.requests;
    }
    let mut clients: Vec<(&str, i64)> = client_total.into_iter().collect();
    clients.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let n = clients.len().max(host_total.len()) as f64;
    let height = TOP * 2.0 + n * ROW;
    let slot = |i: usize, count: usize| TOP + (i as f64 + 0.5) * (n * ROW) / count as f64;
    let client_y: HashMap<&str, f64> = clients
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, slot(i, clients.len())))
        .collect();
    // Hosts by the weighted mean position of their clients; the focused host first on ties.
    let mut bary: HashMap<&str, (f64, f64)> = HashMap::new();
    for e in edges {
        let w = (e.requests.max(1) as f64).ln_1p();
        let b = bary.entry(&e.host).or_default();
        b.0 += client_y[e.client.as_str()] * w;
        b.1 += w;
    }
    let mut hosts: Vec<(&str, i64, f64)> = host_total
        .iter()
        .map(|(h, t)| {
            let (s, w) = bary[h];
            (*h, *t, if w > 0.0 { s / w } else { 0.0 })
        })
        .collect();
    hosts.sort_by(|a, b| {
        a.2.total_cmp(&b.2)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.0.cmp(b.0))
    });
    let host_y: HashMap<&str, f64> = hosts
        .iter()
        .enumerate()
        .map(|(i, (h, _, _))| (*h, slot(i, hosts.len())))
        .collect();
    let max = edges.iter().map(|e| e.requests).max().unwrap_or(1).max(1) as f64;
    let (x_client, x_host) = (NODE_W, WIDTH - NODE_W);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="svc-map" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="service map: which clients call which hosts">"#
    );
    let _ = write!(
        s,
        r#"<text class="svc-head" x="0" y="14">clients ({})</text><text class="svc-head" x="{WIDTH}" y="14" text-anchor="end">hosts ({})</text>"#,
        clients.len(),
        hosts.len()
    );
    // Edges below the nodes.
    for e in edges {
        let (y1, y2) = (client_y[e.client.as_str()], host_y[e.host.as_str()]);
        let w = 1.0 + 5.0 * (e.requests.max(1) as f64).ln_1p() / max.ln_1p();
        let mid = (x_client + x_host) / 2.0;
        let class = if focus == Some(e.host.as_str()) {
            "svc-edge focus"
        } else {
            "svc-edge"
        };
        let _ = write!(
            s,
            r#"<path class="{class}" d="M{x_client:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x_host:.1},{y2:.1}" stroke-width="{w:.1}"><title>{} → {}: {} requests</title></path>"#,
            esc(&e.client),
            esc(&e.host),
            num(&e.requests)
        );
    }
    let chars = (NODE_W / 7.2) as usize;
    for (c, total) in &clients {
        let y = client_y[c];
        let _ = write!(
            s,
            r#"<g class="svc-node client"><title>{}: {} requests</title><rect x="0" y="{:.1}" width="{NODE_W}" height="{NODE_H}" rx="4"/><text x="8" y="{:.1}">{}</text></g>"#,
            esc(c),
            num(total),
            y - NODE_H / 2.0,
            y + 4.0,
            esc(&trunc(c, chars))
        );
    }
    for (h, total, _) in &hosts {
        let y = host_y[h];
        s.push_str(r#"<a href=""#);
        esc_into(&mut s, &host_href(h));
        let class = if focus == Some(*h) {
            "svc-node host focus"
        } else {
            "svc-node host"
        };
        let _ = write!(
            s,
            r#""><g class="{class}"><title>{}: {} requests</title><rect x="{x_host:.1}" y="{:.1}" width="{NODE_W}" height="{NODE_H}" rx="4"/><text x="{:.1}" y="{:.1}">{}</text></g></a>"#,
            esc(h),
            num(total),
            y - NODE_H / 2.0,
            x_host + 8.0,
            y + 4.0,
            esc(&trunc(h, chars))
        );
    }
    s.push_str("</svg>");
    Svg::new(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(c: &str, h: &str, n: i64) -> ServiceEdge {
        ServiceEdge {
            client: c.into(),
            host: h.into(),
            requests: n,
        }
    }

    #[test]
    fn draws_every_pair_escaped_and_linked() {
        let svg = draw(
            &[
                edge("10.0.0.1", "api.test", 10),
                edge("10.0.0.2", "api.test", 1),
                edge("<script>alert(1)</script>", "\"><img src=x>", 3),
            ],
            Some("api.test"),
        );
        let s = svg.as_str();
        assert_eq!(s.matches("<path class=\"svc-edge").count(), 3);
        assert_eq!(s.matches("class=\"svc-node client\"").count(), 3);
        assert_eq!(s.matches("<a href=\"/hosts/").count(), 2);
        assert!(s.contains("href=\"/hosts/api.test\""));
        assert!(s.contains("/hosts/%22%3E%3Cimg%20src%3Dx%3E"));
        assert!(!s.contains("<script>") && !s.contains("<img"));
        assert!(s.contains("svc-node host focus"));
        assert!(draw(&[], None).is_empty());
    }
}
