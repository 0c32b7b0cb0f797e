//! Names of TLS versions and cipher suites, and what is weak about a negotiated version and
//! cipher suite, for reports and findings.
//!
//! Cipher-suite facts come from `tls-parser`'s table (IANA registry, 350 suites). What it owns:
//! names and the weakness classification. What it may not touch: parsing and connection state.

use std::borrow::Cow;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac};

/// A version's name: `SSL 2.0`, `SSL 3.0`, `TLS 1.0` ... `TLS 1.3`, `TLS 1.3 draft N`,
/// `DTLS 1.0`/`1.2`/`1.3`, `GREASE`, or the value in hex (`0x0305`).
pub fn version_name(v: u16) -> Cow<'static, str> {
    Cow::Borrowed(match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        _ if super::ja4::is_grease(v) => "GREASE",
        _ if v >> 8 == 0x7f => return Cow::Owned(format!("TLS 1.3 draft {}", v & 0xff)),
        _ => return Cow::Owned(format!("0x{v:04x}")),
    })
}

/// A cipher suite's IANA name (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`,
/// ...), or `None` when the table does not know it (GREASE, private values).
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    tls_parser::TlsCipherSuite::from_id(id).map(|c| c.name)
}

/// Something weak about a negotiated version or cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weakness {
    /// SSL 2.0.
    Ssl2,
    /// SSL 3.0 (POODLE).
    Ssl3,
    /// TLS 1.0 (deprecated by RFC 8996).
    Tls10,
    /// TLS 1.1 (deprecated by RFC 8996).
    Tls11,
    /// No encryption (a NULL cipher).
    NullCipher,
    /// An export suite (40- or 56-bit keys).
    Export,
    /// No authentication (anonymous Diffie-Hellman).
    Anonymous,
    /// RC4 (RFC 7465 forbids it).
    Rc4,
    /// Single DES.
    Des,
    /// Triple DES (64-bit blocks: Sweet32).
    TripleDes,
    /// RC2.
    Rc2,
    /// HMAC-MD5 record integrity.
    Md5Mac,
    /// CBC mode with an HMAC-SHA1 MAC (MAC-then-encrypt, Lucky13-style padding oracles).
    CbcSha1,
}

impl Weakness {
    /// A short stable name (`tls1.0`, `rc4`, `cbc-sha1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Weakness::Ssl2 => "ssl2",
            Weakness::Ssl3 => "ssl3",
            Weakness::Tls10 => "tls1.0",
            Weakness::Tls11 => "tls1.1",
            Weakness::NullCipher => "null-cipher",
            Weakness::Export => "export",
            Weakness::Anonymous => "anonymous",
            Weakness::Rc4 => "rc4",
            Weakness::Des => "des",
            Weakness::TripleDes => "3des",
            Weakness::Rc2 => "rc2",
            Weakness::Md5Mac => "md5-mac",
            Weakness::CbcSha1 => "cbc-sha1",
        }
    }

    /// One line for a report.
    pub fn describe(self) -> &'static str {
        match self {
            Weakness::Ssl2 => "SSL 2.0 is broken",
            Weakness::Ssl3 => "SSL 3.0 is broken (POODLE)",
            Weakness::Tls10 => "TLS 1.0 is deprecated (RFC 8996)",
            Weakness::Tls11 => "TLS 1.1 is deprecated (RFC 8996)",
            Weakness::NullCipher => "the cipher suite does not encrypt",
            Weakness::Export => "export-grade keys (40 or 56 bits)",
            Weakness::Anonymous => "the server is not authenticated (anonymous key exchange)",
            Weakness::Rc4 => "RC4 is prohibited (RFC 7465)",
            Weakness::Des => "single DES is broken",
            Weakness::TripleDes => "3DES has 64-bit blocks (Sweet32)",
            Weakness::Rc2 => "RC2 is broken",
            Weakness::Md5Mac => "records are authenticated with HMAC-MD5",
            Weakness::CbcSha1 => "CBC with HMAC-SHA1 (MAC-then-encrypt, padding oracles)",
        }
    }
}

/// The weakness of a version, if it has one (SSL 2.0 to TLS 1.1).
pub fn version_weakness(version: u16) -> Option<Weakness> {
    match version {
        0x0002 | 0x0200 => Some(Weakness::Ssl2),
        0x0300 => Some(Weakness::Ssl3),
        0x0301 => Some(Weakness::Tls10),
        0x0302 => Some(Weakness::Tls11),
        _ => None,
    }
}

