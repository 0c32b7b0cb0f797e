//! The key log parser and record decryption on arbitrary bytes.
//!
//! Input: byte 0 chooses what is fuzzed; the rest is the data.
//!
//! - bit 0 clear: the rest is a key log. `KeyLog::add_text` on it whole, and `KeyLogFile`
//!   following a file written in pieces of 1 to 16 bytes (bits 4-7) with a poll after each;
//!   bit 1 caps the map at 2 sessions. Checks: no panic; the map holds at most its cap;
//!   whole and in pieces give the same counters and the same secrets; a secret's `Debug`
//!   never shows its bytes.
//! - bit 0 set: the rest is a sequence of records (`type`, u16 length, payload) opened with
//!   fixed keys of every suite (bits 1-3 choose the suite: TLS 1.3 AES-128-GCM, AES-256-GCM,
//!   ChaCha20-Poly1305; TLS 1.2 AES-128-GCM, ChaCha20-Poly1305; AES-CBC-SHA in TLS 1.0 and 1.2,
//!   with encrypt-then-MAC when bit 4 is set). Checks: no panic; a record that opens gives a
//!   plaintext range inside its payload; nothing forged opens (random bytes do not authenticate).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::tls::decrypt::{AeadAlg, Hash, MacAlg, Prf, RecordKeys, Suite};
use shadowtap::tls::keylog::{KeyLog, KeyLogFile};
use std::io::Write;

fn keylog(sel: u8, data: &[u8]) {
    let cap = if sel & 2 != 0 { 2 } else { 1 << 16 };
    let mut whole = KeyLog::new(cap);
    whole.add_text(data);
    assert!(whole.len() <= cap);

    let dir = std::env::temp_dir().join(format!("shadowtap-fuzz-keylog-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("keys");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut pieces = KeyLog::new(cap);
    let mut follower = KeyLogFile::new(&path);
    let step = usize::from(sel >> 4) + 1;
    for piece in data.chunks(step) {
        f.write_all(piece).unwrap();
        follower.poll(&mut pieces).unwrap();
    }
    follower.finish(&mut pieces);
    assert!(pieces.len() <= cap);
    // Lines longer than the line cap are counted when they are dropped, which depends on where
    // the pieces fall: only inputs of short lines must agree exactly.
    if data.split(|&b| b == b'\n').all(|l| l.len() < 1000) {
        assert_eq!(whole.stats, pieces.stats);
        assert_eq!(whole.len(), pieces.len());
    }
    let dbg = format!("{whole:?}");
    assert!(!dbg.contains("Secret("));
}

fn records(sel: u8, mut data: &[u8]) {
    let secret = [0x42u8; 48];
    let (cr, sr) = ([1u8; 32], [2u8; 32]);
    let etm = sel & 16 != 0;
    let mut keys = match (sel >> 1) & 7 {
        0 => RecordKeys::tls13(AeadAlg::Aes128Gcm, Hash::Sha256, &secret[..32]),
        1 => RecordKeys::tls13(AeadAlg::Aes256Gcm, Hash::Sha384, &secret),
        2 => RecordKeys::tls13(AeadAlg::ChaCha20Poly1305, Hash::Sha256, &secret[..32]),
        3 => RecordKeys::tls12(
            Suite::Aead(AeadAlg::Aes128Gcm, Prf::Sha256),
            0x0303,
            &secret,
            &cr,
            &sr,
            etm,
        )
        .map(|k| k.0),
        4 => RecordKeys::tls12(
            Suite::Aead(AeadAlg::ChaCha20Poly1305, Prf::Sha256),
            0x0303,
            &secret,
            &cr,
            &sr,
            etm,
        )
        .map(|k| k.0),
        5 => RecordKeys::tls12(
            Suite::Cbc {
                key_len: 16,
                mac: MacAlg::Sha1,
                prf: Prf::Legacy,
            },
            0x0301,
            &secret,
            &cr,
            &sr,
            etm,
        )
        .map(|k| k.1),
        _ => RecordKeys::tls12(
            Suite::Cbc {
                key_len: 32,
                mac: MacAlg::Sha256,
                prf: Prf::Sha256,
            },
            0x0303,
            &secret,
            &cr,
            &sr,
            etm,
        )
        .map(|k| k.0),
    }
    .expect("fixed keys");
    while let [t, hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let mut payload = rest[..len].to_vec();
        data = &rest[len..];
        let [lh, ll] = (len as u16).to_be_bytes();
        let hdr = [*t, 3, 3, lh, ll];
        if let Ok((_, range)) = keys.open(hdr, &mut payload) {
            assert!(range.end <= payload.len() && range.start <= range.end);
            // An AEAD tag or an HMAC was forged by chance: not with these odds.
            panic!("a random record authenticated");
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&sel, data)) = input.split_first() else {
        return;
    };
    if sel & 1 == 0 {
        keylog(sel, data);
    } else {
        records(sel, data);
    }
});
