//! Handshake messages read in the clear: ClientHello, ServerHello (and HelloRetryRequest),
//! Certificate.
//!
//! Messages are parsed with `tls-parser` (hellos, extension lists, certificate lists) and
//! certificates with `x509-parser`; what this module adds is the choice of facts and their
//! caps. Each parser takes a handshake message body (the 4-byte message header left out) and
//! returns a small owned summary: lists of numbers in wire order, GREASE values kept (the
//! fingerprints need them; [`ja4::is_grease`](super::ja4::is_grease) tells them apart), strings
//! cut to fixed lengths with the number of cuts in `truncated`.
//!
//! What it owns: the meaning of hello and certificate fields. What it may not touch: record
//! framing ([`record`](super::record)), connection state ([`conn`](super::conn)).

use sha2::{Digest, Sha256};
use tls_parser::{TlsExtension, TlsMessageHandshake};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

/// Longest server name kept, in bytes (the DNS limit).
pub const MAX_SNI_BYTES: usize = 255;
/// Most ALPN protocols kept from a ClientHello.
pub const MAX_ALPN: usize = 16;
/// Longest ALPN protocol name kept as a string, in bytes.
pub const MAX_ALPN_BYTES: usize = 64;
/// Longest subject or issuer name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most subject alternative names kept.
pub const MAX_SANS: usize = 64;
/// Longest subject alternative name kept, in bytes.
pub const MAX_SAN_BYTES: usize = 255;

/// The random of a HelloRetryRequest (RFC 8446 section 4.1.3: SHA-256 of "HelloRetryRequest").
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension types this module reads.
pub mod ext {
    /// server_name.
    pub const SERVER_NAME: u16 = 0;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation.
    pub const ALPN: u16 = 16;
    /// session_ticket.
    pub const SESSION_TICKET: u16 = 35;
    /// pre_shared_key.
    pub const PRE_SHARED_KEY: u16 = 41;
    /// early_data.
    pub const EARLY_DATA: u16 = 42;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// Why a message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// tls-parser refused the message.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// x509-parser refused the certificate.
    #[error("malformed certificate")]
    Certificate,
}

/// A ClientHello's facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The version field (legacy_version in TLS 1.3).
    pub legacy_version: u16,
    /// The client random (what a key log is keyed by).
    pub random: [u8; 32],
    /// Session id (at most 32 bytes).
    pub session_id: Vec<u8>,
    /// Cipher suites, wire order.
    pub ciphers: Vec<u16>,
    /// Extension types, wire order, duplicates kept.
    pub extensions: Vec<u16>,
    /// The supported_versions extension's list, wire order.
    pub supported_versions: Vec<u16>,
    /// Server name (the first host_name entry), at most [`MAX_SNI_BYTES`].
    pub sni: Option<String>,
    /// ALPN protocols as sent (at most [`MAX_ALPN`]).
    pub alpn: Vec<Vec<u8>>,
    /// The signature_algorithms extension's list, wire order.
    pub signature_algorithms: Vec<u16>,
    /// early_data offered.
    pub early_data: bool,
    /// pre_shared_key offered.
    pub pre_shared_key: bool,
    /// A non-empty session ticket offered.
    pub session_ticket: bool,
    /// Strings or lists cut to their caps.
    pub truncated: u32,
}