/// The weaknesses of a cipher suite (none for suites the table does not know).
pub fn cipher_weaknesses(cipher: u16) -> Vec<Weakness> {
    let Some(c) = tls_parser::TlsCipherSuite::from_id(cipher) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if c.enc == TlsCipherEnc::Null {
        out.push(Weakness::NullCipher);
    }
    if c.name.contains("EXPORT") {
        out.push(Weakness::Export);
    }
    let anon = c.name.contains("_anon_") || c.kx == TlsCipherKx::Aecdh;
    if anon || (c.au == TlsCipherAu::Null && c.kx != TlsCipherKx::Null) {
        out.push(Weakness::Anonymous);
    }
    match c.enc {
        TlsCipherEnc::Rc4 => out.push(Weakness::Rc4),
        TlsCipherEnc::Des => out.push(Weakness::Des),
        TlsCipherEnc::TripleDes => out.push(Weakness::TripleDes),
        TlsCipherEnc::Rc2 => out.push(Weakness::Rc2),
        _ => {}
    }
    if c.mac == TlsCipherMac::HmacMd5 {
        out.push(Weakness::Md5Mac);
    }
    if c.enc_mode == TlsCipherEncMode::Cbc && c.mac == TlsCipherMac::HmacSha1 {
        out.push(Weakness::CbcSha1);
    }
    out
}

/// Every weakness of a negotiated version and cipher suite, version first.
pub fn weaknesses(version: Option<u16>, cipher: Option<u16>) -> Vec<Weakness> {
    let mut out: Vec<Weakness> = version.and_then(version_weakness).into_iter().collect();
    out.extend(cipher.map(cipher_weaknesses).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x0300), "SSL 3.0");
        assert_eq!(version_name(0x7f17), "TLS 1.3 draft 23");
        assert_eq!(version_name(0x3a3a), "GREASE");
        assert_eq!(version_name(0x0305), "0x0305");
    }

    #[test]
    fn cipher_names() {
        assert_eq!(cipher_suite_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(
            cipher_suite_name(0xc02f),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(
            cipher_suite_name(0x002f),
            Some("TLS_RSA_WITH_AES_128_CBC_SHA")
        );
        assert_eq!(cipher_suite_name(0x0a0a), None);
    }

    #[test]
    fn weakness_classification() {
        use Weakness::*;
        // Modern suites: nothing.
        assert!(weaknesses(Some(0x0304), Some(0x1301)).is_empty());
        assert!(weaknesses(Some(0x0303), Some(0xc02f)).is_empty());
        assert!(weaknesses(Some(0x0303), Some(0xcca8)).is_empty());
        // CBC with SHA-256 is not flagged; with SHA-1 it is.
        assert!(cipher_weaknesses(0xc027).is_empty());
        assert_eq!(weaknesses(Some(0x0301), Some(0x002f)), [Tls10, CbcSha1]);
        assert_eq!(weaknesses(Some(0x0302), None), [Tls11]);
        assert_eq!(weaknesses(Some(0x0300), Some(0x0005)), [Ssl3, Rc4]); // RC4_128_SHA
        assert_eq!(cipher_weaknesses(0x0004), [Rc4, Md5Mac]); // RSA_WITH_RC4_128_MD5
        assert_eq!(cipher_weaknesses(0x000a), [TripleDes, CbcSha1]); // RSA_WITH_3DES_EDE_CBC_SHA
        assert_eq!(cipher_weaknesses(0x0009), [Des, CbcSha1]); // RSA_WITH_DES_CBC_SHA
        assert_eq!(cipher_weaknesses(0x0003), [Export, Rc4, Md5Mac]); // RSA_EXPORT_WITH_RC4_40_MD5
        assert_eq!(cipher_weaknesses(0x0002), [NullCipher]); // RSA_WITH_NULL_SHA
        assert_eq!(cipher_weaknesses(0x0000), [NullCipher]); // NULL_WITH_NULL_NULL
        assert_eq!(cipher_weaknesses(0x0034), [Anonymous, CbcSha1]); // DH_anon_WITH_AES_128_CBC_SHA
        assert_eq!(cipher_weaknesses(0xc018), [Anonymous, CbcSha1]); // ECDH_anon_WITH_AES_128_CBC_SHA
        assert_eq!(cipher_weaknesses(0xc015), [NullCipher, Anonymous]); // ECDH_anon_WITH_NULL_SHA
        assert_eq!(Rc4.name(), "rc4");
        assert!(!CbcSha1.describe().is_empty());
    }
}
