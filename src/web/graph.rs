//! The sequence graph: endpoints as nodes, transitions as edges weighted by count, laid out in
//! layers (a simplified Sugiyama layout, deterministic) and drawn as SVG.
//!
//! 1. Cycles are broken by a depth-first search that follows the heaviest edges first; the
//!    edges it finds going back are drawn as dashed arcs below the nodes.
//! 2. Layers by longest path from the sources, with at most `max_width` nodes per layer (a
//!    node moves right when its layer is full), so 50+ nodes stay legible.
//! 3. Edges that cross several layers get a dummy slot in each, so they run between nodes.
//! 4. Order within layers by barycenter sweeps, to reduce crossings.
//! 5. Edges as curves whose width grows with the log of their count.
//!
//! Labels are cut to fit; the full text is in each node's `<title>` tooltip. All text is escaped.

use super::charts::Svg;
use super::fmt::{badge, esc, esc_into, num, trunc_start};
use std::collections::HashMap;
use std::fmt::Write;

/// A node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Endpoint id.
    pub id: i64,
    /// Method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Requests to it.
    pub requests: i64,
}

/// An edge.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Source endpoint id.
    pub from: i64,
    /// Target endpoint id.
    pub to: i64,
    /// Times a client went from one to the other.
    pub count: i64,
    /// Distinct clients that did.
    pub clients: i64,
}

/// Where each node went.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Layer (column) of each slot: the nodes (by index), then the dummies.
    pub layer: Vec<usize>,
    /// Position within its layer (row) of each slot.
    pub pos: Vec<usize>,
    /// Edges (by index into the input) that point backwards (closing a cycle) or stay in a
    /// layer.
    pub back: Vec<bool>,
    /// For each edge, the slots it goes through: its source, dummy slots (indexes from
    /// `nodes.len()` on) in the layers it crosses, its target.
    pub paths: Vec<Vec<usize>>,
    /// Slots (nodes and dummies) per layer.
    pub row_len: Vec<usize>,
    /// Number of layers.
    pub layers: usize,
    /// Slots in the fullest layer.
    pub rows: usize,
}

const NODE_W: f64 = 280.0;
const NODE_H: f64 = 30.0;
const COL_W: f64 = 350.0;
const ROW_H: f64 = 42.0;
const LANE_H: f64 = 9.0;
const LAYER_H: f64 = 78.0;
const LANE_W: f64 = 10.0;
const GAP_X: f64 = 52.0;
const MARGIN: f64 = 20.0;