impl ClientHello {
    /// Parses a ClientHello body.
    pub fn parse(body: &[u8]) -> Result<ClientHello, ParseError> {
        let (_, ch) = tls_parser::parse_tls_handshake_client_hello(body)
            .map_err(|_| ParseError::Malformed("ClientHello"))?;
        let mut out = ClientHello {
            legacy_version: ch.version.0,
            random: ch.random.try_into().unwrap_or([0; 32]),
            session_id: ch.session_id.unwrap_or_default().to_vec(),
            ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
            ..ClientHello::default()
        };
        for (ty, data, raw) in extensions(ch.ext.unwrap_or_default()) {
            out.extensions.push(ty);
            match ty {
                ext::SERVER_NAME if out.sni.is_none() => {
                    if let Ok((_, TlsExtension::SNI(names))) =
                        tls_parser::parse_tls_extension_sni_content(data)
                    {
                        let host = names
                            .iter()
                            .find(|(t, _)| *t == tls_parser::SNIType::HostName);
                        if let Some((_, name)) = host {
                            out.sni = Some(capped(name, MAX_SNI_BYTES, &mut out.truncated));
                        }
                    }
                }
                ext::ALPN if out.alpn.is_empty() => {
                    if let Ok((_, TlsExtension::ALPN(protos))) =
                        tls_parser::parse_tls_extension_alpn_content(data)
                    {
                        if protos.len() > MAX_ALPN {
                            out.truncated += 1;
                        }
                        out.alpn = protos.iter().take(MAX_ALPN).map(|p| p.to_vec()).collect();
                    }
                }
                ext::SIGNATURE_ALGORITHMS if out.signature_algorithms.is_empty() => {
                    if let Ok((_, TlsExtension::SignatureAlgorithms(algs))) =
                        tls_parser::parse_tls_extension_signature_algorithms_content(data)
                    {
                        out.signature_algorithms = algs;
                    }
                }
                ext::SUPPORTED_VERSIONS if out.supported_versions.is_empty() => {
                    if let Ok((_, TlsExtension::SupportedVersions(vs))) =
                        tls_parser::parse_tls_extension_supported_versions(raw)
                    {
                        out.supported_versions = vs.iter().map(|v| v.0).collect();
                    }
                }
                ext::EARLY_DATA => out.early_data = true,
                ext::PRE_SHARED_KEY => out.pre_shared_key = true,
                ext::SESSION_TICKET => out.session_ticket |= !data.is_empty(),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Versions offered: supported_versions without GREASE when the extension is there, else
    /// the version field.
    pub fn versions_offered(&self) -> Vec<u16> {
        let listed: Vec<u16> = (self.supported_versions.iter())
            .copied()
            .filter(|&v| !super::ja4::is_grease(v))
            .collect();
        if listed.is_empty() {
            vec![self.legacy_version]
        } else {
            listed
        }
    }

    /// The ALPN protocols as strings (invalid UTF-8 replaced, at most [`MAX_ALPN_BYTES`] each);
    /// the second value counts the ones cut.
    pub fn alpn_strings(&self) -> (Vec<String>, u32) {
        let mut cut = 0;
        let v = (self.alpn.iter())
            .map(|p| capped(p, MAX_ALPN_BYTES, &mut cut))
            .collect();
        (v, cut)
    }
}

/// A ServerHello's (or HelloRetryRequest's) facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// The version field (legacy_version in TLS 1.3).
    pub legacy_version: u16,
    /// The random is the HelloRetryRequest value: this is a HelloRetryRequest.
    pub retry_request: bool,
    /// The server random.
    pub random: [u8; 32],
    /// Session id (at most 32 bytes).
    pub session_id: Vec<u8>,
    /// Cipher suite chosen.
    pub cipher: u16,
    /// Extension types, wire order.
    pub extensions: Vec<u16>,
    /// The supported_versions extension's version.
    pub selected_version: Option<u16>,
    /// The ALPN protocol selected, as sent.
    pub alpn: Option<Vec<u8>>,
    /// pre_shared_key chosen (TLS 1.3 resumption).
    pub pre_shared_key: bool,
}

impl ServerHello {
    /// Parses a ServerHello body (SSL 3.0 to TLS 1.3; TLS 1.3 drafts are refused).
    pub fn parse(body: &[u8]) -> Result<ServerHello, ParseError> {
        let (_, sh) = tls_parser::parse_tls_handshake_server_hello(body)
            .map_err(|_| ParseError::Malformed("ServerHello"))?;
        let mut out = ServerHello {
            legacy_version: sh.version.0,
            retry_request: sh.random == HELLO_RETRY_RANDOM,
            random: sh.random.try_into().unwrap_or([0; 32]),
            session_id: sh.session_id.unwrap_or_default().to_vec(),
            cipher: sh.cipher.0,
            ..ServerHello::default()
        };
        for (ty, data, raw) in extensions(sh.ext.unwrap_or_default()) {
            out.extensions.push(ty);
            match ty {
                ext::SUPPORTED_VERSIONS if out.selected_version.is_none() => {
                    if let Ok((_, TlsExtension::SupportedVersions(vs))) =
                        tls_parser::parse_tls_extension_supported_versions(raw)
                    {
                        out.selected_version = vs.first().map(|v| v.0);
                    }
                }
                ext::ALPN if out.alpn.is_none() => {
                    if let Ok((_, TlsExtension::ALPN(protos))) =
                        tls_parser::parse_tls_extension_alpn_content(data)
                    {
                        out.alpn = protos.first().map(|p| p.to_vec());
                    }
                }
                ext::PRE_SHARED_KEY => out.pre_shared_key = true,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The negotiated version: supported_versions when there, else the version field.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// The extensions of an extension block, each as (type, content, whole extension), read with
/// tls-parser's generic extension parser until the block ends or stops parsing.
fn extensions(mut block: &[u8]) -> impl Iterator<Item = (u16, &[u8], &[u8])> {
    std::iter::from_fn(move || {
        let Ok((rest, TlsExtension::Unknown(ty, data))) =
            tls_parser::parse_tls_extension_unknown(block)
        else {
            return None;
        };
        let raw = &block[..block.len() - rest.len()];
        block = rest;
        Some((ty.0, data, raw))
    })
}

/// A Certificate message (TLS 1.2 and older): how many certificates, and the first (the
/// sender's own).
pub fn certificate_list(body: &[u8]) -> Result<(u32, Option<&[u8]>), ParseError> {
    match tls_parser::parse_tls_handshake_msg_certificate(body) {
        Ok((_, TlsMessageHandshake::Certificate(c))) => {
            let n = u32::try_from(c.cert_chain.len()).unwrap_or(u32::MAX);
            Ok((n, c.cert_chain.first().map(|c| c.data)))
        }
        _ => Err(ParseError::Malformed("Certificate")),
    }
}

/// What a certificate says, for an inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject name in RFC 4514 form (`CN=api.example,O=Example`: last RDN first), at most
    /// [`MAX_NAME_BYTES`].
    pub subject: String,
    /// Issuer name, the same way.
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension (at most [`MAX_SANS`]).
    pub sans: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Key type: `rsa`, `ec`, `ed25519`, `ed448`, `x25519`, `x448`, `dsa`, `gost`, or the
    /// algorithm's OID.
    pub key_type: String,
    /// Key size in bits (RSA modulus, EC field; 0 when unknown).
    pub key_bits: u32,
    /// Issued by its own name: the subject equals the issuer and the authority key id, when
    /// there is one, is the certificate's own subject key id (the signature is not checked).
    pub self_signed: bool,
    /// Serial number, lowercase hex without the sign byte.
    pub serial_hex: String,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub sha256_hex: String,
    /// Signature algorithm (short name such as `sha256WithRSAEncryption`, or its OID).
    pub signature_algorithm: String,
}

impl CertSummary {
    /// Summarizes a DER certificate; the second value counts strings and lists cut to their
    /// caps.
    pub fn from_der(der: &[u8]) -> Result<(CertSummary, u32), ParseError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|_| ParseError::Certificate)?;
        let mut cut = 0;
        let tbs = &cert.tbs_certificate;
        let subject = capped(rfc4514(&tbs.subject).as_bytes(), MAX_NAME_BYTES, &mut cut);
        let issuer = capped(rfc4514(&tbs.issuer).as_bytes(), MAX_NAME_BYTES, &mut cut);
        let mut sans = Vec::new();
        if let Ok(Some(san)) = tbs.subject_alternative_name() {
            for name in &san.value.general_names {
                let s = match name {
                    GeneralName::DNSName(d) => capped(d.as_bytes(), MAX_SAN_BYTES, &mut cut),
                    GeneralName::IPAddress(b) => match ip_text(b) {
                        Some(ip) => ip,
                        None => continue,
                    },
                    _ => continue,
                };
                if sans.len() == MAX_SANS {
                    cut += 1;
                    break;
                }
                sans.push(s);
            }
        }
        let (key_type, key_bits) = key_of(&cert);
        let self_signed = tbs.subject.as_raw() == tbs.issuer.as_raw() && own_key_id(&cert);
        let serial = match tbs.raw_serial() {
            [0, rest @ ..] if rest.first().is_some_and(|&b| b >= 0x80) => rest,
            s => s,
        };
        let alg = &cert.signature_algorithm.algorithm;
        let signature_algorithm =
            x509_parser::objects::oid2sn(alg, x509_parser::objects::oid_registry())
                .map_or_else(|_| alg.to_id_string(), str::to_string);
        let summary = CertSummary {
            subject,
            issuer,
            sans,
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            key_type,
            key_bits,
            self_signed,
            serial_hex: hex(serial),
            sha256_hex: hex(&Sha256::digest(der)),
            signature_algorithm,
        };
        Ok((summary, cut))
    }
}

/// An IPv4 or IPv6 address of 4 or 16 bytes as text.
fn ip_text(b: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    <[u8; 16]>::try_from(b)
        .ok()
        .map(|v6| std::net::Ipv6Addr::from(v6).to_string())
}

/// A distinguished name in RFC 4514 form: RDNs last first, joined by `,`; attributes of one RDN
/// joined by `+`; types by their short names (`CN`, `O`, `OU`, `C`, `L`, `ST`, `DC`, ...) or
/// dotted OIDs; values escaped, or `#` and hex for values that are not strings.
fn rfc4514(name: &X509Name<'_>) -> String {
    use x509_parser::asn1_rs::Tag;
    let registry = x509_parser::objects::oid_registry();
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match x509_parser::objects::oid2abbrev(attr.attr_type(), registry) {
                Ok(abbrev) => out.push_str(abbrev),
                Err(_) => out.push_str(&attr.attr_type().to_id_string()),
            }
            out.push('=');
            let value = attr.attr_value();
            let text = match value.tag() {
                Tag::BmpString => {
                    let units = value
                        .data
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]));
                    Some(
                        char::decode_utf16(units)
                            .map(|c| c.unwrap_or('\u{fffd}'))
                            .collect(),
                    )
                }
                Tag::NumericString
                | Tag::PrintableString
                | Tag::Utf8String
                | Tag::Ia5String
                | Tag::VisibleString
                | Tag::T61String
                | Tag::GeneralString
                | Tag::GraphicString => Some(String::from_utf8_lossy(value.data).into_owned()),
                _ => None,
            };
            match text {
                Some(t) => escape_4514(&t, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex(value.data));
                }
            }
        }
    }
    out
}

