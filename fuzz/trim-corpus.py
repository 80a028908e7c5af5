#!/usr/bin/env python3
"""Fuzzing — shrink a fuzz corpus to at most N files / B bytes while keeping the most coverage.

`cargo fuzz cmin` keeps every input that adds a libFuzzer *feature* (edge hit-count buckets
included), which for fredgen is thousands of files. This keeps the committed corpus small: it
asks the fuzz binary for the edges each input covers (a `-merge=1` dry run with
`-use_counters=0`, read back from the merge control file), then greedily keeps the input that adds
the most not-yet-covered edges (the smaller one on ties) until nothing is gained or a cap is hit,
and deletes the rest.

Usage, from fuzz/ after `cargo +nightly fuzz build -s none`:
    ./trim-corpus.py render_eks [--max-files 300] [--max-bytes 1000000]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("target")
ap.add_argument("--max-files", type=int, default=300)
ap.add_argument("--max-bytes", type=int, default=1_000_000)
ap.add_argument("--dry-run", action="store_true")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
binary = os.path.join(here, "target/x86_64-unknown-linux-gnu/release", args.target)
corpus = os.path.join(here, "corpus", args.target)
if not os.path.exists(binary):
    sys.exit(f"{binary} missing: run `cargo +nightly fuzz build -s none {args.target}` first")

with tempfile.TemporaryDirectory() as tmp:
    control = os.path.join(tmp, "control")
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    subprocess.run(
        [binary, "-merge=1", "-use_counters=0", f"-merge_control_file={control}",
         "-timeout=5", "-rss_limit_mb=512", "-max_len=8192", out, corpus],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(control) as f:
        lines = f.read().splitlines()

n = int(lines[0])
files = lines[2 : 2 + n]
cov = {}
for line in lines[2 + n :]:
    parts = line.split()
    if parts and parts[0] == "COV":
        cov[int(parts[1])] = set(map(int, parts[2:]))

size = {i: os.path.getsize(p) for i, p in enumerate(files)}
all_edges = set().union(*cov.values()) if cov else set()
covered, kept, total = set(), [], 0
candidates = set(cov)
while candidates and len(kept) < args.max_files:
    best = max(candidates, key=lambda i: (len(cov[i] - covered), -size[i]))
    gain = len(cov[best] - covered)
    candidates.discard(best)
    if gain == 0:
        break
    if total + size[best] > args.max_bytes:
        continue
    kept.append(best)
    covered |= cov[best]
    total += size[best]

print(f"{args.target}: kept {len(kept)} of {n} files, {total} bytes, "
      f"{len(covered)} of {len(all_edges)} edges")
if not args.dry_run:
    keep = {files[i] for i in kept}
    for p in files:
        if p not in keep:
            os.remove(p)
