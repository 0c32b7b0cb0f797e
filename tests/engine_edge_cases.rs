//! End-to-end behaviour of the engine on hand-built packets: each test is one edge case of TCP
//! reassembly or HTTP framing, asserting the exact transactions that come out.

mod support;

use shadowtap::capture::LinkType;
use shadowtap::engine::EngineConfig;
use shadowtap::time::Timestamp;
use support::*;

#[test]
fn simple_exchange_fields() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/users/7?x=1"), 1460);
    c.wait_us(2500);
    let request_end = c.frames.last().unwrap().ts;
    c.server_send(&ok("hello"), 1460);
    let response_start = c.frames.last().unwrap().ts;
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /users/7?x=1 -> 200"]);
    let t = &txs[0];
    assert_eq!(t.orig.to_string(), "10.0.0.1:40000");
    assert_eq!(t.resp.to_string(), "10.0.0.2:80");
    assert_eq!(t.depth, 1);
    assert_eq!(
        t.request.as_ref().unwrap().head.header("host"),
        Some(&b"api.example.com"[..])
    );
    let resp = t.response.as_ref().unwrap();
    assert_eq!(
        (resp.body.len, resp.body.sample.as_slice()),
        (5, &b"hello"[..])
    );
    // last request byte to first response byte
    assert_eq!(
        t.latency_ns(),
        Some(response_start.nanos_since(request_end))
    );
    assert_eq!(t.latency_ns(), Some(2_510_000));
    assert_eq!(stats.tcp.flows_closed_fin, 1);
    assert_eq!(stats.http.transactions, 1);
    assert_eq!(stats.tcp.gaps, 0);
}

#[test]
fn out_of_order_and_duplicates_give_the_same_result() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/a"), 1460);
    let body = "x".repeat(3000);
    let mut resp = c.pieces(false, &ok(&body), 500);
    resp.reverse();
    let dup = resp[2].clone();
    resp.insert(0, dup);
    for p in resp {
        c.push(p);
    }
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /a -> 200"]);
    assert_eq!(txs[0].response.as_ref().unwrap().body.len, 3000);
    assert!(
        txs[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .sample
            .iter()
            .all(|&b| b == b'x')
    );
    assert!(stats.tcp.out_of_order_segments >= 5);
    assert_eq!(stats.tcp.retransmitted_segments, 1);
    assert_eq!(stats.tcp.gaps, 0);
}

#[test]
fn conflicting_overlap_keeps_first_copy_and_is_counted() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    let req = get("/first");
    let (seq, ack) = (c.cseq, c.sseq);
    // Bytes 20.. arrive first; then a segment from 0 overlapping them with different content.
    let late = c.segment(true, seq + 20, ack, ACK | PSH, &req[20..]);
    c.push(late);
    let mut forged = req[..30].to_vec();
    forged[25] = b'Z';
    let early = c.segment(true, seq, ack, ACK | PSH, &forged);
    c.push(early);
    c.cseq += req.len() as u32;
    c.server_send(&ok(""), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /first -> 200"]);
    assert_eq!(
        txs[0].request.as_ref().unwrap().head.header("host"),
        Some(&b"api.example.com"[..])
    );
    assert_eq!(stats.tcp.overlap_conflicts, 1);
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut c = Conv::with_isn("10.0.0.1:40000", "10.0.0.2:80", u32::MAX - 10, u32::MAX - 3);
    c.handshake();
    c.exchange(&get("/wrap"), &ok(&"y".repeat(2000)), 100);
    c.exchange(&get("/again"), &ok("z"), 100);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /wrap -> 200", "GET /again -> 200"]);
    assert_eq!(txs[0].response.as_ref().unwrap().body.len, 2000);
    assert_eq!(stats.tcp.gaps, 0);
}

