//! The template learners of every host, shared by every analysis worker.
//!
//! A [`TemplateBook`] holds one [`TemplateLearner`] per host behind sharded locks, so that
//! the workers of the sensor daemon (each seeing a share of the connections) learn one set
//! of templates together and name every endpoint alike, exactly as a single-process ingest
//! of the same traffic does. It is bounded: at most `max_hosts` learners; when a new host
//! arrives and its shard is full, the learner with the least evidence (fewest successful
//! responses, then fewest requests, then least recently seen) is evicted, so that a flood of
//! one-hit junk `Host` values can never displace an API with real traffic (counted in
//! [`BookStats::hosts_evicted`]). Pins (configuration, spec, `shadowtap template pin`) and
//! seeds (templates learned in earlier runs, from the store) are applied to every learner
//! when it is created, also after an eviction.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{Observation, TemplateConfig, TemplateLearner, TemplateMatch, TemplateStats};

/// Lock shards at most (fewer for small books: one per 64 hosts).
const SHARDS: usize = 16;
/// A learner with at most this much evidence (4 per successful response, 1 per request) may
/// be evicted for a newcomer.
const JUNK_EVIDENCE: u64 = 16;
/// A learner not asked for during this many observations (of any host) may be evicted.
const IDLE_TICKS: u64 = 5_000_000;
/// Seeds remembered per host (templates learned in earlier runs).
const MAX_SEEDS_PER_HOST: usize = 20_000;
/// Hosts with remembered seeds.
const MAX_SEEDED_HOSTS: usize = 4096;

/// Counters of a [`TemplateBook`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BookStats {
    /// Hosts with a learner now.
    pub hosts: usize,
    /// Learners evicted to make room for a new host (junk or idle ones only).
    pub hosts_evicted: u64,
    /// Observations of hosts refused a learner (the table was full of busy hosts): they are
    /// templated by value types alone.
    pub hosts_over_cap: u64,
    /// Trie nodes across all learners.
    pub nodes: usize,
    /// The learners' counters, added up.
    pub learners: TemplateStats,
}

struct HostState {
    learner: TemplateLearner,
    hits: u64,
    successes: u64,
    last: u64,
    /// Learner generation when the store last re-templated this host's rows.
    reported: u64,
}

#[derive(Default)]
struct Shard {
    hosts: HashMap<String, HostState>,
    evicted: u64,
    /// Cap counters of the learners evicted from this shard (so that the book's counters
    /// never go down): node cap hits, child overflows, truncated paths, oversize segments,
    /// pins rejected.
    gone: [u64; 5],
}

/// Per-host learners shared by every worker (see the module docs).
pub struct TemplateBook {
    cfg: TemplateConfig,
    per_shard: usize,
    /// An empty learner: templates by value types alone, for hosts refused a learner.
    empty: TemplateLearner,
    over_cap: AtomicU64,
    shards: Vec<Mutex<Shard>>,
    clock: AtomicU64,
    /// Pins for every host (`None`) or one host, applied to new learners.
    pins: Mutex<Vec<(Option<String>, String)>>,
    /// Templates learned before, per host (lower case), with their stored rules.
    seeds: Mutex<HashMap<String, Vec<(String, String)>>>,
}

impl std::fmt::Debug for TemplateBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateBook")
            .field("cfg", &self.cfg)
            .field("per_shard", &self.per_shard)
            .finish_non_exhaustive()
    }
}

fn shard_of(host: &str, shards: usize) -> usize {
    let h = foldhash::fast::FixedState::with_seed(0x5eed_b00c).hash_one(host);
    (h as usize) % shards.max(1)
}

impl TemplateBook {
    /// A book of at most `max_hosts` learners with limits `cfg` each.
    pub fn new(cfg: TemplateConfig, max_hosts: usize) -> TemplateBook {
        let shards = (max_hosts / 64).clamp(1, SHARDS);
        TemplateBook {
            empty: TemplateLearner::with_config(cfg.clone()),
            over_cap: AtomicU64::new(0),
            cfg,
            per_shard: max_hosts.max(1).div_ceil(shards),
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            clock: AtomicU64::new(0),
            pins: Mutex::new(Vec::new()),
            seeds: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self, host: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = shard_of(host, self.shards.len());
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh_learner(&self, host: &str) -> TemplateLearner {
        let mut l = TemplateLearner::with_config(self.cfg.clone());
        let pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        for (h, t) in pins.iter() {
            if h.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host)) {
                let _ = l.pin(t);
            }
        }
        drop(pins);
        let seeds = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = seeds.get(&host.to_ascii_lowercase()) {
            for (t, rules) in list {
                l.seed(t, rules);
            }
        }
        l
    }

