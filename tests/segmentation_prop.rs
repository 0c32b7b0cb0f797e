//! Property: however the two byte streams of a connection are cut into segments, reordered
//! (within what causality allows: a response after its request) and duplicated, the engine
//! yields the same transactions, with no gaps.

mod support;

use proptest::prelude::*;
use support::*;

#[derive(Clone, Debug)]
struct Exchange {
    method: &'static str,
    path: String,
    req_body: Vec<u8>,
    req_chunked: Option<Vec<usize>>,
    status: u16,
    resp_body: Vec<u8>,
    resp_chunked: Option<Vec<usize>>,
}

fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

impl Exchange {
    fn request(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: prop.test\r\n",
            self.method, self.path
        )
        .into_bytes();
        match &self.req_chunked {
            Some(sizes) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                out.extend_from_slice(&chunked(&self.req_body, sizes));
            }
            None => {
                if !self.req_body.is_empty() {
                    out.extend_from_slice(
                        format!("Content-Length: {}\r\n", self.req_body.len()).as_bytes(),
                    );
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.req_body);
            }
        }
        out
    }

    fn response(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} X\r\n", self.status).into_bytes();
        let no_body = self.method == "HEAD" || self.status == 204 || self.status == 304;
        match &self.resp_chunked {
            Some(sizes) if !no_body => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                out.extend_from_slice(&chunked(&self.resp_body, sizes));
            }
            _ => {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.resp_body.len()).as_bytes(),
                );
                if !no_body {
                    out.extend_from_slice(&self.resp_body);
                }
            }
        }
        out
    }

    fn expected(&self) -> (String, u64, u64) {
        let no_body = self.method == "HEAD" || self.status == 204 || self.status == 304;
        let resp_len = if no_body {
            0
        } else {
            self.resp_body.len() as u64
        };
        (
            format!("{} {} -> {}", self.method, self.path, self.status),
            self.req_body.len() as u64,
            resp_len,
        )
    }
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "HEAD", "DELETE", "PATCH"]),
        "/[a-z]{1,8}(/[0-9]{1,4})?",
        prop::collection::vec(any::<u8>(), 0..1500),
        prop::option::of(prop::collection::vec(1usize..700, 1..4)),
        prop::sample::select(vec![200u16, 201, 204, 304, 404, 500]),
        prop::collection::vec(any::<u8>(), 0..3000),
        prop::option::of(prop::collection::vec(1usize..900, 1..4)),
    )
        .prop_map(
            |(method, path, req_body, req_chunked, status, resp_body, resp_chunked)| {
                let req_body = if matches!(method, "GET" | "HEAD" | "DELETE") {
                    Vec::new()
                } else {
                    req_body
                };
                let req_chunked = if req_body.is_empty() {
                    None
                } else {
                    req_chunked
                };
                Exchange {
                    method,
                    path,
                    req_body,
                    req_chunked,
                    status,
                    resp_body,
                    resp_chunked,
                }
            },
        )
}

/// How one burst (the bytes one side sends before waiting) is cut and shuffled.
#[derive(Clone, Debug)]
struct Cutting {
    sizes: Vec<usize>,
    order_seed: Vec<u32>,
    dups: Vec<(usize, usize)>,
}

fn cutting() -> impl Strategy<Value = Cutting> {
    (
        prop::collection::vec(1usize..1600, 1..12),
        prop::collection::vec(any::<u32>(), 0..40),
        prop::collection::vec((0usize..64, 0usize..64), 0..4),
    )
        .prop_map(|(sizes, order_seed, dups)| Cutting {
            sizes,
            order_seed,
            dups,
        })
}

/// Segments `data` from one side by `cut`, shuffles and duplicates them, and records them.
fn send_burst(c: &mut Conv, from_client: bool, data: &[u8], cut: &Cutting) {
    let mut segs = Vec::new();
    let mut rest = data;
    let mut i = 0;
    let (mut seq, ack) = if from_client {
        (c.cseq, c.sseq)
    } else {
        (c.sseq, c.cseq)
    };
    while !rest.is_empty() {
        let n = cut.sizes[i % cut.sizes.len()].min(rest.len());
        segs.push(c.segment(from_client, seq, ack, ACK | PSH, &rest[..n]));
        seq = seq.wrapping_add(n as u32);
        rest = &rest[n..];
        i += 1;
    }
    if from_client {
        c.cseq = seq;
    } else {
        c.sseq = seq;
    }
    // Fisher-Yates driven by the generated seeds.
    for (k, r) in cut.order_seed.iter().enumerate() {
        if segs.len() < 2 {
            break;
        }
        let a = k % segs.len();
        let b = (*r as usize) % segs.len();
        segs.swap(a, b);
    }
    for &(from, to) in &cut.dups {
        if !segs.is_empty() {
            let copy = segs[from % segs.len()].clone();
            let at = to % (segs.len() + 1);
            segs.insert(at, copy);
        }
    }
    for s in segs {
        c.push(s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn any_segmentation_gives_the_same_transactions(
        exchanges in prop::collection::vec(exchange(), 1..5),
        pipelined in any::<bool>(),
        cuts in prop::collection::vec(cutting(), 10),
        isn in (any::<u32>(), any::<u32>()),
    ) {
        let mut c = Conv::with_isn("10.1.0.1:41000", "10.1.0.2:80", isn.0, isn.1);
        c.handshake();
        let mut k = 0;
        let mut next_cut = || { k += 1; cuts[k % cuts.len()].clone() };
        if pipelined {
            let reqs: Vec<u8> = exchanges.iter().flat_map(|e| e.request()).collect();
            send_burst(&mut c, true, &reqs, &next_cut());
            let resps: Vec<u8> = exchanges.iter().flat_map(|e| e.response()).collect();
            send_burst(&mut c, false, &resps, &next_cut());
        } else {
            for e in &exchanges {
                send_burst(&mut c, true, &e.request(), &next_cut());
                send_burst(&mut c, false, &e.response(), &next_cut());
            }
        }
        c.close();
        let (txs, stats) = run(&c.frames);
        let got: Vec<(String, u64, u64)> = txs
            .iter()
            .map(|t| {
                let s = summary(t);
                let s = s.split(" [").next().unwrap_or("").to_string();
                (s, t.request.as_ref().map_or(0, |r| r.body.len), t.response.as_ref().map_or(0, |r| r.body.len))
            })
            .collect();
        let want: Vec<(String, u64, u64)> = exchanges.iter().map(Exchange::expected).collect();
        prop_assert_eq!(got, want);
        for (t, e) in txs.iter().zip(&exchanges) {
            prop_assert_eq!(&t.request.as_ref().unwrap().body.sample, &e.req_body);
            prop_assert!(!t.tags.contains(shadowtap::http::Tags::GAP));
        }
        prop_assert_eq!(stats.tcp.gaps, 0);
        prop_assert_eq!(stats.flows_now, 0);
        prop_assert_eq!(stats.reassembly_bytes_now, 0);
    }
}
