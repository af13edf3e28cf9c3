#!/usr/bin/env bash
# Runs every fuzz target for a while (default 30s each): go test -fuzz takes
# one target at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-30s}"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $fn"
    # Minimising each new input takes long by default; a few tries is plenty.
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -fuzzminimizetime 10x "$pkg"
  done
done
