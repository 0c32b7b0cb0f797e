//! A small HyperLogLog: the number of distinct clients of an endpoint in 1 KiB, whatever the
//! number of clients (standard error about 3%).

/// Registers: 2^10.
const P: u32 = 10;
const M: usize = 1 << P;

/// A HyperLogLog sketch with 1024 one-byte registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hll {
    regs: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll { regs: vec![0; M] }
    }
}

impl Hll {
    /// Adds an item (any bytes); true when the sketch changed (the estimate may have moved).
    pub fn insert(&mut self, item: &[u8]) -> bool {
        let h = hash64(item);
        let idx = (h >> (64 - P)) as usize;
        let rest = (h << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.regs[idx] < rank {
            self.regs[idx] = rank;
            return true;
        }
        false
    }

    /// Merges another sketch into this one.
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.regs.iter_mut().zip(&other.regs) {
            *a = (*a).max(*b);
        }
    }

    /// Estimated number of distinct items.
    pub fn estimate(&self) -> u64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.regs.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.regs.iter().filter(|&&r| r == 0).count();
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as u64
    }

    /// The registers, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.regs.clone()
    }

    /// A sketch from stored registers (an empty sketch when they are not 1024 bytes).
    pub fn from_bytes(b: &[u8]) -> Hll {
        if b.len() == M {
            Hll { regs: b.to_vec() }
        } else {
            Hll::default()
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
}
