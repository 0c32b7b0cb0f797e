//! A small HyperLogLog: the number of distinct clients of an endpoint in at most 1 KiB,
//! whatever the number of clients (standard error about 3%).
//!
//! Most sketches count a handful of items (the clients of one transition, the principals of
//! a rarely used endpoint), so a sketch starts **sparse**: the non-zero registers only, as
//! sorted `(index, rank)` pairs packed in 16 bits (4 bytes per item in memory with the vector's
//! slack, 2 bytes stored), and turns dense (1024 one-byte registers) once it holds more than
//! [`SPARSE_MAX`] registers, where dense is smaller. Estimates are the same either way: the
//! sparse form is the dense one with the zero registers left out.

/// Registers: 2^10.
const P: u32 = 10;
const M: usize = 1 << P;
/// Non-zero registers kept sparse at most (beyond, the dense form is smaller).
pub const SPARSE_MAX: usize = 256;
/// First byte of a stored sparse sketch (a dense one is exactly 1024 bytes).
const SPARSE_TAG: u8 = 0x53;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Regs {
    /// Sorted by index: `index << 6 | rank`.
    Sparse(Vec<u16>),
    Dense(Box<[u8; M]>),
}

/// A HyperLogLog sketch with 1024 one-byte registers, sparse while small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hll {
    regs: Regs,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            regs: Regs::Sparse(Vec::new()),
        }
    }
}

fn pack(idx: usize, rank: u8) -> u16 {
    ((idx as u16) << 6) | u16::from(rank.min(63))
}

fn unpack(e: u16) -> (usize, u8) {
    (usize::from(e >> 6), (e & 63) as u8)
}

impl Hll {
    /// Adds an item (any bytes); true when the sketch changed (the estimate may have moved).
    pub fn insert(&mut self, item: &[u8]) -> bool {
        let h = hash64(item);
        let idx = (h >> (64 - P)) as usize;
        let rest = (h << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        self.set(idx, rank)
    }

    /// Raises register `idx` to `rank`; true when it changed.
    fn set(&mut self, idx: usize, rank: u8) -> bool {
        match &mut self.regs {
            Regs::Dense(r) => {
                if r[idx] < rank {
                    r[idx] = rank;
                    return true;
                }
                false
            }
            Regs::Sparse(v) => {
                match v.binary_search_by_key(&idx, |e| unpack(*e).0) {
                    Ok(i) => {
                        if unpack(v[i]).1 < rank {
                            v[i] = pack(idx, rank);
                            return true;
                        }
                        return false;
                    }
                    Err(i) => v.insert(i, pack(idx, rank)),
                }
                if v.len() > SPARSE_MAX {
                    self.densify();
                }
                true
            }
        }
    }

    fn densify(&mut self) {
        if let Regs::Sparse(v) = &self.regs {
            let mut d = Box::new([0u8; M]);
            for &e in v {
                let (i, r) = unpack(e);
                if let Some(slot) = d.get_mut(i) {
                    *slot = (*slot).max(r);
                }
            }
            self.regs = Regs::Dense(d);
        }
    }

    /// The non-zero registers.
    fn registers(&self) -> Vec<(usize, u8)> {
        match &self.regs {
            Regs::Sparse(v) => v.iter().map(|e| unpack(*e)).collect(),
            Regs::Dense(d) => d
                .iter()
                .enumerate()
                .filter(|(_, r)| **r > 0)
                .map(|(i, r)| (i, *r))
                .collect(),
        }
    }

    /// Merges another sketch into this one.
    pub fn merge(&mut self, other: &Hll) {
        match (&mut self.regs, &other.regs) {
            (Regs::Dense(a), Regs::Dense(b)) => {
                for (x, y) in a.iter_mut().zip(b.iter()) {
                    *x = (*x).max(*y);
                }
            }
            _ => {
                for (i, r) in other.registers() {
                    self.set(i, r);
                }
            }
        }
    }

    /// Estimated number of distinct items.
    pub fn estimate(&self) -> u64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let regs = self.registers();
        let zeros = M - regs.len();
        let sum: f64 = zeros as f64
            + regs
                .iter()
                .map(|&(_, r)| 2f64.powi(-i32::from(r)))
                .sum::<f64>();
        let raw = alpha * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as u64
    }

