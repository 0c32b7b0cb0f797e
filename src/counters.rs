//! Typed counters: every statistics type of the pipeline (`EngineStats`, `HttpStats`,
//! `InventoryStats`, ...) implements [`Counters`], so totals over workers or files and the
//! change over one file are computed on the types themselves, field by field, and a field
//! added to a type without being listed in its [`counters!`](crate::counters!) line does not
//! compile (no counter silently left out of a sum).
//!
//! The same line gives every type a typed walk over its counters by name
//! ([`Counters::entries`]), which the text report, the Sensor page and `/metrics` read instead
//! of a JSON rendering looked up by string paths: a renamed field is renamed everywhere.
//!
//! What it owns: the arithmetic of counters, their names, and what a cap dropped
//! ([`CapDrop`]). What it may not touch: where counters come from or how they are shown
//! (JSON, Prometheus, pages).

use std::collections::BTreeMap;

/// Counts that add up.
pub trait Counters: Sized {
    /// Adds `other`'s counts (gauges too: the total over workers or files).
    fn add(&mut self, other: &Self);
    /// What changed since `before`: the difference of each counter (never below zero), the
    /// current value of each gauge.
    fn since(&self, before: &Self) -> Self;
    /// Pushes this value onto `out` under `name`: a number as [`Entry::Count`], a struct or a
    /// map as an [`Entry::Group`] of its fields or keys (an absent `Option` pushes nothing).
    fn visit<'a>(&'a self, name: &'a str, out: &mut Vec<Entry<'a>>);

    /// The fields of a struct (the keys of a map), in the order its `counters!` line lists
    /// them, counters before gauges.
    fn entries(&self) -> Vec<Entry<'_>> {
        let mut out = Vec::new();
        self.visit("", &mut out);
        match out.pop() {
            Some(Entry::Group(_, children)) => children,
            Some(count) => vec![count],
            None => Vec::new(),
        }
    }
}

/// A counter, or a group of them, by name: what [`Counters::entries`] walks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// One number.
    Count(&'a str, u64),
    /// The fields of a struct or the keys of a map.
    Group(&'a str, Vec<Entry<'a>>),
}

impl<'a> Entry<'a> {
    /// The name of the counter or group.
    pub fn name(&self) -> &'a str {
        match self {
            Entry::Count(n, _) | Entry::Group(n, _) => n,
        }
    }

    /// Every number under this entry with its dotted name (`tcp.gaps`,
    /// `decode_errors.ipv4`), `prefix` first.
    pub fn flatten(&self, prefix: &str, out: &mut Vec<(String, u64)>) {
        let name = match (prefix.is_empty(), self.name().is_empty()) {
            (_, true) => prefix.to_string(),
            (true, false) => self.name().to_string(),
            (false, false) => format!("{prefix}.{}", self.name()),
        };
        match self {
            Entry::Count(_, v) => out.push((name, *v)),
            Entry::Group(_, children) => {
                for c in children {
                    c.flatten(&name, out);
                }
            }
        }
    }
}

/// What one cap of the pipeline dropped: named as in the daemon's
/// `shadowtap_cap_drops_total{cap}`, the same in `ingest --stats` and on the Sensor page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CapDrop {
    /// The cap.
    pub cap: &'static str,
    /// What it dropped.
    pub what: &'static str,
    /// How many.
    pub count: u64,
}

impl CapDrop {
    /// A cap and its count.
    pub const fn new(cap: &'static str, what: &'static str, count: u64) -> CapDrop {
        CapDrop { cap, what, count }
    }
}

impl Counters for u64 {
    fn add(&mut self, other: &Self) {
        *self = self.saturating_add(*other);
    }
    fn since(&self, before: &Self) -> Self {
        self.saturating_sub(*before)
    }
    fn visit<'a>(&'a self, name: &'a str, out: &mut Vec<Entry<'a>>) {
        out.push(Entry::Count(name, *self));
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
    fn visit<'a>(&'a self, name: &'a str, out: &mut Vec<Entry<'a>>) {
        let mut children = Vec::with_capacity(self.len());
        for (k, v) in self {
            v.visit(k, &mut children);
        }
        out.push(Entry::Group(name, children));
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
    fn visit<'a>(&'a self, name: &'a str, out: &mut Vec<Entry<'a>>) {
        if let Some(v) = self {
            v.visit(name, out);
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
            fn visit<'a>(
                &'a self,
                name: &'a str,
                out: &mut Vec<$crate::counters::Entry<'a>>,
            ) {
                let mut fields = Vec::new();
                $( $crate::counters::Counters::visit(&self.$f, stringify!($f), &mut fields); )*
                $($( fields.push($crate::counters::Entry::Count(stringify!($g), self.$g)); )*)?
                out.push($crate::counters::Entry::Group(name, fields));
            }
        }
        impl ::std::ops::AddAssign<&$t> for $t {
            fn add_assign(&mut self, other: &$t) {
                $crate::counters::Counters::add(self, other);
            }
        }
    };
}

/// `n` and its noun, singular for one: `1 endpoint`, `2 endpoints`, `0 findings` (every
/// count printed for a user reads this way).
pub fn plural(n: impl Into<i128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
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

    #[test]
    fn entries_walk_fields_by_name_in_listed_order() {
        let o = outer(1, &[("b", 2), ("a", 3)], None, 4);
        let e = o.entries();
        assert_eq!(
            e,
            vec![
                Entry::Group(
                    "inner",
                    vec![
                        Entry::Count("hits", 1),
                        Entry::Group("by_kind", vec![Entry::Count("a", 3), Entry::Count("b", 2)]),
                    ]
                ),
                // `kernel` is absent: nothing; the gauge comes after the counters.
                Entry::Count("held_now", 4),
            ]
        );
        let mut flat = Vec::new();
        for x in &e {
            x.flatten("", &mut flat);
        }
        let flat: Vec<(&str, u64)> = flat.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            flat,
            [
                ("inner.hits", 1),
                ("inner.by_kind.a", 3),
                ("inner.by_kind.b", 2),
                ("held_now", 4)
            ]
        );
    }
}