/// Appends an attribute value with RFC 4514 section 2.4 escapes.
fn escape_4514(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
}

/// True unless the certificate names an authority key id that is not its own subject key id.
fn own_key_id(cert: &X509Certificate<'_>) -> bool {
    use x509_parser::extensions::ParsedExtension;
    let mut aki = None;
    let mut ski = None;
    for e in cert.tbs_certificate.extensions() {
        match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => aki = a.key_identifier.as_ref(),
            ParsedExtension::SubjectKeyIdentifier(s) => ski = Some(s),
            _ => {}
        }
    }
    match (aki, ski) {
        (Some(a), Some(s)) => a.0 == s.0,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The key's type and size in bits.
fn key_of(cert: &X509Certificate<'_>) -> (String, u32) {
    let spki = cert.public_key();
    let bits = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            // Significant bits of the modulus (the DER integer may carry a leading zero).
            let m = rsa.modulus;
            let start = m.iter().position(|&b| b != 0).unwrap_or(m.len());
            let n = match m.get(start) {
                Some(&top) => (m.len() - start) * 8 - top.leading_zeros() as usize,
                None => 0,
            };
            ("rsa".into(), bits(n))
        }
        Ok(PublicKey::EC(point)) => ("ec".into(), bits(point.key_size())),
        Ok(PublicKey::DSA(y)) => ("dsa".into(), bits(y.len() * 8)),
        Ok(PublicKey::GostR3410(k) | PublicKey::GostR3410_2012(k)) => {
            ("gost".into(), bits(k.len() * 4))
        }
        _ => {
            let oid = spki.algorithm.algorithm.to_id_string();
            let key = spki.subject_public_key.data.len() * 8;
            match oid.as_str() {
                "1.3.101.110" => ("x25519".into(), bits(key)),
                "1.3.101.111" => ("x448".into(), bits(key)),
                "1.3.101.112" => ("ed25519".into(), bits(key)),
                "1.3.101.113" => ("ed448".into(), bits(key)),
                _ => (oid, 0),
            }
        }
    }
}

