//! Source-code route scanners (`code::*::scan`): JavaScript/TypeScript, Python, Go, Java,
//! Kotlin, Ruby and C#, on files made of the input.
//!
//! Input: one selector byte (`% 7` picks the language; bit 7 splits the rest into two files
//! at the second byte's fraction, so cross-file resolution is fed too), then the text.
//!
//! Checks: no panic; every route names one of the files given and a line inside it; paths
//! start with `/`. Time is bounded by the scanners' own caps (parse budget, depth and
//! emission bounds) and libFuzzer's `-timeout`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::code::{self, DeclaredRoute, SourceFile};
use std::path::PathBuf;

type Scan = fn(&[SourceFile]) -> Vec<DeclaredRoute>;

const LANGUAGES: [(&str, Scan); 7] = [
    ("ts", code::javascript::scan),
    ("py", code::python::scan),
    ("go", code::go::scan),
    ("java", code::java::scan),
    ("kt", code::kotlin::scan),
    ("rb", code::ruby::scan),
    ("cs", code::csharp::scan),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (ext, scan) = LANGUAGES[usize::from(sel % 7)];
    let text = String::from_utf8_lossy(rest).into_owned();
    let files: Vec<SourceFile> = if sel & 0x80 != 0 && text.len() > 2 {
        let mut cut = usize::from(rest[0]) * text.len() / 256;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        vec![
            SourceFile {
                path: PathBuf::from(format!("config/routes.{ext}")),
                text: text[..cut].to_string(),
            },
            SourceFile {
                path: PathBuf::from(format!("app/main.{ext}")),
                text: text[cut..].to_string(),
            },
        ]
    } else {
        vec![SourceFile {
            path: PathBuf::from(format!("config/routes.{ext}")),
            text,
        }]
    };
    for r in scan(&files) {
        let f = files
            .iter()
            .find(|f| f.path == r.file)
            .expect("a route names a file it was given");
        assert!(
            r.line >= 1 && r.line as usize <= f.text.lines().count().max(1),
            "{r:?}"
        );
        assert!(r.path.starts_with('/'), "{r:?}");
    }
});
