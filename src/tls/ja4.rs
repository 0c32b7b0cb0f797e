//! JA4 (TLS client) and JA4S (TLS server) fingerprints, as specified by FoxIO
//! (<https://github.com/FoxIO-LLC/ja4>, `technical_details/JA4.md`), for TLS over TCP.
//!
//! JA4 is `a_b_c`: `a` = `t`, the version (supported_versions' highest non-GREASE value, else
//! the hello's version) as two characters, `d` (SNI extension present) or `i`, the numbers of
//! cipher suites and of extensions (GREASE left out, at most 99), and two characters of the
//! first ALPN value; `b` = the first 12 hex digits of the SHA-256 of the cipher suites (4
//! lowercase hex digits each, sorted, comma-joined); `c` = the same of the extension types,
//! sorted, without SNI (0000) and ALPN (0010), then `_` and the signature algorithms in wire
//! order when there are any. GREASE values are left out everywhere; an empty list hashes to
//! `000000000000`.
//!
//! JA4S is `t`, the negotiated version, the number of extensions and the ALPN characters of the
//! ServerHello, `_`, its cipher suite in hex, `_`, the hash of its extension types in wire order.
//!
//! ALPN characters: the first and last byte of the first value when both are ASCII letters or
//! digits (one byte counts as both); otherwise the first and last hex digit of the value
//! (`0xAB 0xCD` gives `ad`); `00` when there is no ALPN or the first value is empty. This is the
//! specification's rule; FoxIO's tshark-based implementations and the `ja4plus` package write
//! `9` or `99` for non-ASCII bytes instead, so the fingerprints differ for such ALPN values only.
//!
//! What it owns: the fingerprint formulas. What it may not touch: parsing (it reads the
//! summaries of [`hello`](super::hello)).

use super::hello::{ClientHello, ServerHello};
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// True for the 16 GREASE values of RFC 8701 (`0x0a0a`, `0x1a1a`, ... `0xfafa`).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The two characters of a version in a fingerprint (`13`, `12`, `11`, `10`, `s3`, `s2`, `d1`,
/// `d2`, `d3`; `00` when unknown).
pub fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The two ALPN characters of a fingerprint from the first ALPN value (see the module doc).
pub fn alpn_code(first: Option<&[u8]>) -> [u8; 2] {
    let Some(&[a, .., b] | &[a @ b]) = first else {
        return *b"00";
    };
    if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
        [a, b]
    } else {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        [DIGITS[usize::from(a >> 4)], DIGITS[usize::from(b & 15)]]
    }
}

/// JA4 of a ClientHello.
pub fn ja4(ch: &ClientHello) -> String {
    let p = ClientParts::of(ch);
    let mut s = p.a;
    s.push('_');
    s.push_str(&hash12(&p.ciphers));
    s.push('_');
    s.push_str(&hash12(&p.exts_sigs));
    s
}

/// JA4_r, the raw form of JA4: the lists instead of their hashes.
pub fn ja4_r(ch: &ClientHello) -> String {
    let p = ClientParts::of(ch);
    format!("{}_{}_{}", p.a, p.ciphers, p.exts_sigs)
}

/// JA4S of a ServerHello (or HelloRetryRequest).
pub fn ja4s(sh: &ServerHello) -> String {
    let (ab, exts) = server_parts(sh);
    format!("{ab}_{}", hash12(&exts))
}

/// JA4S_r, the raw form of JA4S.
pub fn ja4s_r(sh: &ServerHello) -> String {
    let (ab, exts) = server_parts(sh);
    format!("{ab}_{exts}")
}

/// The pieces of JA4 before hashing.
struct ClientParts {
    a: String,
    ciphers: String,
    exts_sigs: String,
}

impl ClientParts {
    fn of(ch: &ClientHello) -> ClientParts {
        let mut ciphers: Vec<u16> = ch
            .ciphers
            .iter()
            .copied()
            .filter(|&c| !is_grease(c))
            .collect();
        let exts: Vec<u16> = ch
            .extensions
            .iter()
            .copied()
            .filter(|&e| !is_grease(e))
            .collect();
        let listed = (ch.supported_versions.iter().copied())
            .filter(|&v| !is_grease(v))
            .max();
        let has_versions = ch
            .extensions
            .contains(&super::hello::ext::SUPPORTED_VERSIONS);
        let version = match listed {
            Some(v) if has_versions => v,
            _ => ch.legacy_version,
        };
        let sni = if exts.contains(&super::hello::ext::SERVER_NAME) {
            'd'
        } else {
            'i'
        };
        let alpn = alpn_code(ch.alpn.first().map(Vec::as_slice));
        let mut a = String::with_capacity(10);
        let _ = write!(
            a,
            "t{}{sni}{:02}{:02}{}{}",
            version_code(version),
            ciphers.len().min(99),
            exts.len().min(99),
            char::from(alpn[0]),
            char::from(alpn[1]),
        );
        ciphers.sort_unstable();
        let mut sorted: Vec<u16> = (exts.iter().copied())
            .filter(|&e| e != super::hello::ext::SERVER_NAME && e != super::hello::ext::ALPN)
            .collect();
        sorted.sort_unstable();
        let mut exts_sigs = hex_list(&sorted);
        let sigs: Vec<u16> = (ch.signature_algorithms.iter().copied())
            .filter(|&s| !is_grease(s))
            .collect();
        if !sigs.is_empty() {
            exts_sigs.push('_');
            exts_sigs.push_str(&hex_list(&sigs));
        }
        ClientParts {
            a,
            ciphers: hex_list(&ciphers),
            exts_sigs,
        }
    }
}

