//! Typed counters: every statistics type of the pipeline (`EngineStats`, `HttpStats`,
//! `InventoryStats`, ...) implements [`Counters`], so totals over workers or files and the
//! change over one file are computed on the types themselves, field by field, and a field
//! added to a type without being listed in its [`counters!`](crate::counters!) line does not
//! compile (no counter silently left out of a sum).
//!
//! What it owns: the arithmetic of counters. What it may not touch: where counters come from
//! or how they are shown (JSON, Prometheus, pages).

use std::collections::BTreeMap;

/// Counts that add up.
pub trait Counters: Sized {
    /// Adds `other`'s counts (gauges too: the total over workers or files).
    fn add(&mut self, other: &Self);
    /// What changed since `before`: the difference of each counter (never below zero), the
    /// current value of each gauge.
    fn since(&self, before: &Self) -> Self;
}

impl Counters for u64 {
    fn add(&mut self, other: &Self) {
        *self = self.saturating_add(*other);
    }
    fn since(&self, before: &Self) -> Self {
        self.saturating_sub(*before)
    }
}

/// Counters by name (`decode_errors` by kind, packets by link type): added key by key.
impl<V: Counters + Clone + Default> Counters for BTreeMap<String, V> {
    fn add(&mut self, other: &Self) {
        for (k, v) in other {
            match self.get_mut(k) {
                Some(mine) => mine.add(v),
                None => {
                    self.insert(k.clone(), v.clone());
                }
            }
        }
    }
    fn since(&self, before: &Self) -> Self {
        self.iter()
            .map(|(k, v)| {
                let d = before.get(k).map_or_else(|| v.clone(), |b| v.since(b));
                (k.clone(), d)
            })
            .collect()
    }
}

/// Counters that a source may not have (the kernel's, of a live capture).
impl<T: Counters + Clone> Counters for Option<T> {
    fn add(&mut self, other: &Self) {
        match (self.as_mut(), other) {
            (Some(mine), Some(o)) => mine.add(o),
            (None, Some(o)) => *self = Some(o.clone()),
            _ => {}
        }
    }
    fn since(&self, before: &Self) -> Self {
        match (self, before) {
            (Some(a), Some(b)) => Some(a.since(b)),
            (a, _) => a.clone(),
        }
    }
}

/// Implements [`Counters`] (and `+=`) for a struct: `counters!(Type { counter, ... })`, and
/// optionally `gauges { field, ... }` for values held now (summed in totals, taken as they
/// are in [`Counters::since`]). Every field must be listed once.
#[macro_export]
macro_rules! counters {
    ($t:ty { $($f:ident),* $(,)? } $(gauges { $($g:ident),* $(,)? })?) => {
        impl $crate::counters::Counters for $t {
            fn add(&mut self, other: &Self) {
                $( $crate::counters::Counters::add(&mut self.$f, &other.$f); )*
                $($( self.$g = self.$g.saturating_add(other.$g); )*)?
            }
            fn since(&self, before: &Self) -> Self {
                Self {
                    $( $f: $crate::counters::Counters::since(&self.$f, &before.$f), )*
                    $($( $g: self.$g, )*)?
                }
            }
        }
        impl ::std::ops::AddAssign<&$t> for $t {
            fn add_assign(&mut self, other: &$t) {
                $crate::counters::Counters::add(self, other);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Default, PartialEq)]
    struct Inner {
        hits: u64,
        by_kind: BTreeMap<String, u64>,
    }
    crate::counters!(Inner { hits, by_kind });

    #[derive(Clone, Debug, Default, PartialEq)]
    struct Outer {
        inner: Inner,
        kernel: Option<u64>,
        held_now: u64,
    }
    crate::counters!(Outer { inner, kernel } gauges { held_now });

    fn outer(hits: u64, kind: &[(&str, u64)], kernel: Option<u64>, held_now: u64) -> Outer {
        Outer {
            inner: Inner {
                hits,
                by_kind: kind.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            },
            kernel,
            held_now,
        }
    }

    #[test]
    fn totals_add_every_field() {
        let mut t = outer(1, &[("a", 1)], None, 5);
        t += &outer(2, &[("a", 2), ("b", 7)], Some(3), 6);
        assert_eq!(t, outer(3, &[("a", 3), ("b", 7)], Some(3), 11));
        t += &outer(u64::MAX, &[], Some(1), 0);
        assert_eq!(t.inner.hits, u64::MAX, "saturates");
        assert_eq!(t.kernel, Some(4));
    }

    #[test]
    fn since_takes_differences_and_current_gauges() {
        let before = outer(10, &[("a", 4)], Some(2), 9);
        let after = outer(15, &[("a", 6), ("b", 1)], Some(5), 3);
        assert_eq!(
            after.since(&before),
            outer(5, &[("a", 2), ("b", 1)], Some(3), 3)
        );
        // A counter that went down (a restart) counts as zero, not as a wrap.
        assert_eq!(before.since(&after).inner.hits, 0);
    }
}
