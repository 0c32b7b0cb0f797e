//! Decryption of a connection's records with the secrets of a key log.
//!
//! - Key schedules: TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1) from the traffic secrets;
//!   TLS 1.2 and older the PRF key expansion (RFC 5246 section 6.3; P_SHA256 or P_SHA384 per
//!   suite, the MD5/SHA-1 PRF of TLS 1.0 and 1.1) from the master secret, which an RSA key
//!   exchange's pre-master secret also gives.
//! - Record protection: AES-128/256-GCM and ChaCha20-Poly1305 (ring), in the TLS 1.3 and the
//!   TLS 1.2 framing; AES-CBC with HMAC-SHA1/SHA256/SHA384 (RustCrypto `aes`, `cbc`, `hmac`),
//!   MAC-then-encrypt or encrypt-then-MAC (RFC 7366), explicit IV (TLS 1.1+) or chained (1.0).
//! - [`Decryptor`]: one connection's two directions: its own record framing beside the
//!   handshake reader, the switch from handshake to application keys (TLS 1.3: the record
//!   that no longer opens with the handshake key opens with the application key), KeyUpdate,
//!   ChangeCipherSpec (TLS 1.2), and records held while the key is not known yet.
//!
//! Nothing here implements a primitive: ciphers, MACs and hashes come from ring and RustCrypto.
//! Secrets are never printed; every record that cannot be read is counted by reason in
//! [`DecryptStats`].
//!
//! What it owns: keys, record protection, plaintext per direction. What it may not touch: what
//! the plaintext means (the HTTP layers above, chosen by `dispatch`).

use super::keylog::{KeyStore, Secret, SessionKeys};
use super::record::{
    ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, HEADER_LEN, HEARTBEAT, MAX_RECORD_LEN,
};
use crate::reassembly::Dir;
use crate::time::Timestamp;
use hmac::{Mac, SimpleHmac};
use ring::aead;
use sha2::digest::core_api::BlockSizeUser;
use sha2::{Digest, Sha256, Sha384};
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Counters of decryption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DecryptStats {
    /// Connections whose records were decrypted (at least one).
    pub connections: u64,
    /// Records decrypted.
    pub records: u64,
    /// Application-data plaintext bytes handed to the layer above.
    pub bytes: u64,
    /// Connections without a key in the key log (after holding their records, in the daemon).
    pub no_key: u64,
    /// Connections whose cipher suite or version is not decrypted (counted once each).
    pub unsupported_suite: u64,
    /// Records that did not authenticate (wrong key, corrupt record); that direction stops.
    pub bad_record: u64,
    /// Directions whose framing a gap broke: their records cannot be read after it.
    pub gap: u64,
    /// Connections whose handshake facts were not all seen (no hellos: picked up mid-stream).
    pub no_handshake: u64,
    /// Records dropped because holding them would pass the per-connection or total cap.
    pub hold_cap_drops: u64,
    /// Connections whose held records expired before their key appeared.
    pub hold_expired: u64,
    /// TLS 1.3 KeyUpdates followed.
    pub key_updates: u64,
    /// Decrypted connections that speak HTTP/2 (ALPN `h2` or the preface): read by the HTTP/2
    /// layer.
    pub inner_h2: u64,
}

crate::counters!(DecryptStats {
    connections,
    records,
    bytes,
    no_key,
    unsupported_suite,
    bad_record,
    gap,
    no_handshake,
    hold_cap_drops,
    hold_expired,
    key_updates,
    inner_h2,
});

/// Limits of decryption.
#[derive(Clone, Debug)]
pub struct DecryptConfig {
    /// Encrypted bytes held per connection while its key is not known.
    pub max_held_per_conn: usize,
    /// Encrypted bytes held across connections.
    pub max_held_total: usize,
    /// Capture time records are held for their key, in nanoseconds.
    pub hold_timeout_ns: i64,
}

impl Default for DecryptConfig {
    fn default() -> Self {
        DecryptConfig {
            max_held_per_conn: 256 * 1024,
            max_held_total: 32 << 20,
            hold_timeout_ns: 10_000_000_000,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Key schedules
// ------------------------------------------------------------------------------------------

/// Hash of a key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl Hash {
    fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context, `out.len()` bytes.
pub fn hkdf_expand_label(hash: Hash, secret: &[u8], label: &[u8], out: &mut [u8]) -> Option<()> {
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    match hash {
        Hash::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, out)
            .ok(),
        Hash::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, out)
            .ok(),
    }
}

/// P_hash of RFC 5246 section 5, XORed into `out`.
fn p_hash_xor<D: Digest + BlockSizeUser + Clone>(secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let Ok(mac) = <SimpleHmac<D> as Mac>::new_from_slice(secret) else {
        return;
    };
    let hmac = |parts: &[&[u8]]| {
        let mut m = mac.clone();
        for p in parts {
            m.update(p);
        }
        Zeroizing::new(m.finalize().into_bytes().to_vec())
    };
    let mut a = hmac(seed);
    let mut pos = 0;
    while pos < out.len() {
        let mut parts: Vec<&[u8]> = vec![&a];
        parts.extend_from_slice(seed);
        let block = hmac(&parts);
        for (o, b) in out[pos..].iter_mut().zip(block.iter()) {
            *o ^= b;
        }
        pos += block.len();
        a = hmac(&[&a]);
    }
}

/// The PRF of a TLS version and suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prf {
    /// TLS 1.0 and 1.1: P_MD5 of the secret's first half XOR P_SHA1 of its second.
    Legacy,
    /// TLS 1.2: P_SHA256.
    Sha256,
    /// TLS 1.2 with a SHA-384 suite: P_SHA384.
    Sha384,
}

