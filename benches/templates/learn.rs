//! Runs the template learner alone on the requests a benchmark set was generated from
//! (`gen.py` writes `<slug>.requests.tsv` and `<slug>.shapes.tsv`) and prints, for every API,
//! the (method, template) pairs it learned: `slug<TAB>method<TAB>template`. `score.py
//! --learner-only` scores this output without the capture and database round trip, for
//! quick iterations on the learner; the benchmark itself always runs `shadowtap ingest`.
//!
//!     cargo run --release --example template_learn -- DIR > learned.tsv

use shadowtap::analyze::template::{Observation, TemplateLearner};
use std::collections::BTreeSet;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: template_learn DIR");
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
            l.observe_with(Observation { path: p, method: m });
            if *m == "GET" {
                if let Some((hex, n)) = shapes.get(i).and_then(|s| s.split_once(':')) {
                    let n: usize = n.parse().unwrap_or(0);
                    if n >= 3 {
                        if let Ok(fp) = u64::from_str_radix(hex, 16) {
                            l.note_shape(p, fp);
                        }
                    }
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