#[test]
fn midstream_pickup_between_messages_and_inside_a_body() {
    // The capture starts after the handshake, between two requests.
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:8080");
    c.exchange(&get("/one"), &ok("1"), 1460);
    c.exchange(&get("/two"), &ok("22"), 1460);
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        ["GET /one -> 200 [resync]", "GET /two -> 200"]
    );
    assert_eq!(stats.tcp.flows_midstream, 1);
    assert_eq!(txs[0].orig.port, 40000);

    // The capture starts inside a response body: its tail is skipped, the next exchange is whole.
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:8080");
    let body = "b".repeat(4000);
    let resp = ok(&body);
    c.server_send(&resp[2000..], 1000);
    c.exchange(&get("/next"), &ok("n"), 1460);
    let (txs, _) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /next -> 200 [resync]"]);
}

#[test]
fn roles_come_from_content_when_the_server_port_is_higher() {
    // Client on port 80 talking to a server on 50000: no SYN, so only content tells.
    let mut c = Conv::new("10.0.0.9:80", "10.0.0.1:50000");
    c.exchange(&get("/odd"), &ok("ok"), 1460);
    let (txs, _) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /odd -> 200 [resync]"]);
    assert_eq!(txs[0].orig.port, 80);
    assert_eq!(txs[0].resp.port, 50000);
}

#[test]
fn capture_starting_with_a_response_swaps_roles() {
    // The SYN says 10.0.0.1 opened the connection, but its first bytes are a response (the
    // handshake was seen from a tap that swapped directions): content wins.
    let mut c = Conv::new("10.0.0.1:80", "10.0.0.2:40000");
    c.handshake();
    c.exchange(&ok("x"), &get("/late"), 1460);
    c.exchange(&get("/real"), &ok("y"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(stats.http.role_swaps, 1);
    assert!(
        summaries(&txs).contains(&"- - -> 200 [no_request]".to_string()),
        "{:?}",
        summaries(&txs)
    );
}

#[test]
fn gap_inside_a_body_is_tagged_and_the_next_request_is_whole() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/big"), 1460);
    let body = "q".repeat(5000);
    let segs = c.pieces(false, &ok(&body), 1000);
    for (i, s) in segs.into_iter().enumerate() {
        if i != 2 {
            c.push(s); // segment 2 is never captured
        }
    }
    c.acks();
    c.exchange(&get("/after"), &ok("fine"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        ["GET /big -> 200 [gap]", "GET /after -> 200"]
    );
    let b = &txs[0].response.as_ref().unwrap().body;
    assert_eq!((b.len, b.gap_bytes), (5000, 1000));
    assert_eq!(stats.tcp.gaps, 1);
    assert_eq!(stats.tcp.gap_bytes, 1000);
}

#[test]
fn lost_response_head_is_paired_by_acknowledgments() {
    // Keep-alive: the first response's head segment is lost. Without acknowledgment evidence the
    // second response would be paired with the first request and everything would shift.
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/r1"), 1460);
    let resp1 = status(201, &"a".repeat(3000));
    let segs = c.pieces(false, &resp1, 1000);
    for (i, s) in segs.into_iter().enumerate() {
        if i != 0 {
            c.push(s);
        }
    }
    c.acks();
    c.exchange(&get("/r2"), &status(202, "b"), 1460);
    c.exchange(&get("/r3"), &status(203, "c"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "GET /r1 -> - [gap,no_response]",
            "GET /r2 -> 202 [resync]",
            "GET /r3 -> 203"
        ]
    );
    assert_eq!(stats.http.ack_paired, 1);
}

#[test]
fn pipelined_requests_pair_first_in_first_out() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    let reqs = [get("/p1"), get("/p2"), get("/p3")].concat();
    c.client_send(&reqs, 1460);
    let resps = [status(200, "one"), status(404, ""), status(500, "three")].concat();
    c.server_send(&resps, 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "GET /p1 -> 200",
            "GET /p2 -> 404 [pipelined]",
            "GET /p3 -> 500 [pipelined]"
        ]
    );
    assert_eq!(txs.iter().map(|t| t.depth).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(stats.http.pipelined, 2);
}

#[test]
fn chunked_with_trailers_one_byte_per_segment() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(
        b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n",
        1,
    );
    c.server_send(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        1,
    );
    c.exchange(&get("/next"), &ok("k"), 7);
    c.close();
    let (txs, _) = run(&c.frames);
    assert_eq!(summaries(&txs), ["POST /upload -> 200", "GET /next -> 200"]);
    let req = txs[0].request.as_ref().unwrap();
    assert_eq!(
        (req.body.len, req.body.sample.as_slice()),
        (11, &b"hello world"[..])
    );
    assert_eq!(txs[0].response.as_ref().unwrap().body.sample, b"abc");
}

