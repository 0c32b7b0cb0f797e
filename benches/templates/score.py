#!/usr/bin/env python3
"""Score shadowtap's learned endpoint templates against the ground truth written by gen.py.

For every API in DIR/manifest.json: `BIN ingest --db <fresh tmp db> DIR/<slug>.pcap`, read
`api_endpoints` for the API's host, and compare the (method, template) pairs with the truth
(operations that received at least one request) after normalisation: every `{...}` becomes `{}`
(also inside a segment: `{Sid}.json` -> `{}.json`), empty segments are dropped and
percent-escapes of literal text are decoded. Two baselines computed here on the same
requests.tsv: typed-only and merge-after-10 (see README.md).

  score.py --dir target/bench-templates/dev [--bin target/release/shadowtap] [--jobs 2] [--json out.json]
  score.py --dir target/bench-templates/dev --learner-only learned.tsv    # template_learn's output
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PARAM = re.compile(r"\{[^{}]*\}")
PCT = re.compile(r"%([0-9A-Fa-f]{2})")


def _unpct(m):
    c = int(m.group(1), 16)
    ch = chr(c)
    if c < 0x21 or c > 0x7E or ch in "{}/%?#":
        return "%" + m.group(1).upper()
    return ch


def norm(template):
    """Normalise a template (or a concrete path) for comparison."""
    t = template.split("?", 1)[0].split("#", 1)[0]
    out = []
    for seg in t.split("/"):
        if seg in ("", "."):
            continue
        seg = PARAM.sub("{}", seg)
        seg = PCT.sub(_unpct, seg)
        out.append(seg)
    return "/" + "/".join(out)


# ------------------------------------------------------------------------------------------
# Baselines
# ------------------------------------------------------------------------------------------

RE_INT = re.compile(r"-?\d+")
RE_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
RE_HEX = re.compile(r"[0-9a-fA-F]{16,}")
RE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?")
RE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def is_typed(seg):
    """The typed-only rule: integer, UUID, hex >= 16 with a digit, date, email, or letters
    mixed with at least 3 digits."""
    if RE_INT.fullmatch(seg) or RE_UUID.fullmatch(seg) or RE_DATE.fullmatch(seg) or RE_EMAIL.fullmatch(seg):
        return True
    if RE_HEX.fullmatch(seg) and any(c.isdigit() for c in seg):
        return True
    digits = sum(c.isdigit() for c in seg)
    return digits >= 3 and any(c.isalpha() for c in seg)


def decode_seg(seg):
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), seg)


def typed_segments(path):
    segs = [decode_seg(s) for s in path.split("?", 1)[0].split("/") if s not in ("", ".")]
    return ["{}" if is_typed(s) else s for s in segs]


def baseline_typed(requests):
    counts = {}
    for m, p, _ in requests:
        k = (m, "/" + "/".join(typed_segments(p)))
        counts[k] = counts.get(k, 0) + 1
    return counts


class Node:
    __slots__ = ("kids", "ends")

    def __init__(self):
        self.kids = {}
        self.ends = {}


def _merge_into(dst, src):
    for m, c in src.ends.items():
        dst.ends[m] = dst.ends.get(m, 0) + c
    for k, child in src.kids.items():
        if k in dst.kids:
            _merge_into(dst.kids[k], child)
        else:
            dst.kids[k] = child


def baseline_merge(requests, limit=10):
    """Typed-only, then one trie per host: a node with more than `limit` distinct literal
    children gets them all merged into one `{}` child (subtrees merged)."""
    root = Node()
    for m, p, _ in requests:
        n = root
        for s in typed_segments(p):
            n = n.kids.setdefault(s, Node())
        n.ends[m] = n.ends.get(m, 0) + 1

    stack = [root]
    while stack:
        n = stack.pop()
        lits = [k for k in n.kids if k != "{}"]
        if len(lits) > limit:
            param = n.kids.pop("{}", None) or Node()
            for k in lits:
                _merge_into(param, n.kids.pop(k))
            n.kids["{}"] = param
        stack.extend(n.kids.values())

    counts = {}
    stack = [(root, "")]
    while stack:
        n, prefix = stack.pop()
        for m, c in n.ends.items():
            k = (m, prefix or "/")
            counts[k] = counts.get(k, 0) + c
        for k, child in n.kids.items():
            stack.append((child, prefix + "/" + k))
    return counts


# ------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------

def prf(pred, truth):
    """pred: {(method, norm template): requests}; truth: set of (method, norm template)."""
    hit = set(pred) & truth
    p = len(hit) / len(pred) if pred else 0.0
    r = len(hit) / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, hit


def read_tsv(path):
    with open(path, encoding="utf-8") as fh:
        next(fh)
        return [line.rstrip("\n").split("\t") for line in fh if line.strip()]


def normalise_counts(raw):
    out = {}
    for (m, t), c in raw.items():
        k = (m.upper(), norm(t))
        out[k] = out.get(k, 0) + c
    return out


def ingest(binary, pcap, host):
    with tempfile.TemporaryDirectory(prefix="shadowtap-bench-") as tmp:
        db = os.path.join(tmp, "inv.db")
        t0 = time.time()
        proc = subprocess.run([binary, "ingest", "--db", db, pcap], capture_output=True, text=True)
        secs = time.time() - t0
        if proc.returncode != 0:
            return None, f"ingest failed ({proc.returncode}): {proc.stderr.strip()[-500:]}", secs, []
        con = sqlite3.connect(db)
        try:
            rows = con.execute("SELECT method, path_template, request_count FROM api_endpoints WHERE host = ?",
                               (host,)).fetchall()
            hosts = [h for (h,) in con.execute("SELECT DISTINCT host FROM api_endpoints")]
        finally:
            con.close()
        return rows, None, secs, hosts


def read_learned(path):
    """`template_learn` output (`slug, method, template` per line) by slug."""
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                out.setdefault(parts[0], []).append((parts[1], parts[2], 0))
    return out


def score_api(meta, d, binary, learned=None):
    slug = meta["slug"]
    truth_rows = read_tsv(os.path.join(d, slug + ".truth.tsv"))
    requests = read_tsv(os.path.join(d, slug + ".requests.tsv"))
    total = len(requests)
    truth_raw = {}
    names = {}
    for m, t, n in truth_rows:
        if int(n) > 0:
            k = (m.upper(), norm(t))
            truth_raw[k] = truth_raw.get(k, 0) + int(n)
            names.setdefault(k, t)
    truth = set(truth_raw)

    if learned is None:
        rows, err, secs, hosts = ingest(binary, os.path.join(d, slug + ".pcap"), meta["host"])
    else:
        rows, err, secs, hosts = learned.get(slug, []), None, 0.0, []
    res = {"api": meta["id"], "slug": slug, "host": meta["host"], "requests": total,
           "operations": meta["operations"], "observed": len(truth), "ingest_seconds": round(secs, 3)}
    if err:
        res["error"] = err
        rows = []
    if not rows and not err:
        res["error"] = f"no endpoints for host {meta['host']!r} (hosts in the inventory: {hosts[:5]})"
    pred_raw, raw_names = {}, {}
    for m, t, c in rows or []:
        k = (m.upper(), norm(t))
        pred_raw[k] = pred_raw.get(k, 0) + (c or 0)
        raw_names.setdefault(k, t)
    p, r, f, hit = prf(pred_raw, truth)
    res.update({
        "predicted": len(pred_raw), "precision": p, "recall": r, "f1": f,
        "accuracy": sum(pred_raw[k] for k in hit) / total if total else 0.0,
        "counted_requests": sum(pred_raw.values()),
    })
    res["missed"] = sorted(([m, names[(m, t)], truth_raw[(m, t)]] for (m, t) in truth - hit),
                           key=lambda x: (-x[2], x[1]))
    res["spurious"] = sorted(([m, raw_names[(m, t)], pred_raw[(m, t)]] for (m, t) in set(pred_raw) - hit),
                             key=lambda x: (-x[2], x[1]))
    for name, fn in (("typed", baseline_typed), ("merge10", baseline_merge)):
        pred = normalise_counts(fn(requests))
        bp, br, bf, bhit = prf(pred, truth)
        res[name] = {"predicted": len(pred), "precision": bp, "recall": br, "f1": bf,
                     "accuracy": sum(pred[k] for k in bhit) / total if total else 0.0}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "bench-templates", "dev"),
                    help="output directory of gen.py")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "shadowtap"))
    ap.add_argument("--jobs", type=int, default=2, help="ingests in parallel")
    ap.add_argument("--json", metavar="FILE", help="write every number (and the diffs) to FILE")
    ap.add_argument("--worst", type=int, default=5, help="how many worst APIs to list and diff")
    ap.add_argument("--diff", type=int, default=8, help="missed / spurious templates shown per worst API")
    ap.add_argument("--learner-only", metavar="FILE",
                    help="score the output of the template_learn example (learn.rs) instead of "
                         "ingesting the captures: the learner alone, for quick iterations")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    learned = read_learned(a.learner_only) if a.learner_only else None
    if learned is None and not os.path.exists(binary):
        sys.exit(f"no shadowtap binary at {binary} (cargo build --release, or --bin)")
    with open(os.path.join(a.dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    apis = manifest["apis"]
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
        results = list(ex.map(lambda m: score_api(m, a.dir, binary, learned), apis))
    wall = time.time() - t0

    hdr = f"{'api':42s} {'req':>5s} {'ops':>4s} {'pred':>4s} {'P':>5s} {'R':>5s} {'F1':>5s} {'acc':>5s} {'typed':>5s} {'m10':>5s}"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        flag = "  !" + r["error"] if r.get("error") else ""
        print(f"{r['api'][:42]:42s} {r['requests']:5d} {r['observed']:4d} {r['predicted']:4d} {r['precision']:5.2f} "
              f"{r['recall']:5.2f} {r['f1']:5.2f} {r['accuracy']:5.2f} {r['typed']['f1']:5.2f} {r['merge10']['f1']:5.2f}{flag}")
    n = len(results) or 1
    summary = {
        "set": manifest.get("set"), "seed": manifest.get("seed"), "apis": len(results),
        "binary": os.path.abspath(binary), "seconds": round(wall, 1),
    }
    for key, label in (("shadowtap", "shadowtap"), ("typed", "typed-only"), ("merge10", "merge-after-10")):
        pick = (lambda r: r) if key == "shadowtap" else (lambda r, k=key: r[k])
        summary[key] = {
            "macro_f1": sum(pick(r)["f1"] for r in results) / n,
            "macro_precision": sum(pick(r)["precision"] for r in results) / n,
            "macro_recall": sum(pick(r)["recall"] for r in results) / n,
            "macro_accuracy": sum(pick(r)["accuracy"] for r in results) / n,
            "apis_f1_ge_0.9": sum(1 for r in results if pick(r)["f1"] >= 0.9),
        }
    print()
    print(f"{len(results)} APIs, {sum(r['requests'] for r in results)} requests; ingest+scoring {wall:.1f} s "
          f"({a.jobs} jobs)")
    for key, label in (("shadowtap", "shadowtap"), ("typed", "typed-only"), ("merge10", "merge-after-10")):
        s = summary[key]
        print(f"  {label:15s} macro F1 {s['macro_f1']:.3f}  (P {s['macro_precision']:.3f}, R {s['macro_recall']:.3f}, "
              f"request accuracy {s['macro_accuracy']:.3f})  APIs with F1 >= 0.9: {s['apis_f1_ge_0.9']}/{len(results)}")
    errors = [r for r in results if r.get("error")]
    if errors:
        print(f"  {len(errors)} APIs with errors: " + ", ".join(r["api"] for r in errors))
    worst = sorted(results, key=lambda r: (r["f1"], r["api"]))[: a.worst]
    summary["worst"] = [{"api": r["api"], "f1": r["f1"]} for r in worst]
    print("\nworst: " + ", ".join(f"{r['api']} {r['f1']:.2f}" for r in worst))
    for r in worst:
        print(f"\n== {r['api']} (host {r['host']}): F1 {r['f1']:.2f}, P {r['precision']:.2f}, R {r['recall']:.2f}; "
              f"{r['observed']} observed operations, {r['predicted']} predicted endpoints")
        print(f"  missed ({len(r['missed'])}):")
        for m, t, c in r["missed"][: a.diff]:
            print(f"    - {m:7s} {t}  ({c} req)")
        print(f"  spurious ({len(r['spurious'])}):")
        for m, t, c in r["spurious"][: a.diff]:
            print(f"    + {m:7s} {t}  ({c} req)")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"summary": summary, "apis": results}, fh, indent=1)


if __name__ == "__main__":
    main()
