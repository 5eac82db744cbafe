#!/usr/bin/env bash
# Long fuzzing: runs every Fuzz* target of every package for SECONDS each
# (default 60). Not part of scripts/test.sh; the seed corpora run there as
# ordinary tests. New crashers land in the package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sort -u); do
    echo "=== $pkg $target (${secs}s)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "${secs}s" "$pkg"
  done
done