/// PRF(secret, label, seed) of RFC 5246 section 5 (RFC 2246 section 5 for [`Prf::Legacy`]).
pub fn prf(kind: Prf, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    out.fill(0);
    let mut s: Vec<&[u8]> = vec![label];
    s.extend_from_slice(seed);
    match kind {
        Prf::Sha256 => p_hash_xor::<Sha256>(secret, &s, out),
        Prf::Sha384 => p_hash_xor::<Sha384>(secret, &s, out),
        Prf::Legacy => {
            let half = secret.len().div_ceil(2);
            p_hash_xor::<md5::Md5>(&secret[..half], &s, out);
            p_hash_xor::<sha1::Sha1>(&secret[secret.len() - half..], &s, out);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Suites
// ------------------------------------------------------------------------------------------

/// AEAD algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadAlg {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl AeadAlg {
    fn ring(self) -> &'static aead::Algorithm {
        match self {
            AeadAlg::Aes128Gcm => &aead::AES_128_GCM,
            AeadAlg::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlg::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm => 16,
            _ => 32,
        }
    }
}

/// MAC of a CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlg {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
}

impl MacAlg {
    fn len(self) -> usize {
        match self {
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }
}

/// What a negotiated version and cipher suite need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// TLS 1.3.
    Tls13(AeadAlg, Hash),
    /// TLS 1.2 with an AEAD suite.
    Aead(AeadAlg, Prf),
    /// AES-CBC with an HMAC (TLS 1.0 to 1.2): key length 16 or 32.
    Cbc {
        /// AES key length.
        key_len: usize,
        /// The MAC.
        mac: MacAlg,
        /// The PRF.
        prf: Prf,
    },
}

/// The suite of a negotiated version and cipher, when it is decrypted here.
pub fn suite(version: u16, cipher: u16) -> Option<Suite> {
    use AeadAlg::*;
    if version == 0x0304 {
        return match cipher {
            0x1301 => Some(Suite::Tls13(Aes128Gcm, Hash::Sha256)),
            0x1302 => Some(Suite::Tls13(Aes256Gcm, Hash::Sha384)),
            0x1303 => Some(Suite::Tls13(ChaCha20Poly1305, Hash::Sha256)),
            _ => None,
        };
    }
    let prf12 = |sha384: bool| {
        if version < 0x0303 {
            Prf::Legacy
        } else if sha384 {
            Prf::Sha384
        } else {
            Prf::Sha256
        }
    };
    let aead = |alg, sha384| (version == 0x0303).then(|| Suite::Aead(alg, prf12(sha384)));
    let cbc = |key_len, mac| {
        let sha2_mac = mac != MacAlg::Sha1;
        // SHA-256/384 MACs exist only in TLS 1.2; SSL 3.0 is not decrypted.
        (version == 0x0303 || (!sha2_mac && (0x0301..=0x0302).contains(&version))).then(|| {
            Suite::Cbc {
                key_len,
                mac,
                prf: prf12(mac == MacAlg::Sha384),
            }
        })
    };
    match cipher {
        // (EC)DHE and RSA AES-GCM.
        0xc02b | 0xc02f | 0x009c | 0x009e => aead(Aes128Gcm, false),
        0xc02c | 0xc030 | 0x009d | 0x009f => aead(Aes256Gcm, true),
        // ChaCha20-Poly1305 (RFC 7905).
        0xcca8..=0xccaa => aead(ChaCha20Poly1305, false),
        // AES-CBC with SHA-1.
        0x002f | 0x0033 | 0xc004 | 0xc009 | 0xc00e | 0xc013 => cbc(16, MacAlg::Sha1),
        0x0035 | 0x0039 | 0xc005 | 0xc00a | 0xc00f | 0xc014 => cbc(32, MacAlg::Sha1),
        // AES-CBC with SHA-256 / SHA-384 (TLS 1.2).
        0x003c | 0x0067 | 0xc023 | 0xc027 => cbc(16, MacAlg::Sha256),
        0x003d | 0x006b => cbc(32, MacAlg::Sha256),
        0xc024 | 0xc028 => cbc(32, MacAlg::Sha384),
        _ => None,
    }
}

/// True for cipher suites with an RSA key exchange (the key log may give their pre-master
/// secret, by its encrypted form).
pub fn is_rsa_kx(cipher: u16) -> bool {
    matches!(
        cipher,
        0x002f | 0x0035 | 0x003c | 0x003d | 0x009c | 0x009d | 0x000a
    )
}

// ------------------------------------------------------------------------------------------
// Record protection
// ------------------------------------------------------------------------------------------

enum Protection {
    /// TLS 1.3: nonce = iv XOR seq; AAD the record header; inner content type.
    Tls13 {
        key: aead::LessSafeKey,
        iv: [u8; 12],
    },
    /// TLS 1.2 AES-GCM: nonce = 4-byte salt || 8 explicit bytes of the record.
    Gcm12 {
        key: aead::LessSafeKey,
        salt: [u8; 4],
    },
    /// TLS 1.2 ChaCha20-Poly1305: nonce = iv XOR seq.
    ChaCha12 {
        key: aead::LessSafeKey,
        iv: [u8; 12],
    },
    /// AES-CBC and HMAC.
    Cbc {
        key: Zeroizing<Vec<u8>>,
        mac_key: Zeroizing<Vec<u8>>,
        mac: MacAlg,
        /// TLS 1.0: the IV of the next record (the last ciphertext block of the previous one).
        chained_iv: Option<[u8; 16]>,
        etm: bool,
    },
}

/// One direction's keys and sequence number.
pub struct RecordKeys {
    prot: Protection,
    seq: u64,
}

/// Why a record did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadRecord;