    /// Runs `f` on the learner of `host`, creating it (evicting a junk or idle one if the
    /// table is full); `None` when the table is full of busy hosts.
    fn with_learner<R>(&self, host: &str, f: impl FnOnce(&mut HostState) -> R) -> Option<R> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut shard = self.lock(host);
        if !shard.hosts.contains_key(host) {
            if shard.hosts.len() >= self.per_shard {
                let evidence = |s: &HostState| s.successes.saturating_mul(4).saturating_add(s.hits);
                let victim = shard
                    .hosts
                    .iter()
                    .min_by(|a, b| {
                        (evidence(a.1), a.1.last, a.0).cmp(&(evidence(b.1), b.1.last, b.0))
                    })
                    .map(|(k, s)| (k.clone(), evidence(s), s.last));
                let idle = shard
                    .hosts
                    .iter()
                    .filter(|(_, s)| now.saturating_sub(s.last) > IDLE_TICKS)
                    .min_by_key(|(k, s)| (s.last, (*k).clone()))
                    .map(|(k, _)| k.clone());
                let evict = match (victim, idle) {
                    (Some((v, ev, _)), _) if ev <= JUNK_EVIDENCE => Some(v),
                    (_, Some(i)) => Some(i),
                    _ => None,
                };
                match evict {
                    Some(v) => {
                        if let Some(old) = shard.hosts.remove(&v) {
                            let t = old.learner.stats();
                            for (g, n) in shard.gone.iter_mut().zip([
                                t.node_cap_hits,
                                t.child_overflows,
                                t.truncated_paths,
                                t.oversize_segments,
                                t.pins_rejected,
                            ]) {
                                *g += n;
                            }
                        }
                        shard.evicted += 1;
                    }
                    None => return None,
                }
            }
            let learner = self.fresh_learner(host);
            let reported = learner.generation();
            shard.hosts.insert(
                host.to_string(),
                HostState {
                    learner,
                    hits: 0,
                    successes: 0,
                    last: now,
                    reported,
                },
            );
        }
        let state = shard.hosts.get_mut(host)?;
        state.last = now;
        Some(f(state))
    }

    /// Learns one observation for `host` (see [`TemplateLearner::observe_with`]); `success`
    /// says whether it was answered 2xx/3xx (evidence that the host is real).
    pub fn observe(&self, host: &str, obs: Observation<'_>, success: bool) -> TemplateMatch {
        let learned = self.with_learner(host, |s| {
            s.hits += 1;
            s.successes += u64::from(success);
            s.learner.observe_with(obs)
        });
        learned.unwrap_or_else(|| {
            self.over_cap.fetch_add(1, Ordering::Relaxed);
            self.empty.resolve_match(obs.path)
        })
    }

    /// Records a GET response structure (see [`TemplateLearner::note_shape`]).
    pub fn note_shape(&self, host: &str, path: &str, shape: u64) {
        let mut shard = self.lock(host);
        if let Some(s) = shard.hosts.get_mut(host) {
            s.learner.note_shape(path, shape);
        }
    }

    /// Weighs every position that changed, in every learner; returns the hosts whose
    /// templates changed since [`TemplateBook::take_changed`] last reported them.
    pub fn settle(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for s in shard.hosts.values_mut() {
                s.learner.settle();
            }
        }
    }

    /// Hosts whose templates changed (collapses, constants, seeds) since the last call:
    /// their stored endpoints may need re-templating.
    pub fn take_changed(&self) -> Vec<String> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for (h, s) in shard.hosts.iter_mut() {
                let g = s.learner.generation();
                if g != s.reported {
                    s.reported = g;
                    out.push(h.clone());
                }
            }
        }
        out.sort();
        out
    }

    /// The current template of `path` on `host` (no learning); `None` for a host without a
    /// learner.
    pub fn resolve(&self, host: &str, path: &str) -> Option<TemplateMatch> {
        let shard = self.lock(host);
        shard.hosts.get(host).map(|s| s.learner.resolve_match(path))
    }

    /// The current template of an endpoint stored as `template` (see
    /// [`TemplateLearner::retemplate`]); `None` when it is current or the host is unknown.
    pub fn retemplate(
        &self,
        host: &str,
        template: &str,
        example: Option<&str>,
    ) -> Option<TemplateMatch> {
        let shard = self.lock(host);
        shard
            .hosts
            .get(host)
            .and_then(|s| s.learner.retemplate(template, example))
    }

    /// Pins `template` for `host` (`None`: every host), in existing and future learners.
    pub fn pin(&self, host: Option<&str>, template: &str) {
        {
            let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
            if pins.len() >= self.cfg.max_pins.saturating_mul(4).max(1024) {
                return;
            }
            let entry = (host.map(str::to_string), template.to_string());
            if pins.contains(&entry) {
                return;
            }
            pins.push(entry);
        }
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for (h, s) in shard.hosts.iter_mut() {
                if host.is_none_or(|x| x.eq_ignore_ascii_case(h)) {
                    let _ = s.learner.pin(template);
                }
            }
        }
    }

    /// Remembers a template learned before for `host` (with its stored per-segment rules),
    /// and teaches it to the host's learner (see [`TemplateLearner::seed`]).
    pub fn seed(&self, host: &str, template: &str, rules: &str) {
        {
            let mut seeds = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
            let key = host.to_ascii_lowercase();
            if !seeds.contains_key(&key) && seeds.len() >= MAX_SEEDED_HOSTS {
                return;
            }
            let list = seeds.entry(key).or_default();
            if list.len() >= MAX_SEEDS_PER_HOST {
                return;
            }
            list.push((template.to_string(), rules.to_string()));
        }
        let mut shard = self.lock(host);
        if let Some(s) = shard.hosts.get_mut(host) {
            s.learner.seed(template, rules);
            s.reported = s.learner.generation();
        }
    }

    /// A text dump of the learner of `host` (see [`TemplateLearner::dump`]).
    pub fn dump(&self, host: &str, max_lines: usize) -> Option<String> {
        let shard = self.lock(host);
        shard.hosts.get(host).map(|s| s.learner.dump(max_lines))
    }

    /// Counters, added up over the learners.
    pub fn stats(&self) -> BookStats {
        let mut out = BookStats {
            hosts_over_cap: self.over_cap.load(Ordering::Relaxed),
            ..BookStats::default()
        };
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            out.hosts += shard.hosts.len();
            out.hosts_evicted += shard.evicted;
            let l = &mut out.learners;
            l.node_cap_hits += shard.gone[0];
            l.child_overflows += shard.gone[1];
            l.truncated_paths += shard.gone[2];
            l.oversize_segments += shard.gone[3];
            l.pins_rejected += shard.gone[4];
            for s in shard.hosts.values() {
                let t = s.learner.stats();
                out.nodes += t.nodes;
                let l = &mut out.learners;
                l.observations += t.observations;
                l.pinned_matches += t.pinned_matches;
                l.nodes += t.nodes;
                l.peak_nodes = l.peak_nodes.max(t.peak_nodes);
                l.node_cap_hits += t.node_cap_hits;
                l.capped_segments += t.capped_segments;
                l.child_overflows += t.child_overflows;
                l.cap_collapses += t.cap_collapses;
                l.evaluations += t.evaluations;
                l.promotions += t.promotions;
                l.merged_nodes += t.merged_nodes;
                l.constants += t.constants;
                l.truncated_paths += t.truncated_paths;
                l.oversize_segments += t.oversize_segments;
                l.pins_rejected += t.pins_rejected;
                l.generation += t.generation;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(path: &str) -> Observation<'_> {
        Observation {
            query: None,
            path,
            method: "GET",
        }
    }

    #[test]
    fn junk_hosts_never_displace_a_busy_api() {
        let book = TemplateBook::new(TemplateConfig::default(), 16);
        for i in 0..200 {
            book.observe("api.real.test", obs(&format!("/users/{i}")), true);
        }
        for i in 0..10_000 {
            book.observe(&format!("junk{i}.test"), obs("/x"), false);
        }
        let st = book.stats();
        assert!(st.hosts <= 16, "{st:?}");
        assert!(st.hosts_evicted > 9_000, "{st:?}");
        assert_eq!(
            book.resolve("api.real.test", "/users/7")
                .map(|m| m.template),
            Some("/users/{user_id}".to_string())
        );
    }

    #[test]
    fn cap_counters_survive_the_eviction_of_their_learner() {
        let book = TemplateBook::new(TemplateConfig::default(), 2);
        let long = format!("/{}", vec!["a"; 100].join("/"));
        book.observe("long.test", obs(&long), false);
        assert_eq!(book.stats().learners.truncated_paths, 1);
        // Junk hosts push the learner of long.test out; its count stays.
        for i in 0..50 {
            book.observe(&format!("junk{i}.test"), obs("/x"), false);
        }
        let st = book.stats();
        assert!(st.hosts_evicted > 0, "{st:?}");
        assert_eq!(st.learners.truncated_paths, 1, "{st:?}");
    }

    #[test]
    fn pins_and_seeds_reach_new_learners() {
        let book = TemplateBook::new(TemplateConfig::default(), 64);
        book.pin(Some("a.test"), "/x/{name}");
        book.seed(
            "b.test",
            "/orgs/{org}/members",
            "scaffold/vocabulary/literal",
        );
        assert_eq!(
            book.observe("a.test", obs("/x/anything"), true).template,
            "/x/{name}"
        );
        assert_eq!(
            book.observe("b.test", obs("/orgs/acme/members"), true)
                .template,
            "/orgs/{org}/members"
        );
        // A host without pins learns as usual.
        assert_eq!(
            book.observe("c.test", obs("/x/anything"), true).template,
            "/x/anything"
        );
    }

    #[test]
    fn workers_share_one_learner() {
        let book = std::sync::Arc::new(TemplateBook::new(TemplateConfig::default(), 64));
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let b = book.clone();
                std::thread::spawn(move || {
                    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (w as u64 + 1);
                    for _ in 0..200 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let user: String = (0..7)
                            .map(|i| char::from(b'a' + ((x >> (i * 5)) % 26) as u8))
                            .collect();
                        b.observe("api.test", obs(&format!("/people/{user}/profile")), true);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        book.settle();
        assert!(!book.take_changed().is_empty());
        assert_eq!(
            book.resolve("api.test", "/people/zed99/profile")
                .unwrap()
                .template,
            "/people/{person}/profile"
        );
    }
}