#[test]
fn bodiless_responses_head_204_304_and_interim() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    // HEAD: Content-Length describes the GET body that is not sent.
    c.exchange(
        b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        1460,
    );
    c.exchange(
        &get("/nc"),
        b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        1460,
    );
    c.exchange(
        &get("/nm"),
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        1460,
    );
    // Two interim responses before the final one.
    c.exchange(&get("/slow"), b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1460);
    c.exchange(&get("/last"), &ok("L"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "HEAD /h -> 200",
            "GET /nc -> 204",
            "GET /nm -> 304",
            "GET /slow -> 200",
            "GET /last -> 200"
        ]
    );
    assert_eq!(txs[3].interim, [102, 103]);
    assert_eq!(txs[0].response.as_ref().unwrap().body.len, 0);
    assert_eq!(stats.http.interim_responses, 2);
}

#[test]
fn expect_100_continue() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    let body = "d".repeat(2000);
    let head = format!(
        "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.client_send(head.as_bytes(), 1460);
    c.server_send(b"HTTP/1.1 100 Continue\r\n\r\n", 1460);
    c.client_send(body.as_bytes(), 1000);
    c.server_send(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 1460);
    c.close();
    let (txs, _) = run(&c.frames);
    assert_eq!(summaries(&txs), ["PUT /f -> 201"]);
    assert_eq!(txs[0].interim, [100]);
    assert_eq!(txs[0].request.as_ref().unwrap().body.len, 2000);
}

#[test]
fn close_delimited_http10_response() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(b"GET /old HTTP/1.0\r\n\r\n", 1460);
    c.server_send(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>until close</html>",
        10,
    );
    c.close();
    let (txs, _) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /old -> 200"]);
    let r = txs[0].response.as_ref().unwrap();
    assert_eq!(r.body.sample, b"<html>until close</html>");
    assert_eq!(r.head.version().to_string(), "1.0");
}

#[test]
fn upgrade_stops_parsing() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        1460,
    );
    // The client's first frame is sent before the 101 arrives: it must be held, then dropped.
    c.client_send(b"\x81\x85GET / HTTP/1.1\r\n\r\n", 1460);
    c.server_send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x03HTTP/1.1 200 OK\r\n\r\n", 1460);
    c.client_send(b"GET /not-http HTTP/1.1\r\n\r\n", 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /chat -> 101 [upgrade]"]);
    assert_eq!(stats.http.upgrades, 1);
}

#[test]
fn refused_upgrade_resumes_parsing() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        1460,
    );
    c.client_send(&get("/pipelined-after"), 1460);
    c.server_send(&ok("no upgrade"), 1460);
    c.server_send(&ok("second"), 1460);
    c.close();
    let (txs, _) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "GET /chat -> 200",
            "GET /pipelined-after -> 200 [pipelined]"
        ]
    );
}

#[test]
fn connect_tunnel_and_refused_connect() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:3128");
    c.handshake();
    c.exchange(
        b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n",
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
        1460,
    );
    c.exchange(b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\nProxy-Authorization: Basic eDp5\r\n\r\n", b"HTTP/1.1 200 Connection established\r\n\r\n", 1460);
    c.exchange(
        b"\x16\x03\x01 binary tunnel GET / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x03 more HTTP/1.1 200 OK\r\n\r\n",
        1460,
    );
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "CONNECT db.internal:5432 -> 407",
            "CONNECT db.internal:5432 -> 200 [connect]"
        ]
    );
    assert_eq!(stats.http.connects, 1);
}