impl RecordKeys {
    fn aead(alg: AeadAlg, key: &[u8]) -> Option<aead::LessSafeKey> {
        Some(aead::LessSafeKey::new(
            aead::UnboundKey::new(alg.ring(), key).ok()?,
        ))
    }

    /// TLS 1.3 keys from a traffic secret.
    pub fn tls13(alg: AeadAlg, hash: Hash, secret: &[u8]) -> Option<RecordKeys> {
        let mut key = Zeroizing::new(vec![0; alg.key_len()]);
        let mut iv = [0; 12];
        hkdf_expand_label(hash, secret, b"key", &mut key)?;
        hkdf_expand_label(hash, secret, b"iv", &mut iv)?;
        Some(RecordKeys {
            prot: Protection::Tls13 {
                key: RecordKeys::aead(alg, &key)?,
                iv,
            },
            seq: 0,
        })
    }

    /// TLS 1.2-and-older keys of both directions (client's, server's) from a master secret.
    pub fn tls12(
        suite: Suite,
        version: u16,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        etm: bool,
    ) -> Option<(RecordKeys, RecordKeys)> {
        let (mac_len, key_len, iv_len, prf_kind) = match suite {
            Suite::Tls13(..) => return None,
            Suite::Aead(alg @ AeadAlg::ChaCha20Poly1305, p) => (0, alg.key_len(), 12, p),
            Suite::Aead(alg, p) => (0, alg.key_len(), 4, p),
            Suite::Cbc { key_len, mac, prf } => (mac.len(), key_len, 16, prf),
        };
        let mut block = Zeroizing::new(vec![0; 2 * (mac_len + key_len + iv_len)]);
        prf(
            prf_kind,
            master,
            b"key expansion",
            &[server_random, client_random],
            &mut block,
        );
        let (cmac, rest) = block.split_at(mac_len);
        let (smac, rest) = rest.split_at(mac_len);
        let (ckey, rest) = rest.split_at(key_len);
        let (skey, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        let make = |mac_key: &[u8], key: &[u8], iv: &[u8]| -> Option<RecordKeys> {
            let prot = match suite {
                Suite::Aead(alg @ AeadAlg::ChaCha20Poly1305, _) => Protection::ChaCha12 {
                    key: RecordKeys::aead(alg, key)?,
                    iv: iv.try_into().ok()?,
                },
                Suite::Aead(alg, _) => Protection::Gcm12 {
                    key: RecordKeys::aead(alg, key)?,
                    salt: iv.try_into().ok()?,
                },
                Suite::Cbc { mac, .. } => Protection::Cbc {
                    key: Zeroizing::new(key.to_vec()),
                    mac_key: Zeroizing::new(mac_key.to_vec()),
                    mac,
                    chained_iv: (version <= 0x0301).then(|| iv.try_into().ok()).flatten(),
                    etm,
                },
                Suite::Tls13(..) => return None,
            };
            Some(RecordKeys { prot, seq: 0 })
        };
        Some((make(cmac, ckey, civ)?, make(smac, skey, siv)?))
    }

    /// Opens a record (its header and payload) in place: returns the content type and the
    /// plaintext's range in `payload`. The sequence number advances only when it opens.
    pub fn open(
        &mut self,
        hdr: [u8; HEADER_LEN],
        payload: &mut [u8],
    ) -> Result<(u8, std::ops::Range<usize>), BadRecord> {
        let seq = self.seq.to_be_bytes();
        let xor_nonce = |iv: &[u8; 12]| {
            let mut n = *iv;
            for (a, b) in n[4..].iter_mut().zip(seq) {
                *a ^= b;
            }
            aead::Nonce::assume_unique_for_key(n)
        };
        let aad12 = |ty: u8, len: usize| {
            let mut a = [0; 13];
            a[..8].copy_from_slice(&seq);
            a[8] = ty;
            a[9..11].copy_from_slice(&hdr[1..3]);
            a[11..].copy_from_slice(&(len as u16).to_be_bytes());
            a
        };
        let out = match &mut self.prot {
            Protection::Tls13 { key, iv } => {
                let n = key
                    .open_in_place(xor_nonce(iv), aead::Aad::from(hdr), payload)
                    .map_err(|_| BadRecord)?
                    .len();
                // Inner plaintext: content, content type, zero padding.
                let end = payload[..n]
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(BadRecord)?;
                (payload[end], 0..end)
            }
            Protection::Gcm12 { key, salt } => {
                let tag = key.algorithm().tag_len();
                if payload.len() < 8 + tag {
                    return Err(BadRecord);
                }
                let mut nonce = [0; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&payload[..8]);
                let aad = aad12(hdr[0], payload.len() - 8 - tag);
                let n = key
                    .open_in_place(
                        aead::Nonce::assume_unique_for_key(nonce),
                        aead::Aad::from(aad),
                        &mut payload[8..],
                    )
                    .map_err(|_| BadRecord)?
                    .len();
                (hdr[0], 8..8 + n)
            }
            Protection::ChaCha12 { key, iv } => {
                let tag = key.algorithm().tag_len();
                let len = payload.len().checked_sub(tag).ok_or(BadRecord)?;
                let aad = aad12(hdr[0], len);
                let n = key
                    .open_in_place(xor_nonce(iv), aead::Aad::from(aad), payload)
                    .map_err(|_| BadRecord)?
                    .len();
                (hdr[0], 0..n)
            }
            Protection::Cbc {
                key,
                mac_key,
                mac,
                chained_iv,
                etm,
            } => {
                let r = open_cbc(
                    key, mac_key, *mac, chained_iv, *etm, &aad12, hdr[0], payload,
                )?;
                (hdr[0], r)
            }
        };
        self.seq = self.seq.wrapping_add(1);
        Ok(out)
    }
}

fn hmac_of(mac: MacAlg, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<D: Digest + BlockSizeUser + Clone>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let Ok(mut m) = <SimpleHmac<D> as Mac>::new_from_slice(key) else {
            return Vec::new();
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match mac {
        MacAlg::Sha1 => run::<sha1::Sha1>(key, parts),
        MacAlg::Sha256 => run::<Sha256>(key, parts),
        MacAlg::Sha384 => run::<Sha384>(key, parts),
    }
}

/// Opens an AES-CBC record: MAC-then-encrypt or encrypt-then-MAC, explicit or chained IV.
#[allow(clippy::too_many_arguments)]
fn open_cbc(
    key: &[u8],
    mac_key: &[u8],
    mac: MacAlg,
    chained_iv: &mut Option<[u8; 16]>,
    etm: bool,
    aad12: &dyn Fn(u8, usize) -> [u8; 13],
    ty: u8,
    payload: &mut [u8],
) -> Result<std::ops::Range<usize>, BadRecord> {
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    let ml = mac.len();
    // With encrypt-then-MAC the MAC follows the ciphertext (IV included) and covers it.
    let enc_end = if etm {
        let end = payload.len().checked_sub(ml).ok_or(BadRecord)?;
        let want = hmac_of(mac, mac_key, &[&aad12(ty, end), &payload[..end]]);
        if want.len() != ml || want[..] != payload[end..] {
            return Err(BadRecord);
        }
        end
    } else {
        payload.len()
    };
    let (iv, start) = match chained_iv {
        Some(iv) => (*iv, 0),
        None => (
            payload
                .get(..16)
                .ok_or(BadRecord)?
                .try_into()
                .unwrap_or([0; 16]),
            16,
        ),
    };
    let ct = &mut payload[start..enc_end];
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(BadRecord);
    }
    let next_iv: [u8; 16] = ct[ct.len() - 16..].try_into().unwrap_or([0; 16]);
    let ok = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(|_| BadRecord)?
            .decrypt_padded_mut::<NoPadding>(ct)
            .is_ok(),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(|_| BadRecord)?
            .decrypt_padded_mut::<NoPadding>(ct)
            .is_ok(),
    };
    if !ok {
        return Err(BadRecord);
    }
    // Padding: its length byte last, then that many bytes of the same value.
    let pad = usize::from(*ct.last().ok_or(BadRecord)?) + 1;
    let body_end = ct.len().checked_sub(pad).ok_or(BadRecord)?;
    if ct[body_end..].iter().any(|&b| usize::from(b) + 1 != pad) {
        return Err(BadRecord);
    }
    let content_end = if etm {
        body_end
    } else {
        let content_end = body_end.checked_sub(ml).ok_or(BadRecord)?;
        let want = hmac_of(mac, mac_key, &[&aad12(ty, content_end), &ct[..content_end]]);
        if want[..] != ct[content_end..body_end] {
            return Err(BadRecord);
        }
        content_end
    };
    if chained_iv.is_some() {
        *chained_iv = Some(next_iv);
    }
    Ok(start..start + content_end)
}