/// Computes the layout. Nodes are identified by their index in `nodes`; edges whose ends are
/// not among the nodes are ignored.
pub fn layout(nodes: &[Node], edges: &[Edge], max_width: usize) -> Layout {
    let n = nodes.len();
    let index: HashMap<i64, usize> = nodes.iter().enumerate().map(|(i, x)| (x.id, i)).collect();
    let ends: Vec<Option<(usize, usize)>> = edges
        .iter()
        .map(|e| Some((*index.get(&e.from)?, *index.get(&e.to)?)))
        .collect();
    // Adjacency, heaviest edges first (ties by target index: deterministic).
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n]; // (target, edge index)
    for (k, e) in ends.iter().enumerate() {
        if let Some((a, b)) = *e
            && a != b
        {
            out[a].push((b, k));
        }
    }
    for list in &mut out {
        list.sort_by(|x, y| edges[y.1].count.cmp(&edges[x.1].count).then(x.0.cmp(&y.0)));
    }
    let mut indeg = vec![0usize; n];
    for list in &out {
        for &(b, _) in list {
            indeg[b] += 1;
        }
    }
    // 1. Depth-first search from the sources (then from the busiest unvisited nodes).
    let mut roots: Vec<usize> = (0..n).collect();
    roots.sort_by(|&a, &b| {
        (indeg[a] > 0)
            .cmp(&(indeg[b] > 0))
            .then(nodes[b].requests.cmp(&nodes[a].requests))
            .then(a.cmp(&b))
    });
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut back = vec![false; edges.len()];
    for (k, e) in ends.iter().enumerate() {
        if let Some((a, b)) = *e
            && a == b
        {
            back[k] = true;
        }
    }
    for &r in &roots {
        if state[r] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(r, 0)];
        state[r] = 1;
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            if i < out[v].len() {
                top.1 += 1;
                let (w, k) = out[v][i];
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    // 2. Layers in topological order of the forward edges, width-limited.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut fin = vec![0usize; n];
    for (k, e) in ends.iter().enumerate() {
        if let Some((a, b)) = *e
            && !back[k]
        {
            preds[b].push(a);
            succs[a].push(b);
            fin[b] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<(usize, usize)> = (0..n)
        .filter(|&v| fin[v] == 0)
        .map(|v| (roots.iter().position(|&r| r == v).unwrap_or(v), v))
        .collect();
    let rank: Vec<usize> = {
        let mut r = vec![0; n];
        for (i, &v) in roots.iter().enumerate() {
            r[v] = i;
        }
        r
    };
    let max_width = max_width.max(1);
    let mut layer = vec![0usize; n];
    let mut fill: Vec<usize> = Vec::new();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    while let Some(&first) = ready.iter().next() {
        ready.remove(&first);
        let v = first.1;
        let mut l = preds[v].iter().map(|&p| layer[p] + 1).max().unwrap_or(0);
        while fill.get(l).copied().unwrap_or(0) >= max_width {
            l += 1;
        }
        if fill.len() <= l {
            fill.resize(l + 1, 0);
        }
        fill[l] += 1;
        layer[v] = l;
        order.push(v);
        for &s in &succs[v] {
            fin[s] -= 1;
            if fin[s] == 0 {
                ready.insert((rank[s], s));
            }
        }
    }
    let layers = fill.len();
    // 3. Long forward edges get a chain of dummy nodes, one per layer they cross, so they are
    //    routed between nodes instead of over them.
    for (k, e) in ends.iter().enumerate() {
        if let Some((a, b)) = *e
            && layer[b] <= layer[a]
        {
            back[k] = true;
        }
    }
    let mut slot_layer = layer.clone();
    let mut paths: Vec<Vec<usize>> = vec![Vec::new(); edges.len()];
    for (k, e) in ends.iter().enumerate() {
        let Some((a, b)) = *e else { continue };
        if back[k] {
            paths[k] = vec![a, b];
            continue;
        }
        let mut path = vec![a];
        for l in layer[a] + 1..layer[b] {
            slot_layer.push(l);
            path.push(slot_layer.len() - 1);
        }
        path.push(b);
        paths[k] = path;
    }
    let total = slot_layer.len();
    // 4. Order within layers: start in topological order, then barycenter sweeps over the
    //    neighbours in the adjacent layer.
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for &v in &order {
        rows[layer[v]].push(v);
    }
    for d in n..total {
        rows[slot_layer[d]].push(d);
    }
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for path in &paths {
        for w in path.windows(2) {
            if slot_layer[w[1]] == slot_layer[w[0]] + 1 {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
    }
    let mut pos = vec![0usize; total];
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let place = |rows: &Vec<Vec<usize>>, pos: &mut Vec<usize>| {
        for r in rows {
            for (i, &v) in r.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    place(&rows, &mut pos);
    // Positions on a common scale: rows are centered vertically.
    let center = |v: usize, rows: &Vec<Vec<usize>>, pos: &Vec<usize>| {
        let len = rows[slot_layer[v]].len();
        (tallest - len) as f64 / 2.0 + pos[v] as f64
    };
    for sweep in 0..16 {
        let downward = sweep % 2 == 0;
        let seq: Vec<usize> = if downward {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for l in seq {
            let mut keyed: Vec<(f64, usize, usize)> = rows[l]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let side = if downward { &up[v] } else { &down[v] };
                    let key = if side.is_empty() {
                        center(v, &rows, &pos)
                    } else {
                        side.iter().map(|&w| center(w, &rows, &pos)).sum::<f64>()
                            / side.len() as f64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            rows[l] = keyed.into_iter().map(|k| k.2).collect();
            for (i, &v) in rows[l].iter().enumerate() {
                pos[v] = i;
            }
        }
    }
    let row_len = rows.iter().map(Vec::len).collect();
    Layout {
        layer: slot_layer,
        pos,
        back,
        paths,
        row_len,
        layers,
        rows: tallest,
    }
}

/// Direction of the layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Layers are columns, flow goes right (wide graphs).
    LeftRight,
    /// Layers are rows, flow goes down (long chains).
    TopDown,
}

/// Width the page gives the graph before it scrolls.
const FIT_WIDTH: f64 = 1360.0;

/// Draws the graph; nodes link to their endpoint pages. Left to right, unless only top down
/// fits the page (long chains).
pub fn draw(nodes: &[Node], edges: &[Edge]) -> Svg {
    if nodes.is_empty() {
        return Svg::default();
    }
    let max_width = ((nodes.len() as f64) * 4.0).sqrt().ceil().max(6.0) as usize;
    let lay = layout(nodes, edges, max_width);
    let lr = place(&lay, nodes.len(), Direction::LeftRight);
    let tb = place(&lay, nodes.len(), Direction::TopDown);
    let chosen = if lr.width > FIT_WIDTH && tb.width <= FIT_WIDTH {
        tb
    } else {
        lr
    };
    render(nodes, edges, &lay, &chosen)
}

/// Slot rectangles of a layout in one direction.
struct Placed {
    dir: Direction,
    /// Top-left corner and size of every slot.
    rects: Vec<(f64, f64, f64, f64)>,
    width: f64,
    height: f64,
    /// The far edge of the nodes, across the layers (where back edges are routed).
    body: f64,
}

fn place(lay: &Layout, n: usize, dir: Direction) -> Placed {
    let slots = lay.layer.len();
    let mut by_layer: Vec<Vec<usize>> = vec![Vec::new(); lay.layers];
    for v in 0..slots {
        by_layer[lay.layer[v]].push(v);
    }
    // Size of a slot along the layer, and the size of a node across and along.
    let (along_node, along_lane) = match dir {
        Direction::LeftRight => (ROW_H, LANE_H),
        Direction::TopDown => (NODE_W + GAP_X, LANE_W),
    };
    let mut offset = vec![0.0f64; slots];
    let mut extent = vec![0.0f64; lay.layers];
    for (l, members) in by_layer.iter_mut().enumerate() {
        members.sort_by_key(|&v| lay.pos[v]);
        let mut at = 0.0;
        for &v in members.iter() {
            offset[v] = at;
            at += if v < n { along_node } else { along_lane };
        }
        extent[l] = at;
    }
    let widest = extent.iter().copied().fold(along_node, f64::max);
    let has_back = lay.back.iter().any(|b| *b);
    let mut rects = Vec::with_capacity(slots);
    for (v, (&l, &off)) in lay.layer.iter().zip(&offset).enumerate() {
        let along = MARGIN + (widest - extent[l]) / 2.0 + off;
        let across = MARGIN
            + l as f64
                * if dir == Direction::LeftRight {
                    COL_W
                } else {
                    LAYER_H
                };
        rects.push(match (dir, v < n) {
            (Direction::LeftRight, true) => (across, along, NODE_W, NODE_H),
            (Direction::LeftRight, false) => (across, along, NODE_W, LANE_H),
            (Direction::TopDown, true) => (along, across, NODE_W, NODE_H),
            (Direction::TopDown, false) => (along, across, LANE_W, NODE_H),
        });
    }
    let gaps = lay.layers.saturating_sub(1) as f64;
    let back_room = if has_back { 80.0 } else { 0.0 };
    match dir {
        Direction::LeftRight => Placed {
            dir,
            rects,
            width: MARGIN * 2.0 + gaps * COL_W + NODE_W + 40.0,
            height: MARGIN * 2.0 + widest + back_room,
            body: MARGIN + widest,
        },
        Direction::TopDown => Placed {
            dir,
            rects,
            width: MARGIN * 2.0 + widest + back_room,
            height: MARGIN * 2.0 + gaps * LAYER_H + NODE_H + 20.0,
            body: MARGIN + widest,
        },
    }
}

fn render(nodes: &[Node], edges: &[Edge], lay: &Layout, p: &Placed) -> Svg {
    let lr = p.dir == Direction::LeftRight;
    let (width, height) = (p.width, p.height);
    let max_count = edges.iter().map(|e| e.count).max().unwrap_or(1).max(1) as f64;
    let out_port = |v: usize| {
        let (x, y, w, h) = p.rects[v];
        if lr {
            (x + w, y + h / 2.0)
        } else {
            (x + w / 2.0, y + h)
        }
    };
    let in_port = |v: usize| {
        let (x, y, w, h) = p.rects[v];
        if lr {
            (x, y + h / 2.0)
        } else {
            (x + w / 2.0, y)
        }
    };
    let curve = |d: &mut String, (px, py): (f64, f64), (qx, qy): (f64, f64)| {
        if lr {
            let dx = (qx - px) / 2.0;
            let _ = write!(
                d,
                " C{:.1},{py:.1} {:.1},{qy:.1} {qx:.1},{qy:.1}",
                px + dx,
                qx - dx
            );
        } else {
            let dy = (qy - py) / 2.0;
            let _ = write!(
                d,
                " C{px:.1},{:.1} {qx:.1},{:.1} {qx:.1},{qy:.1}",
                py + dy,
                qy - dy
            );
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="graph" id="seq-graph" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="transitions between endpoints"><defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path class="arrow" d="M0,0 L10,5 L0,10 z"/></marker><marker id="arr-back" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path class="arrow-back" d="M0,0 L10,5 L0,10 z"/></marker></defs><g class="edges">"#
    );
    let label = |v: usize| format!("{} {}", nodes[v].method, nodes[v].path);
    // Lightest edges first, so heavy ones are drawn on top.
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by(|&a, &b| edges[a].count.cmp(&edges[b].count).then(a.cmp(&b)));
    let span = if lr { width } else { height };
    for k in order {
        let e = &edges[k];
        let path = &lay.paths[k];
        let (Some(&a), Some(&b)) = (path.first(), path.last()) else {
            continue;
        };
        let mut sw = 1.0 + 3.5 * (e.count as f64).ln() / max_count.ln().max(1.0);
        if a == b {
            sw = sw.min(2.0);
        }
        let (ax, ay, aw, ah) = p.rects[a];
        let (bx, by, bw, bh) = p.rects[b];
        let mut d = String::new();
        if a == b {
            if lr {
                let x = ax + aw - 34.0;
                let _ = write!(
                    d,
                    "M{x:.1},{ay:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x - 4.0,
                    ay - 22.0,
                    x + 26.0,
                    ay - 22.0,
                    x + 20.0,
                    ay - 1.0
                );
            } else {
                let x = ax + aw;
                let _ = write!(
                    d,
                    "M{x:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    ay + 7.0,
                    x + 34.0,
                    ay - 8.0,
                    x + 34.0,
                    ay + ah + 8.0,
                    x + 1.0,
                    ay + ah - 7.0
                );
            }
        } else if lay.back[k] {
            // Around the far side of the nodes, further out for longer jumps.
            if lr {
                let (sx, tx) = (ax + aw / 2.0, bx + bw / 2.0 + 8.0);
                let dip = p.body + 12.0 + 50.0 * ((sx - tx).abs() / span).min(1.0);
                let _ = write!(
                    d,
                    "M{sx:.1},{:.1} C{sx:.1},{dip:.1} {tx:.1},{dip:.1} {tx:.1},{:.1}",
                    ay + ah,
                    by + bh + 1.0
                );
            } else {
                let (sy, ty) = (ay + ah / 2.0, by + bh / 2.0 + 6.0);
                let out = p.body + 12.0 + 50.0 * ((sy - ty).abs() / span).min(1.0);
                let _ = write!(
                    d,
                    "M{:.1},{sy:.1} C{out:.1},{sy:.1} {out:.1},{ty:.1} {:.1},{ty:.1}",
                    ax + aw,
                    bx + bw + 1.0
                );
            }
        } else {
            // Through the dummy slots, one curve per layer crossed.
            let mut at = out_port(a);
            let _ = write!(d, "M{:.1},{:.1}", at.0, at.1);
            for &v in path.iter().skip(1) {
                let to = in_port(v);
                curve(&mut d, at, to);
                if v >= nodes.len() {
                    at = out_port(v);
                    let _ = write!(d, " L{:.1},{:.1}", at.0, at.1);
                } else {
                    at = to;
                }
            }
        }
        let (class, marker) = if a == b {
            (" self", "arr-back")
        } else if lay.back[k] {
            (" back", "arr-back")
        } else {
            ("", "arr")
        };
        let _ = write!(
            s,
            r#"<path class="edge{class}" data-f="{a}" data-t="{b}" d="{d}" stroke-width="{sw:.2}" marker-end="url(#{marker})"><title>"#,
        );
        esc_into(&mut s, &label(a));
        s.push_str(" → ");
        esc_into(&mut s, &label(b));
        let _ = write!(
            s,
            ": {} times, {} clients</title></path>",
            num(&e.count),
            num(&e.clients)
        );
    }
    s.push_str(r#"</g><g class="nodes">"#);
    let path_chars = ((NODE_W - 62.0 - 34.0) / 6.9) as usize;
    for (v, node) in nodes.iter().enumerate() {
        let (x, y, _, _) = p.rects[v];
        let _ = write!(
            s,
            r#"<a href="/endpoints/{}"><g class="node" data-n="{v}"><title>"#,
            node.id
        );
        esc_into(&mut s, &label(v));
        let _ = write!(
            s,
            r#" ({} requests)</title><rect x="{x:.1}" y="{y:.1}" width="{NODE_W}" height="{NODE_H}" rx="5"/><rect class="m m-{}" x="{:.1}" y="{:.1}" width="50" height="{:.1}" rx="3"/><text class="mt" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="pt" x="{:.1}" y="{:.1}">{}</text><text class="ct" x="{:.1}" y="{:.1}" text-anchor="end">{}</text></g></a>"#,
            num(&node.requests),
            badge(&node.method),
            x + 4.0,
            y + 5.0,
            NODE_H - 10.0,
            x + 29.0,
            y + NODE_H / 2.0 + 3.5,
            esc(&trunc_start(&node.method, 7)),
            x + 60.0,
            y + NODE_H / 2.0 + 4.0,
            esc(&trunc_middle(&node.path, path_chars)),
            x + NODE_W - 6.0,
            y + NODE_H / 2.0 + 4.0,
            super::fmt::short(&node.requests),
        );
    }
    s.push_str("</g></svg>");
    Svg::new(s)
}

/// Cuts a path to `max` characters in the middle, keeping its start and its end.
fn trunc_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return trunc_start(s, max);
    }
    let head = (max - 1) * 2 / 5;
    let tail = max - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64) -> Node {
        Node {
            id,
            method: "GET".into(),
            path: format!("/n/{id}"),
            requests: 100 - id,
        }
    }

    fn edge(from: i64, to: i64, count: i64) -> Edge {
        Edge {
            from,
            to,
            count,
            clients: 1,
        }
    }

    #[test]
    fn chain_goes_left_to_right_and_cycles_go_back() {
        let nodes: Vec<Node> = (1..=4).map(node).collect();
        let edges = vec![edge(1, 2, 10), edge(2, 3, 5), edge(3, 4, 5), edge(4, 2, 1)];
        let l = layout(&nodes, &edges, 10);
        assert_eq!(l.layer, vec![0, 1, 2, 3]);
        assert_eq!(l.back, vec![false, false, false, true]);
    }

    #[test]
    fn wide_layers_are_split_and_layout_is_deterministic() {
        let mut nodes = vec![node(0)];
        let mut edges = Vec::new();
        for i in 1..=60 {
            nodes.push(node(i));
            edges.push(edge(0, i, i));
        }
        let a = layout(&nodes, &edges, 12);
        let b = layout(&nodes, &edges, 12);
        assert_eq!(a, b);
        for l in 0..a.layers {
            assert!(a.layer[..nodes.len()].iter().filter(|&&x| x == l).count() <= 12);
        }
        // Edges that cross layers go through one dummy slot per layer crossed.
        for p in &a.paths {
            for w in p.windows(2) {
                assert_eq!(a.layer[w[1]], a.layer[w[0]] + 1);
            }
        }
        for (k, e) in edges.iter().enumerate() {
            let (f, t) = (e.from as usize, e.to as usize);
            assert!(a.layer[t] > a.layer[f], "edge {k} goes forward");
        }
        let svg = draw(&nodes, &edges);
        assert_eq!(svg.as_str().matches("<g class=\"node\"").count(), 61);
    }

    #[test]
    fn labels_are_escaped() {
        let nodes = vec![
            Node {
                id: 1,
                method: "GET".into(),
                path: "/\"><img src=x onerror=alert(1)>".into(),
                requests: 1,
            },
            Node {
                id: 2,
                method: "<script>".into(),
                path: "/<script>alert(1)</script>".into(),
                requests: 1,
            },
        ];
        let svg = draw(&nodes, &[edge(1, 2, 3)]);
        assert!(!svg.as_str().contains("<img"));
        assert!(!svg.as_str().contains("<script"));
        assert!(svg.as_str().contains("&lt;script&gt;"));
    }
}