#[test]
fn unanswered_and_unrequested_messages_are_emitted() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.exchange(&get("/a"), &ok("a"), 1460);
    // An extra response nobody asked for, then a request that is never answered.
    c.server_send(&status(408, ""), 1460);
    c.client_send(&get("/never"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "GET /a -> 200",
            "- - -> 408 [no_request]",
            "GET /never -> - [no_response]"
        ]
    );
    assert_eq!((stats.http.no_request, stats.http.no_response), (1, 1));
}

#[test]
fn reset_mid_response_gives_a_partial_transaction() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/cut"), 1460);
    let resp = ok(&"r".repeat(1000));
    c.server_send(&resp[..300], 1460);
    let rst = c.segment(false, c.sseq, c.cseq, RST | ACK, b"");
    c.push(rst);
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /cut -> 200 [partial]"]);
    assert_eq!(stats.tcp.flows_closed_rst, 1);
    assert_eq!(stats.http.truncated_messages, 1);
}

#[test]
fn idle_connections_time_out_in_packet_time() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/hang"), 1460);
    // Another connection 10 minutes later (packet time) closes the first on the idle timeout.
    c.wait_us(600_000_000);
    let mut d = Conv::new("10.0.0.3:40001", "10.0.0.2:80");
    d.clock = c.clock;
    d.handshake();
    let mut frames = c.frames.clone();
    frames.extend(d.frames);
    let mut e = shadowtap::engine::Engine::new(EngineConfig::default());
    let mut before_finish = Vec::new();
    for f in &frames {
        e.packet(&shadowtap::capture::RawPacket {
            ts: f.ts,
            link: LinkType::RAW,
            orig_len: f.ip.len() as u32,
            data: &f.ip,
        });
        before_finish.extend(e.drain());
    }
    assert_eq!(summaries(&before_finish), ["GET /hang -> - [no_response]"]);
    assert_eq!(e.stats().tcp.flows_timed_out, 1);
}

#[test]
fn clock_jumping_back_does_not_expire_flows() {
    let mut a = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    a.handshake();
    let mut b = Conv::new("10.0.0.3:40000", "10.0.0.2:80");
    b.clock = a.clock - 9 * 365 * 86_400 * 1_000_000_000; // nine years earlier
    b.handshake();
    b.exchange(&get("/old-clock"), &ok("1"), 1460);
    b.close();
    a.exchange(&get("/new-clock"), &ok("2"), 1460);
    a.close();
    let mut frames = a.frames[..3].to_vec();
    frames.extend(b.frames.clone());
    frames.extend(a.frames[3..].to_vec());
    let (txs, stats) = run(&frames);
    assert_eq!(
        summaries(&txs),
        ["GET /old-clock -> 200", "GET /new-clock -> 200"]
    );
    assert_eq!(stats.tcp.flows_timed_out, 0);
}

#[test]
fn flow_cap_evicts_least_recently_active() {
    let mut all = Vec::new();
    for i in 0..5u16 {
        let mut c = Conv::new(&format!("10.0.0.{}:4000{i}", i + 1), "10.0.0.100:80");
        c.clock += i64::from(i) * 1_000_000;
        c.handshake();
        c.client_send(&get(&format!("/c{i}")), 1460);
        all.push(c);
    }
    let mut frames: Vec<Frame> = all.iter().flat_map(|c| c.frames.clone()).collect();
    frames.sort_by_key(|f| f.ts);
    let mut cfg = EngineConfig::default();
    cfg.reassembly.max_flows = 2;
    let (txs, stats) = run_cfg(&frames, cfg);
    assert_eq!(
        txs.len(),
        5,
        "evicted connections still report their requests"
    );
    assert!(
        txs.iter().all(|t| t.tags.to_string() == "no_response"),
        "{:?}",
        summaries(&txs)
    );
    assert_eq!(stats.tcp.flows_evicted, 3);
    assert_eq!(stats.tcp.flows_peak, 2);
}