// ------------------------------------------------------------------------------------------
// A connection
// ------------------------------------------------------------------------------------------

/// What the handshake said that decryption needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    /// The client's direction.
    pub client: Option<Dir>,
    /// The ClientHello's random.
    pub client_random: Option<[u8; 32]>,
    /// The ServerHello's random.
    pub server_random: Option<[u8; 32]>,
    /// Negotiated version.
    pub version: Option<u16>,
    /// Negotiated cipher suite.
    pub cipher: Option<u16>,
    /// encrypt_then_mac negotiated (the ServerHello echoed it).
    pub etm: bool,
    /// extended_master_secret negotiated.
    pub ems: bool,
    /// The first 8 bytes of the encrypted pre-master secret (RSA key exchange).
    pub rsa_prefix: Option<[u8; 8]>,
}

/// Decrypted bytes of one direction.
#[derive(Debug)]
pub struct Plain {
    /// Direction.
    pub dir: Dir,
    /// The plaintext (application data only).
    pub data: Vec<u8>,
    /// Capture time of the chunk that completed the record.
    pub ts: Timestamp,
}

/// What the layer above is told besides plaintext.
#[derive(Debug, PartialEq, Eq)]
pub enum Notice {
    /// The server's EncryptedExtensions selected this ALPN protocol (TLS 1.3).
    Alpn(Vec<u8>),
}

/// One direction: its framing and its key phases.
#[derive(Default)]
struct Side {
    hdr: [u8; HEADER_LEN],
    hdr_len: usize,
    buf: Vec<u8>,
    need: usize,
    lost: bool,
    /// TLS 1.2: a ChangeCipherSpec was seen, the records after it are encrypted.
    ccs: bool,
    /// Keys in use.
    cur: Option<RecordKeys>,
    /// TLS 1.3: the keys of the later phases (handshake, application), tried in order when a
    /// record does not open with `cur`.
    later: VecDeque<RecordKeys>,
    /// TLS 1.2: the keys that take over at this side's ChangeCipherSpec.
    after_ccs: Option<RecordKeys>,
    /// TLS 1.3: the application traffic secret (for KeyUpdate).
    app_secret: Option<Secret>,
    /// The application keys are in use.
    on_app: bool,
    /// This direction gave up (bad record).
    dead: bool,
}

/// Key state of a connection.
enum KeyState {
    /// Not looked up yet (or not found yet, while holding).
    Unknown,
    /// Keys are set in the sides.
    Ready,
    /// Nothing can be decrypted (reason already counted).
    Off,
}

struct Held {
    dir: Dir,
    hdr: [u8; HEADER_LEN],
    payload: Vec<u8>,
    ts: Timestamp,
}