    /// The sketch, for storage: 1024 bytes when dense, `0x53` and two bytes per non-zero
    /// register when sparse.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.regs {
            Regs::Dense(d) => d.to_vec(),
            Regs::Sparse(v) => {
                let mut out = Vec::with_capacity(1 + 2 * v.len());
                out.push(SPARSE_TAG);
                for e in v {
                    out.extend_from_slice(&e.to_le_bytes());
                }
                out
            }
        }
    }

    /// A sketch from stored bytes (either form; an empty sketch when they are neither).
    pub fn from_bytes(b: &[u8]) -> Hll {
        if b.len() == M {
            let mut d = Box::new([0u8; M]);
            d.copy_from_slice(b);
            let mut h = Hll {
                regs: Regs::Dense(d),
            };
            // Stored dense before sparse sketches existed: small ones shrink back.
            let regs = h.registers();
            if regs.len() <= SPARSE_MAX {
                h.regs = Regs::Sparse(regs.into_iter().map(|(i, r)| pack(i, r)).collect());
            }
            return h;
        }
        if b.first() == Some(&SPARSE_TAG) && b.len() % 2 == 1 && b.len() <= 1 + 2 * SPARSE_MAX {
            let mut h = Hll::default();
            for pair in b[1..].chunks_exact(2) {
                let (i, r) = unpack(u16::from_le_bytes([pair[0], pair[1]]));
                if i < M && r > 0 {
                    h.set(i, r);
                }
            }
            return h;
        }
        Hll::default()
    }

    /// Bytes this sketch holds in memory (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        match &self.regs {
            Regs::Sparse(v) => v.capacity() * 2,
            Regs::Dense(_) => M,
        }
    }
}

/// FNV-1a followed by a 64-bit finaliser (murmur3's fmix64): stable across runs and versions.
fn hash64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_within_a_few_percent() {
        for n in [0u64, 1, 10, 100, 1000, 20_000, 200_000] {
            let mut h = Hll::default();
            for i in 0..n {
                h.insert(format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255).as_bytes());
                h.insert(format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255).as_bytes());
            }
            let e = h.estimate() as f64;
            let err = if n == 0 {
                e
            } else {
                (e - n as f64).abs() / n as f64
            };
            assert!(err < 0.1, "n={n} estimate={e}");
        }
    }

    #[test]
    fn insert_says_when_the_sketch_changed() {
        let mut h = Hll::default();
        assert!(h.insert(b"alice"));
        assert!(!h.insert(b"alice"), "the same item twice changes nothing");
        let changed = (0..100u32).filter(|i| h.insert(&i.to_le_bytes())).count();
        assert!(changed > 90, "{changed}");
    }

    #[test]
    fn merge_is_union() {
        let (mut a, mut b) = (Hll::default(), Hll::default());
        for i in 0..5000u32 {
            a.insert(&i.to_be_bytes());
            b.insert(&(i + 2500).to_be_bytes());
        }
        a.merge(&b);
        let e = a.estimate() as f64;
        assert!((e - 7500.0).abs() / 7500.0 < 0.1, "{e}");
        assert_eq!(Hll::from_bytes(&a.to_bytes()), a);
        assert_eq!(Hll::from_bytes(b"short"), Hll::default());
    }

    #[test]
    fn small_sketches_stay_small_and_estimate_alike() {
        let mut sparse = Hll::default();
        for i in 0..50u32 {
            sparse.insert(&i.to_be_bytes());
        }
        let stored = sparse.to_bytes();
        assert!(stored.len() <= 1 + 2 * 50, "{}", stored.len());
        assert!(sparse.heap_bytes() < 256);
        let back = Hll::from_bytes(&stored);
        assert_eq!(back, sparse);
        assert_eq!(back.estimate(), sparse.estimate());
        // The same items in a dense sketch (as stored before) estimate the same.
        let mut dense_bytes = vec![0u8; 1024];
        for (i, r) in sparse.registers() {
            dense_bytes[i] = r;
        }
        assert_eq!(Hll::from_bytes(&dense_bytes).estimate(), sparse.estimate());
        // Growing past the sparse limit turns dense; merging mixes forms.
        let mut big = Hll::default();
        for i in 0..5000u32 {
            big.insert(&i.to_le_bytes());
        }
        assert_eq!(big.to_bytes().len(), 1024);
        let mut m = sparse.clone();
        m.merge(&big);
        let mut m2 = big.clone();
        m2.merge(&sparse);
        assert_eq!(m.estimate(), m2.estimate());
        // Hostile stored bytes never panic.
        for bad in [
            &[0x53u8, 0xff, 0xff][..],
            &[0x53, 1],
            &[0x53; 7],
            &[0u8; 1025],
        ] {
            let _ = Hll::from_bytes(bad).estimate();
        }
    }
}