#[test]
fn snap_length_cut_becomes_a_gap() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&get("/snap"), 1460);
    let seg = c.segment(false, c.sseq, c.cseq, ACK | PSH, &ok(&"s".repeat(1000)));
    c.sseq += (seg.len() - 40) as u32;
    let cut = seg[..200].to_vec();
    let ts = Timestamp(c.clock);
    c.clock += 10_000;
    c.acks();
    c.exchange(&get("/after"), &ok("a"), 1460);
    c.close();
    let mut frames: Vec<(Timestamp, Vec<u8>, u32)> = c
        .frames
        .iter()
        .map(|f| (f.ts, f.ip.clone(), f.ip.len() as u32))
        .collect();
    frames.insert(4, (ts, cut, seg.len() as u32));
    let mut e = shadowtap::engine::Engine::new(EngineConfig::default());
    let mut txs = Vec::new();
    for (ts, data, orig) in &frames {
        e.packet(&shadowtap::capture::RawPacket {
            ts: *ts,
            link: LinkType::RAW,
            orig_len: *orig,
            data,
        });
        txs.extend(e.drain());
    }
    e.finish();
    txs.extend(e.drain());
    assert_eq!(
        summaries(&txs),
        ["GET /snap -> 200 [gap]", "GET /after -> 200"]
    );
    let s = e.stats();
    assert_eq!(s.packets.truncated_frames, 1);
    assert_eq!(s.tcp.truncated_segments, 1);
}