/// The decryption of one connection.
pub struct Decryptor {
    sides: [Side; 2],
    keys: KeyState,
    held: VecDeque<Held>,
    held_bytes: usize,
    held_since: Option<Timestamp>,
    decrypted: bool,
    /// Plaintext not yet taken by the layer above.
    pub out: Vec<Plain>,
    /// Notices not yet taken.
    pub notices: Vec<Notice>,
}

/// State of decryption shared by a worker's connections.
pub struct DecryptCtx {
    /// The key log.
    pub keys: std::sync::Arc<KeyStore>,
    /// Limits.
    pub cfg: DecryptConfig,
    /// Counters.
    pub stats: DecryptStats,
    /// Whether keys may still arrive (a followed file): records wait for them.
    pub hold: bool,
    /// Bytes held across connections (framing buffers and held records).
    pub mem: usize,
}

impl DecryptCtx {
    /// A context over a key store.
    pub fn new(keys: std::sync::Arc<KeyStore>, cfg: DecryptConfig, hold: bool) -> DecryptCtx {
        DecryptCtx {
            keys,
            cfg,
            stats: DecryptStats::default(),
            hold,
            mem: 0,
        }
    }
}

impl Default for Decryptor {
    fn default() -> Self {
        Decryptor::new()
    }
}

impl Decryptor {
    /// A connection at its start.
    pub fn new() -> Decryptor {
        Decryptor {
            sides: [Side::default(), Side::default()],
            keys: KeyState::Unknown,
            held: VecDeque::new(),
            held_bytes: 0,
            held_since: None,
            decrypted: false,
            out: Vec::new(),
            notices: Vec::new(),
        }
    }

    fn mem(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>() + self.held_bytes
    }

