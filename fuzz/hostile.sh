#!/usr/bin/env bash
# Fuzzing — hostile inputs that must be refused quickly with bounded memory: alias bombs, a huge
# file, deep nesting. Generates them into a temporary directory and runs
# `fredgen validate -f FILE` on each under `/usr/bin/time -v` (killed after $LIMIT seconds, exit
# 124), printing exit code, wall time and max RSS. Usage (from the repository root, after `cargo build --release`):
#
#   fuzz/hostile.sh [path/to/fredgen]
set -euo pipefail

BIN=${1:-target/release/fredgen}
LIMIT=${LIMIT:-60}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

python3 - "$DIR" <<'PY'
import sys, os
d = sys.argv[1]
def w(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)

head = ("name: bomb\ndomain: bomb.example.com\n"
        "frontend:\n  image: ghcr.io/acme/bomb:1.0.0\n  port: 8080\n  health: { path: /healthz }\n")
tail = "targets:\n  eks: { region: eu-west-1 }\n  gke: { project: p-bomb, region: europe-west1 }\n  hetzner: { location: fsn1 }\n"

# 1. Billion laughs at the top level: 9 levels of 9 aliases (72 aliases, 9^9 nodes expanded).
s = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
prev = "a"
for c in "bcdefghi":
    s += f"{c}: &{c} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    prev = c
w("bomb-billion-laughs.yaml", s)

# 2. The same shape in fields the spec accepts: an environment overlay is a whole spec and may
#    itself hold `environments:`, so each level aliases the previous one 8 times (56 aliases;
#    8^8 overlays when expanded, refused at the 50,000-node budget on the expanded size).
s = head + "environments:\n  e0: &e0 { name: x }\n"
for i in range(1, 8):
    s += f"  e{i}: &e{i} {{ environments: {{ " + ", ".join(f"k{j}: *e{i-1}" for j in range(8)) + " } }\n"
s += "  top: { environments: { " + ", ".join(f"k{j}: *e7" for j in range(8)) + " } }\n"
w("bomb-in-spec.yaml", s + tail)

# 3. Few aliases (60), 10^6 strings when expanded, aimed at a list of
#    strings (`secrets`): must be refused at the first nested list, before any expansion.
s = head.replace("  port: 8080\n", "  port: 8080\n  secrets: &s0 [" + ",".join(["S"] * 10) + "]\n")
s += "environments:\n"
for i in range(1, 7):
    s += f"  l{i}: {{ frontend: {{ secrets: &s{i} [" + ",".join([f"*s{i-1}"] * 10) + "] } }\n"
w("bomb-under-alias-budget.yaml", s + tail)

# 4. A 50 MB file (valid YAML comments followed by a spec).
line = "# " + "x" * 97 + "\n"
w("huge-50mb.yaml", line * (50 * 1024 * 1024 // len(line)) + head + tail)

# 5. Just under the 1 MiB size limit: one flow sequence of ~200k items in a typed field.
items = ",".join(["S"] * 200_000)
w("big-1mb-200k-items.yaml", head + f"  secrets: [{items}]\n" + tail)

# 6. Under every budget, but many list items: validation cost grows with their square.
items = ",".join(f"S{i}" for i in range(40_000))
w("big-40k-secrets.yaml", head + f"  secrets: [{items}]\n" + tail)
w("big-40k-dup-secrets.yaml", head + "  secrets: [" + ",".join(["S"] * 40_000) + "]\n" + tail)
envs = "environments:\n" + "".join(f"  e{i}: {{}}\n" for i in range(20))
w("big-40k-secrets-20-envs.yaml", head + f"  secrets: [{items}]\n" + tail + envs)

# 7. 10,000-deep nesting: flow sequences, flow mappings, and a mix under a real key.
n = 10_000
w("deep-10k-seq.yaml", "[" * n + "]" * n + "\n")
w("deep-10k-map.yaml", "{a: " * n + "b" + "}" * n + "\n")
w("deep-10k-in-spec.yaml", head.replace("  port: 8080\n", "  command: " + "[" * n + "]" * n + "\n  port: 8080\n") + tail)
# Block-style nesting as deep as 1 MiB allows (~1000 levels).
w("deep-block-1000.yaml", "".join(" " * i + "- \n" for i in range(1000)))
PY

printf '%-30s %4s %9s %7s %10s  %s\n' FILE EXIT WALL USER_S MAX_RSS_KB FIRST_LINE_OF_OUTPUT
for f in "$DIR"/*.yaml; do
  /usr/bin/time -v -o "$DIR/time" timeout "$LIMIT" "$BIN" validate -f "$f" >"$DIR/out" 2>"$DIR/err" || true
  out=$(cat "$DIR/time")
  code=$(grep -m1 'Exit status' <<<"$out" | awk '{print $NF}')
  wall=$(grep -m1 'Elapsed (wall clock)' <<<"$out" | awk '{print $NF}')
  user=$(grep -m1 'User time' <<<"$out" | awk '{print $NF}')
  rss=$(grep -m1 'Maximum resident' <<<"$out" | awk '{print $NF}')
  first=$( (grep -v "^\s*$" "$DIR/err" "$DIR/out" -h || true) | head -n1 | cut -c1-110 || true)
  printf '%-30s %4s %9s %7s %10s  %s\n' "$(basename "$f")" "${code:-?}" "$wall" "$user" "$rss" "$first"
done