/// `bytes` as a string (invalid UTF-8 replaced), cut at a character boundary to at most `max`
/// bytes; a cut adds one to `cut`.
pub(crate) fn capped(bytes: &[u8], max: usize, cut: &mut u32) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.len() <= max {
        return s.into_owned();
    }
    *cut += 1;
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_cut_at_char_boundaries() {
        let mut cut = 0;
        assert_eq!(capped(b"abc", 3, &mut cut), "abc");
        assert_eq!(cut, 0);
        assert_eq!(capped("aé".as_bytes(), 2, &mut cut), "a");
        assert_eq!(capped(&[b'a', 0xff, b'b'], 64, &mut cut), "a\u{fffd}b");
        assert_eq!(cut, 1);
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        let mut out = String::new();
        escape_4514(" a,b+c\\d#e ", &mut out);
        assert_eq!(out, "\\ a\\,b\\+c\\\\d#e\\ ");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for n in 0..64 {
            let body = vec![0x03u8; n];
            let _ = ClientHello::parse(&body);
            let _ = ServerHello::parse(&body);
            let _ = certificate_list(&body);
            assert!(CertSummary::from_der(&body).is_err());
        }
        assert_eq!(
            ServerHello::parse(&[0x7f, 0x12]),
            Err(ParseError::Malformed("ServerHello"))
        );
    }
}
