#!/usr/bin/env python3
"""Compares `shadowtap log --format tsv` (stdin) with an expected-transactions TSV.

    shadowtap log --unredacted --format tsv X.pcap | compare.py X.expected.tsv

Both are compared on the columns of the expected file (method, uri, status_code,
request_body_len, response_body_len), row by row in order. Prints the differences and exits 1
when there are any.
"""

import difflib
import sys

COLS = ["method", "uri", "status_code", "request_body_len", "response_body_len"]


def read(lines):
    lines = [l.rstrip("\n") for l in lines if l.strip()]
    if not lines:
        return []
    head = lines[0].split("\t")
    idx = [head.index(c) for c in COLS]
    return ["\t".join(l.split("\t")[i] for i in idx) for l in lines[1:]]


def main():
    expected = read(open(sys.argv[1]))
    got = read(sys.stdin)
    if expected == got:
        print(f"  shadowtap agrees: {len(got)} transactions", file=sys.stderr)
        return 0
    print(f"  shadowtap DISAGREES: {len(expected)} expected, {len(got)} found", file=sys.stderr)
    sm = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            continue
        for i in range(a0, a1):
            print(f"    expected row {i + 1}: {expected[i]}", file=sys.stderr)
        for j in range(b0, b1):
            print(f"    shadowtap row {j + 1}: {got[j]}", file=sys.stderr)
        print("    --", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