    /// Reads a chunk of one direction's stream.
    pub fn data(
        &mut self,
        ctx: &mut DecryptCtx,
        facts: &Facts,
        dir: Dir,
        mut input: &[u8],
        ts: Timestamp,
    ) {
        let before = self.mem();
        let i = dir.index();
        while !input.is_empty() && !self.sides[i].lost {
            let s = &mut self.sides[i];
            if s.hdr_len < HEADER_LEN {
                let take = (HEADER_LEN - s.hdr_len).min(input.len());
                s.hdr[s.hdr_len..s.hdr_len + take].copy_from_slice(&input[..take]);
                s.hdr_len += take;
                input = &input[take..];
                if s.hdr_len < HEADER_LEN {
                    break;
                }
                let [t, major, _, hi, lo] = s.hdr;
                s.need = usize::from(u16::from_be_bytes([hi, lo]));
                if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&t)
                    || major != 3
                    || s.need > MAX_RECORD_LEN
                {
                    // The handshake reader counts the framing error; this side stops.
                    s.lost = true;
                    s.buf = Vec::new();
                    break;
                }
                s.buf.clear();
            }
            let take = (s.need - s.buf.len()).min(input.len());
            // Reserve the whole record once: a record is at most MAX_RECORD_LEN.
            if s.buf.capacity() < s.need {
                s.buf.reserve_exact(s.need - s.buf.len());
            }
            s.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if s.buf.len() == s.need {
                let hdr = s.hdr;
                s.hdr_len = 0;
                let payload = std::mem::take(&mut s.buf);
                self.record(ctx, facts, dir, hdr, payload, ts);
            }
        }
        self.account(ctx, before);
    }

    /// `dir` lost bytes: its records cannot be framed or numbered any more.
    pub fn gap(&mut self, ctx: &mut DecryptCtx, dir: Dir) {
        let before = self.mem();
        let s = &mut self.sides[dir.index()];
        if !s.lost && !s.dead && !matches!(self.keys, KeyState::Off) {
            ctx.stats.gap += 1;
        }
        s.lost = true;
        s.buf = Vec::new();
        self.account(ctx, before);
    }

    /// Moves the context's count of held bytes by what this connection's changed since
    /// `before` (every change of framing buffers and held records goes through here).
    fn account(&self, ctx: &mut DecryptCtx, before: usize) {
        ctx.mem = (ctx.mem + self.mem()).saturating_sub(before);
    }

    /// The connection ends: held records get a last chance, then count as without a key.
    pub fn close(&mut self, ctx: &mut DecryptCtx, facts: &Facts) {
        let before = self.mem();
        if !self.held.is_empty() {
            self.resolve(ctx, facts, true);
        }
        self.drop_held();
        for s in &mut self.sides {
            s.buf = Vec::new();
        }
        self.account(ctx, before);
        if self.decrypted {
            ctx.stats.connections += 1;
            self.decrypted = false;
        }
    }

    fn drop_held(&mut self) {
        self.held.clear();
        self.held_bytes = 0;
        self.held_since = None;
    }

    /// Whether a record of this type on this side is encrypted.
    fn encrypted(&self, facts: &Facts, dir: Dir, ty: u8) -> bool {
        match facts.version {
            Some(0x0304) => ty == APPLICATION_DATA,
            Some(_) => self.sides[dir.index()].ccs && ty != CHANGE_CIPHER_SPEC,
            None => false,
        }
    }

    fn record(
        &mut self,
        ctx: &mut DecryptCtx,
        facts: &Facts,
        dir: Dir,
        hdr: [u8; HEADER_LEN],
        payload: Vec<u8>,
        ts: Timestamp,
    ) {
        let i = dir.index();
        if hdr[0] == CHANGE_CIPHER_SPEC {
            if facts.version.is_some_and(|v| v != 0x0304) {
                self.sides[i].ccs = true;
                if let Some(k) = self.sides[i].after_ccs.take() {
                    self.sides[i].cur = Some(k);
                }
            }
            return;
        }
        if facts.version.is_none() && hdr[0] == APPLICATION_DATA && facts.client == Some(dir) {
            // TLS 1.3 early data (0-RTT) comes before the ServerHello says the version: it
            // waits for it.
            if matches!(self.keys, KeyState::Unknown) {
                self.hold(ctx, dir, hdr, payload, ts);
            }
            return;
        }
        if !self.encrypted(facts, dir, hdr[0]) {
            return;
        }
        if matches!(self.keys, KeyState::Unknown) {
            self.resolve(ctx, facts, false);
        }
        match self.keys {
            KeyState::Off => {}
            KeyState::Ready => self.open(ctx, dir, hdr, payload, ts),
            KeyState::Unknown => self.hold(ctx, dir, hdr, payload, ts),
        }
    }

    fn hold(
        &mut self,
        ctx: &mut DecryptCtx,
        dir: Dir,
        hdr: [u8; HEADER_LEN],
        payload: Vec<u8>,
        ts: Timestamp,
    ) {
        let since = *self.held_since.get_or_insert(ts);
        if ts.nanos_since(since) > ctx.cfg.hold_timeout_ns {
            ctx.stats.hold_expired += 1;
            ctx.stats.no_key += 1;
            self.keys = KeyState::Off;
            self.drop_held();
            return;
        }
        let n = payload.len() + HEADER_LEN;
        if self.held_bytes + n > ctx.cfg.max_held_per_conn || ctx.mem + n > ctx.cfg.max_held_total {
            // A direction missing a record can never be read after it.
            ctx.stats.hold_cap_drops += 1;
            ctx.stats.no_key += 1;
            self.keys = KeyState::Off;
            self.drop_held();
            return;
        }
        self.held_bytes += n;
        self.held.push_back(Held {
            dir,
            hdr,
            payload,
            ts,
        });
    }

    /// Looks the session's secrets up and sets the keys; `last` when no later look is coming.
    fn resolve(&mut self, ctx: &mut DecryptCtx, facts: &Facts, last: bool) {
        let (Some(cr), Some(version), Some(cipher), Some(client)) = (
            facts.client_random,
            facts.version,
            facts.cipher,
            facts.client,
        ) else {
            ctx.stats.no_handshake += 1;
            self.keys = KeyState::Off;
            return;
        };
        let Some(suite) = suite(version, cipher) else {
            ctx.stats.unsupported_suite += 1;
            self.keys = KeyState::Off;
            return;
        };
        let ready = match suite {
            Suite::Tls13(alg, hash) => ctx
                .keys
                .session(&cr)
                .is_some_and(|k| self.set_tls13(client, alg, hash, &k)),
            _ => {
                let master = ctx.keys.session(&cr).and_then(|k| k.master).or_else(|| {
                    // RSA key exchange: the pre-master secret gives the master secret (not
                    // with extended_master_secret, which needs the handshake's hash).
                    let (pms, sr) = (ctx.keys.rsa(&facts.rsa_prefix?)?, facts.server_random?);
                    if facts.ems {
                        return None;
                    }
                    let prf_kind = match suite {
                        Suite::Aead(_, p) | Suite::Cbc { prf: p, .. } => p,
                        Suite::Tls13(..) => return None,
                    };
                    let mut ms = Zeroizing::new(vec![0; 48]);
                    prf(
                        prf_kind,
                        pms.expose(),
                        b"master secret",
                        &[&cr, &sr],
                        &mut ms,
                    );
                    Some(Secret::new(ms.to_vec()))
                });
                match (master, facts.server_random) {
                    (Some(m), Some(sr)) => {
                        match RecordKeys::tls12(suite, version, m.expose(), &cr, &sr, facts.etm) {
                            Some((c, s)) => {
                                let (ci, si) = (client.index(), client.flip().index());
                                for (idx, k) in [(ci, c), (si, s)] {
                                    // Keys are used from this side's ChangeCipherSpec on.
                                    if self.sides[idx].ccs {
                                        self.sides[idx].cur = Some(k);
                                    } else {
                                        self.sides[idx].after_ccs = Some(k);
                                    }
                                }
                                true
                            }
                            None => false,
                        }
                    }
                    _ => false,
                }
            }
        };
        if ready {
            self.keys = KeyState::Ready;
            let held = std::mem::take(&mut self.held);
            self.held_bytes = 0;
            self.held_since = None;
            for h in held {
                self.open(ctx, h.dir, h.hdr, h.payload, h.ts);
            }
        } else if last || !ctx.hold {
            ctx.stats.no_key += 1;
            self.keys = KeyState::Off;
        }
    }

    fn set_tls13(&mut self, client: Dir, alg: AeadAlg, hash: Hash, k: &SessionKeys) -> bool {
        let mut any = false;
        for (dir, phases, app) in [
            (
                client,
                [&k.client_early, &k.client_handshake, &k.client_traffic],
                &k.client_traffic,
            ),
            (
                client.flip(),
                [&None, &k.server_handshake, &k.server_traffic],
                &k.server_traffic,
            ),
        ] {
            let s = &mut self.sides[dir.index()];
            // Early data (client), handshake, application: each phase whose secret is known.
            let mut keys: VecDeque<RecordKeys> = phases
                .iter()
                .filter_map(|x| RecordKeys::tls13(alg, hash, x.as_ref()?.expose()))
                .collect();
            any |= !keys.is_empty();
            s.cur = keys.pop_front();
            s.on_app = keys.is_empty() && app.is_some();
            s.later = keys;
            s.app_secret = app.clone();
        }
        any
    }

    fn open(
        &mut self,
        ctx: &mut DecryptCtx,
        dir: Dir,
        hdr: [u8; HEADER_LEN],
        mut payload: Vec<u8>,
        ts: Timestamp,
    ) {
        let s = &mut self.sides[dir.index()];
        if s.dead {
            return;
        }
        let Some(keys) = s.cur.as_mut() else {
            return;
        };
        // TLS 1.3 during the handshake: a record that does not open with the current key may
        // be the first of a later phase; a failed open wipes the buffer, so each try works on
        // a copy.
        let spare = (!s.later.is_empty()).then(|| payload.clone());
        let mut opened = keys.open(hdr, &mut payload).ok();
        if opened.is_none()
            && let Some(copy) = spare
        {
            for i in 0..s.later.len() {
                payload.clone_from(&copy);
                if let Ok(r) = s.later[i].open(hdr, &mut payload) {
                    s.cur = s.later.remove(i);
                    s.later.drain(..i);
                    s.on_app = s.later.is_empty() && s.app_secret.is_some();
                    opened = Some(r);
                    break;
                }
            }
        }
        let Some((ty, range)) = opened else {
            ctx.stats.bad_record += 1;
            s.dead = true;
            return;
        };
        ctx.stats.records += 1;
        self.decrypted = true;
        match ty {
            APPLICATION_DATA => {
                let len = range.len();
                if len == 0 {
                    return;
                }
                ctx.stats.bytes += len as u64;
                payload.truncate(range.end);
                payload.drain(..range.start);
                match self.out.last_mut() {
                    Some(p) if p.dir == dir && p.data.len() + len <= 1 << 16 => {
                        p.data.extend_from_slice(&payload);
                        p.ts = ts;
                    }
                    _ => self.out.push(Plain {
                        dir,
                        data: payload,
                        ts,
                    }),
                }
            }
            HANDSHAKE => self.handshake(ctx, dir, &payload[range]),
            ALERT => {}
            _ => {}
        }
    }

    /// Encrypted handshake messages: EncryptedExtensions (ALPN) and KeyUpdate (TLS 1.3).
    fn handshake(&mut self, ctx: &mut DecryptCtx, dir: Dir, mut msgs: &[u8]) {
        while let [t, a, b, c, rest @ ..] = msgs {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            let Some(body) = rest.get(..len) else { return };
            msgs = &rest[len..];
            match *t {
                8 => {
                    if let Some(alpn) = alpn_of_encrypted_extensions(body) {
                        self.notices.push(Notice::Alpn(alpn));
                    }
                }
                24 => {
                    let s = &mut self.sides[dir.index()];
                    let (Some(secret), true) = (s.app_secret.as_ref(), s.on_app) else {
                        continue;
                    };
                    let Some(Protection::Tls13 { key, .. }) = s.cur.as_ref().map(|k| &k.prot)
                    else {
                        continue;
                    };
                    let (alg, hash) = match key.algorithm() {
                        a if a == &aead::AES_128_GCM => (AeadAlg::Aes128Gcm, Hash::Sha256),
                        a if a == &aead::AES_256_GCM => (AeadAlg::Aes256Gcm, Hash::Sha384),
                        _ => (AeadAlg::ChaCha20Poly1305, Hash::Sha256),
                    };
                    let mut next = Zeroizing::new(vec![0; hash.len()]);
                    if hkdf_expand_label(hash, secret.expose(), b"traffic upd", &mut next).is_some()
                    {
                        s.cur = RecordKeys::tls13(alg, hash, &next);
                        s.app_secret = Some(Secret::new(next.to_vec()));
                        ctx.stats.key_updates += 1;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The ALPN protocol of an EncryptedExtensions body.
fn alpn_of_encrypted_extensions(body: &[u8]) -> Option<Vec<u8>> {
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let mut exts = body.get(2..2 + len)?;
    while let [t0, t1, l0, l1, rest @ ..] = exts {
        let l = usize::from(u16::from_be_bytes([*l0, *l1]));
        let data = rest.get(..l)?;
        exts = &rest[l..];
        if u16::from_be_bytes([*t0, *t1]) == 16 {
            // protocol_name_list: u16 length, then u8-length names; the server picks one.
            let n = usize::from(*data.get(2)?);
            return data.get(3..3 + n).map(<[u8]>::to_vec);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8448 section 3 (simple 1-RTT handshake): traffic secret to write key and IV.
    #[test]
    fn hkdf_expand_label_rfc8448() {
        for (secret, want_key, want_iv) in [
            // {server} handshake traffic secret.
            (
                "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
                "3fce516009c21727d0f2e4e86ee403bc",
                "5d313eb2671276ee13000b30",
            ),
            // {client} handshake traffic secret.
            (
                "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
                "dbfaa693d1762c5b666af5d950258d01",
                "5bd3c71b836e0b76bb73265f",
            ),
            // {client} application traffic secret.
            (
                RFC8448_CLIENT_AP,
                "17422dda596ed5d9acd890e3c63f5051",
                "5b78923dee08579033e523d9",
            ),
        ] {
            let mut key = [0; 16];
            let mut iv = [0; 12];
            hkdf_expand_label(Hash::Sha256, &hex(secret), b"key", &mut key).unwrap();
            hkdf_expand_label(Hash::Sha256, &hex(secret), b"iv", &mut iv).unwrap();
            assert_eq!((key.to_vec(), iv.to_vec()), (hex(want_key), hex(want_iv)));
        }
    }

    const RFC8448_CLIENT_AP: &str =
        "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";

    /// RFC 8448 section 3: the client's first application-data record (50 bytes 00..31)
    /// opens with its application key and not with a handshake key.
    #[test]
    fn tls13_record_rfc8448() {
        let rec = hex(
            "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd5
             4a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4",
        );
        let hdr: [u8; 5] = rec[..5].try_into().unwrap();
        let s_hs = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let mut hs = RecordKeys::tls13(AeadAlg::Aes128Gcm, Hash::Sha256, &s_hs).unwrap();
        assert_eq!(hs.open(hdr, &mut rec[5..].to_vec()), Err(BadRecord));
        let ap = hex(RFC8448_CLIENT_AP);
        let mut app = RecordKeys::tls13(AeadAlg::Aes128Gcm, Hash::Sha256, &ap).unwrap();
        let mut payload = rec[5..].to_vec();
        let (ty, r) = app.open(hdr, &mut payload).unwrap();
        assert_eq!(ty, APPLICATION_DATA);
        assert_eq!(payload[r].to_vec(), (0..50).collect::<Vec<u8>>());
        assert_eq!(app.seq, 1);
    }

    /// The TLS 1.2 PRF (P_SHA256) test vector published by the IETF TLS working group
    /// (www.ietf.org/mail-archive/web/tls/current/msg03416.html).
    #[test]
    fn tls12_prf_sha256_vector() {
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let mut out = [0; 100];
        prf(Prf::Sha256, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out.to_vec(),
            hex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4
                 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17
                 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1
                 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66")
        );
    }

    /// Seals `content` as a MAC-then-encrypt AES-128-CBC-SHA record (the captures only have
    /// encrypt-then-MAC ones): explicit IV (TLS 1.2) or chained from `iv` (TLS 1.0).
    fn mte_record(
        key: &[u8],
        mac_key: &[u8],
        iv: [u8; 16],
        explicit: bool,
        seq: u64,
        version: u16,
        content: &[u8],
    ) -> ([u8; 5], Vec<u8>) {
        use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
        let mut aad = seq.to_be_bytes().to_vec();
        aad.push(APPLICATION_DATA);
        aad.extend_from_slice(&version.to_be_bytes());
        aad.extend_from_slice(&(content.len() as u16).to_be_bytes());
        let mut pt = content.to_vec();
        pt.extend_from_slice(&hmac_of(MacAlg::Sha1, mac_key, &[&aad, content]));
        let pad = 16 - (pt.len() + 1) % 16;
        pt.extend(std::iter::repeat_n(pad as u8, pad + 1));
        let n = pt.len();
        cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .unwrap()
            .encrypt_padded_mut::<NoPadding>(&mut pt, n)
            .unwrap();
        let payload = if explicit {
            [&iv[..], &pt].concat()
        } else {
            pt
        };
        let [hi, lo] = (payload.len() as u16).to_be_bytes();
        let [v0, v1] = version.to_be_bytes();
        ([APPLICATION_DATA, v0, v1, hi, lo], payload)
    }

    #[test]
    fn cbc_mac_then_encrypt() {
        let (master, cr, sr) = ([5u8; 48], [1u8; 32], [2u8; 32]);
        for (version, prf_kind) in [(0x0303, Prf::Sha256), (0x0301, Prf::Legacy)] {
            let suite = Suite::Cbc {
                key_len: 16,
                mac: MacAlg::Sha1,
                prf: prf_kind,
            };
            let mut block = [0u8; 2 * (20 + 16 + 16)];
            prf(prf_kind, &master, b"key expansion", &[&sr, &cr], &mut block);
            let (cmac, ckey) = (&block[..20], &block[40..56]);
            let civ: [u8; 16] = block[72..88].try_into().unwrap();
            let (mut c, _) = RecordKeys::tls12(suite, version, &master, &cr, &sr, false).unwrap();
            let explicit = version >= 0x0302;
            // TLS 1.0: each record's IV is the previous record's last ciphertext block.
            let mut iv = if explicit { [9u8; 16] } else { civ };
            for (seq, text) in [&b"GET / HTTP/1.1\r\n\r\n"[..], b"x", &[b'y'; 100]]
                .iter()
                .enumerate()
            {
                let (hdr, mut payload) =
                    mte_record(ckey, cmac, iv, explicit, seq as u64, version, text);
                if !explicit {
                    iv = payload[payload.len() - 16..].try_into().unwrap();
                }
                let (ty, r) = c.open(hdr, &mut payload).unwrap();
                assert_eq!((ty, &payload[r]), (APPLICATION_DATA, *text), "{version:x}");
            }
            // A flipped bit fails the MAC (or the padding).
            let (hdr, mut payload) = mte_record(ckey, cmac, iv, explicit, 3, version, b"zz");
            let last = payload.len() - 20;
            payload[last] ^= 1;
            assert_eq!(c.open(hdr, &mut payload), Err(BadRecord));
        }
    }

    #[test]
    fn suites() {
        assert_eq!(
            suite(0x0304, 0x1303),
            Some(Suite::Tls13(AeadAlg::ChaCha20Poly1305, Hash::Sha256))
        );
        assert_eq!(
            suite(0x0303, 0xc030),
            Some(Suite::Aead(AeadAlg::Aes256Gcm, Prf::Sha384))
        );
        assert_eq!(suite(0x0302, 0xc030), None, "GCM needs TLS 1.2");
        assert!(matches!(
            suite(0x0301, 0xc013),
            Some(Suite::Cbc {
                prf: Prf::Legacy,
                ..
            })
        ));
        assert_eq!(suite(0x0303, 0x000a), None, "3DES is not decrypted");
        assert_eq!(suite(0x0300, 0x002f), None, "SSL 3.0 is not decrypted");
    }

    #[test]
    fn alpn_from_encrypted_extensions() {
        // Extensions: supported_groups (empty payload, 0 bytes), ALPN "h2".
        let body = [0, 13, 0, 10, 0, 0, 0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
        assert_eq!(alpn_of_encrypted_extensions(&body), Some(b"h2".to_vec()));
        assert_eq!(alpn_of_encrypted_extensions(&body[..8]), None);
    }
}