#[test]
fn ip_fragments_are_reassembled() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    let req = get(&format!("/frag?pad={}", "p".repeat(1200)));
    let whole = c.segment(true, c.cseq, c.sseq, ACK | PSH, &req);
    c.cseq += req.len() as u32;
    // Split the IPv4 payload (TCP header + data) into three fragments, sent last-first.
    let payload = &whole[20..];
    let mut frags = Vec::new();
    for (i, part) in payload.chunks(512).enumerate() {
        let off = i * 512;
        let more = off + part.len() < payload.len();
        let mut h = whole[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + part.len()) as u16).to_be_bytes());
        h[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(part);
        frags.push(h);
    }
    frags.reverse();
    for f in frags {
        c.push(f);
    }
    c.server_send(&ok("got it"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(txs.len(), 1);
    assert!(summary(&txs[0]).ends_with("-> 200"));
    assert_eq!(stats.defrag.reassembled, 1);
    assert_eq!(stats.defrag.fragments, 3);
}

#[test]
fn ipv6_conversation() {
    let mut c = Conv::new("[2001:db8::1]:40000", "[2001:db8::2]:80");
    c.handshake();
    c.exchange(&get("/v6"), &ok("six"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /v6 -> 200"]);
    assert_eq!(txs[0].orig.to_string(), "[2001:db8::1]:40000");
    assert_eq!(stats.packets.ipv6, c.frames.len() as u64);
}

#[test]
fn every_link_type_gives_the_same_transactions() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.exchange(&get("/link"), &ok("L"), 1460);
    c.close();
    let expected = ["GET /link -> 200"];
    for link in [
        LinkType::ETHERNET,
        LinkType::LINUX_SLL,
        LinkType::LINUX_SLL2,
        LinkType::NULL,
        LinkType::LOOP,
        LinkType::RAW,
        LinkType::IPV4,
        LinkType::NFLOG,
    ] {
        let frames: Vec<_> = c.frames.iter().map(|f| (f.ts, wrap(link, &f.ip))).collect();
        let (txs, stats) = run_link(link, &frames, EngineConfig::default());
        assert_eq!(summaries(&txs), expected, "{link}");
        assert_eq!(
            stats.packets.by_link[&link.to_string()].packets,
            c.frames.len() as u64
        );
    }
    for tags in [
        &[0x8100u16][..],
        &[0x88a8, 0x8100],
        &[0x9100, 0x8100, 0x8100],
    ] {
        let frames: Vec<_> = c
            .frames
            .iter()
            .map(|f| (f.ts, wrap_vlan(tags, &f.ip)))
            .collect();
        let (txs, _) = run_link(LinkType::ETHERNET, &frames, EngineConfig::default());
        assert_eq!(summaries(&txs), expected, "vlan {tags:x?}");
    }
}

#[test]
fn port_reuse_starts_a_new_connection() {
    let mut c = Conv::with_isn("10.0.0.1:40000", "10.0.0.2:80", 1000, 5000);
    c.handshake();
    c.exchange(&get("/first"), &ok("1"), 1460);
    // No FIN captured; a new SYN with another ISN on the same 4-tuple.
    c.cseq = 900_000;
    c.sseq = 700_000;
    c.handshake();
    c.exchange(&get("/second"), &ok("2"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /first -> 200", "GET /second -> 200"]);
    assert_ne!(txs[0].flow, txs[1].flow);
    assert_eq!(stats.tcp.flows_reused, 1);
}

#[test]
fn gzip_body_sample_decodes_and_long_bodies_are_sampled() {
    use std::io::Write;
    let json = br#"{"users":[{"id":1,"email":"a@example.com"}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json).unwrap();
    let gz = gz.finish().unwrap();
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    resp.extend_from_slice(&gz);
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.exchange(&get("/users"), &resp, 1460);
    let big = "B".repeat(100_000);
    c.exchange(&get("/big"), &ok(&big), 1460);
    c.close();
    let mut cfg = EngineConfig::default();
    cfg.http.body_sample_bytes = 65_536;
    let (txs, stats) = run_cfg(&c.frames, cfg);
    let r0 = txs[0].response.as_ref().unwrap();
    assert_eq!(r0.decoded_body(1 << 20).unwrap(), json);
    let r1 = txs[1].response.as_ref().unwrap();
    assert_eq!((r1.body.len, r1.body.sample.len()), (100_000, 65_536));
    assert_eq!(stats.http.samples_truncated, 1);
    assert_eq!(
        stats.http_bytes_now, 0,
        "nothing is held once everything is emitted"
    );
}

#[test]
fn too_many_headers_is_refused_and_parsing_recovers() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    let mut bad = b"GET /bad HTTP/1.1\r\n".to_vec();
    for i in 0..300 {
        bad.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    bad.extend_from_slice(b"\r\n");
    c.exchange(&bad, &status(431, ""), 1460);
    c.exchange(&get("/good"), &ok("g"), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        ["- - -> 431 [no_request]", "GET /good -> 200"]
    );
    assert_eq!(stats.http.too_many_headers, 1);
}

#[test]
fn tls_goes_to_the_tls_layer_not_http() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:443");
    c.handshake();
    c.exchange(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76HTTP/1.1 200 OK\r\n\r\n",
        1460,
    );
    c.close();
    let (txs, stats) = run(&c.frames);
    // Record headers decide: the connection is TLS (its hellos here are garbage), and the
    // HTTP-looking bytes inside the records never become transactions.
    assert!(txs.is_empty());
    assert_eq!(stats.http.not_http_flows, 0);
    assert_eq!(stats.tls.connections, 1, "{:?}", stats.tls);
    let hint = shadowtap::cli::report::hint(&stats).unwrap();
    assert!(hint.contains("TLS"), "{hint}");
}

#[test]
fn smuggling_shapes_are_tagged() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        1460,
    );
    c.server_send(&ok("1"), 1460);
    c.client_send(
        b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n",
        1460,
    );
    c.server_send(&status(400, ""), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(
        summaries(&txs),
        [
            "POST /a -> 200 [ambiguous_length]",
            "POST /b -> 400 [malformed]"
        ]
    );
    assert_eq!(stats.http.ambiguous_length, 1);
    assert_eq!(stats.http.bad_content_length, 1);
}
