//! Runs the template learner alone on the requests a benchmark set was generated from
//! (`gen.py` writes `<slug>.requests.tsv` and `<slug>.shapes.tsv`) and prints, for every API,
//! the (method, template) pairs it learned: `slug<TAB>method<TAB>template`. `score.py
//! --learner-only` scores this output without the capture and database round trip, for
//! quick iterations on the learner; the benchmark itself always runs `shadowtap ingest`.
//!
//!     cargo run --release --example template_learn -- DIR > learned.tsv

use shadowtap::analyze::template::{Observation, TemplateLearner};
use std::collections::BTreeSet;

/// Resident memory of this process, bytes (Linux).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// `--memory N`: fills learners of the default inventory size (20,000 nodes) with hostile
/// traffic (distinct random paths, four segments, no position ever collapsing... until the
/// node cap does) and prints the memory per learner: the per-host bound.
fn memory(hosts: usize) {
    use shadowtap::analyze::template::TemplateConfig;
    let before = rss();
    let mut learners = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..hosts {
        let mut l = TemplateLearner::with_config(TemplateConfig {
            max_nodes: 20_000,
            max_pins: 20_000,
            ..TemplateConfig::default()
        });
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let w = |k: u64| -> String {
                (0..9)
                    .map(|j| char::from(b'a' + ((k >> (j * 5)) % 26) as u8))
                    .collect()
            };
            let p = format!(
                "/{}/{}/{}/{}",
                ["api", "svc", "data"][(i % 3) as usize],
                w(x % 97),
                w(x >> 7),
                w(x >> 19)
            );
            l.observe_with(Observation {
                query: None,
                path: &p,
                method: "GET",
            });
            if i % 20_000 == 0 {
                l.settle();
            }
        }
        l.settle();
        learners.push(l);
    }
    let after = rss();
    let nodes: usize = learners.iter().map(|l| l.node_count()).sum();
    println!(
        "{hosts} learners, {nodes} nodes: {:.1} MiB, {:.0} bytes per node, {:.1} MiB per learner",
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / nodes.max(1) as f64,
        (after - before) as f64 / 1048576.0 / hosts as f64
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().expect("usage: template_learn DIR | --memory N");
    if first == "--memory" {
        memory(args.next().and_then(|n| n.parse().ok()).unwrap_or(8));
        return;
    }
    let dir = first;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".requests.tsv"))
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let slug = name.trim_end_matches(".requests.tsv").to_string();
        let text = std::fs::read_to_string(&f).expect("read requests");
        let shapes = std::fs::read_to_string(f.with_file_name(format!("{slug}.shapes.tsv")))
            .unwrap_or_default();
        let shapes: Vec<&str> = shapes.lines().skip(1).collect();
        let reqs: Vec<(&str, &str)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut it = l.split('\t');
                Some((it.next()?, it.next()?))
            })
            .collect();
        let mut l = TemplateLearner::new();
        for (i, (m, p)) in reqs.iter().enumerate() {
            l.observe_with(Observation {
                query: None,
                path: p,
                method: m,
            });
            if *m == "GET"
                && let Some((hex, n)) = shapes.get(i).and_then(|s| s.split_once(':'))
            {
                let n: usize = n.parse().unwrap_or(0);
                if n >= 3
                    && let Ok(fp) = u64::from_str_radix(hex, 16)
                {
                    l.note_shape(p, fp);
                }
            }
        }
        l.settle();
        if std::env::var("DUMP").is_ok_and(|d| slug.contains(&d)) {
            eprintln!("{}", l.dump(400));
        }
        let set: BTreeSet<(String, String)> = reqs
            .iter()
            .map(|(m, p)| (m.to_string(), l.resolve(p)))
            .collect();
        for (m, t) in set {
            println!("{slug}\t{m}\t{t}");
        }
    }
}