fn server_parts(sh: &ServerHello) -> (String, String) {
    let alpn = alpn_code(sh.alpn.as_deref());
    let ab = format!(
        "t{}{:02}{}{}_{:04x}",
        version_code(sh.version()),
        sh.extensions.len().min(99),
        char::from(alpn[0]),
        char::from(alpn[1]),
        sh.cipher,
    );
    (ab, hex_list(&sh.extensions))
}

/// Values as 4 lowercase hex digits each, comma-joined.
fn hex_list(values: &[u16]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(values.len() * 5);
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(char::from(DIGITS[usize::from((v >> shift) & 15)]));
        }
    }
    s
}

/// The first 12 hex digits of the SHA-256 of `s`; `000000000000` for an empty string.
fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_string();
    }
    super::hello::hex(&Sha256::digest(s.as_bytes())[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `technical_details/JA4.md` (FoxIO, commit 0e54bc8).
    #[test]
    fn spec_example() {
        let ch = ClientHello {
            legacy_version: 0x0303,
            ciphers: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            supported_versions: vec![0x0304, 0x0303],
            sni: Some("example.com".into()),
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHello::default()
        };
        assert_eq!(ja4(&ch), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            ja4_r(&ch),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
        // Without signature algorithms the list ends without an underscore (spec: 6d807ffa2a79).
        let no_sigs = ClientHello {
            signature_algorithms: vec![],
            ..ch.clone()
        };
        assert!(ja4(&no_sigs).ends_with("_6d807ffa2a79"));
        // GREASE anywhere changes nothing.
        let mut greased = ch.clone();
        greased.ciphers.insert(0, 0x2a2a);
        greased.extensions.insert(0, 0x8a8a);
        greased.extensions.push(0xfafa);
        greased.supported_versions.insert(0, 0x7a7a);
        greased.signature_algorithms.insert(3, 0x1a1a);
        assert_eq!(ja4(&greased), ja4(&ch));
    }

    #[test]
    fn empty_lists_hash_to_zeros() {
        let ch = ClientHello {
            legacy_version: 0x0301,
            extensions: vec![0x0000, 0x0010],
            ..ClientHello::default()
        };
        assert_eq!(ja4(&ch), "t10d000200_000000000000_000000000000");
        let sh = ServerHello {
            legacy_version: 0x0303,
            cipher: 0x002f,
            ..ServerHello::default()
        };
        assert_eq!(ja4s(&sh), "t120000_002f_000000000000");
        assert_eq!(ja4s_r(&sh), "t120000_002f_");
    }

    #[test]
    fn counts_stop_at_99() {
        let ch = ClientHello {
            legacy_version: 0x0303,
            ciphers: (1..=200).collect(),
            extensions: (100..300).collect(),
            ..ClientHello::default()
        };
        assert!(ja4(&ch).starts_with("t12i999900_"));
    }

    /// The ALPN examples of the specification.
    #[test]
    fn alpn_rules() {
        let code = |b: &[u8]| String::from_utf8(alpn_code(Some(b)).to_vec()).unwrap();
        assert_eq!(code(b"h2"), "h2");
        assert_eq!(code(b"http/1.1"), "h1");
        assert_eq!(code(b"h"), "hh");
        assert_eq!(code(&[0xab]), "ab");
        assert_eq!(code(&[0x20]), "20");
        assert_eq!(code(&[0xab, 0xcd]), "ad");
        assert_eq!(code(&[0x20, 0x61]), "21");
        assert_eq!(code(&[0x30, 0xab]), "3b");
        assert_eq!(code(&[0x61, 0x20]), "60");
        assert_eq!(code(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(code(&[0x30, 0xab, 0xcd, 0x31]), "01");
        assert_eq!(code(b""), "00");
        assert_eq!(alpn_code(None), *b"00");
    }

    #[test]
    fn grease_values() {
        let all: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        assert_eq!(all.len(), 16);
        assert_eq!(all[0], 0x0a0a);
        assert_eq!(all[15], 0xfafa);
        assert!(!is_grease(0x0a1a));
    }
}
