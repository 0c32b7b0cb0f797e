//! Test builds only: hostile-looking text for the analyzers' property tests.

use proptest::prelude::*;

/// Fragments that trouble parsers: percent escapes, separators, controls, non-ASCII, and the
/// starts of the secrets and identifiers the scanners look for.
const ALPHABET: &[&str] = &[
    "a",
    "Z",
    "0",
    "1",
    "4",
    "9",
    "-",
    " ",
    ".",
    "+",
    "(",
    ")",
    "@",
    "%",
    "%2",
    "%41",
    "/",
    "//",
    "?",
    "#",
    "=",
    "&",
    ";",
    ":",
    "_",
    "{",
    "}",
    "[]",
    "é",
    "\u{0}",
    "\n",
    "eyJ",
    "AKIA",
    "DE89",
    "-----BEGIN ",
    "PRIVATE KEY-----",
    "4111",
    "123-45-",
    "\"",
];

/// Strings of up to 40 fragments of [`ALPHABET`].
pub fn troublesome() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..40).prop_map(|v| v.concat())
}
