#!/usr/bin/env bash
# Runs every kcc test on a fresh Debian 12 machine (as root): installs the real
# peers the tests use (SIPp, baresip, tcpdump, PostgreSQL started by
# scripts/postgres.sh, and a real Asterisk 22 in a Debian sid root made by
# scripts/asterisk.sh, cached in /var/cache/kcc), then vet, unit and
# integration tests, and a smoke run of every benchmark. Prints how long each
# phase took.
#
#   scripts/test.sh            everything (what CI runs)
#   KCCTEST_SKIP_INSTALL=1 scripts/test.sh   skip apt-get when the peers are installed
#
# Long fuzzing is separate: scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { # phase NAME CMD... : runs CMD and prints its duration
  local name=$1; shift
  local start=$SECONDS
  echo "=== phase $name"
  "$@"
  echo "=== phase $name: $((SECONDS - start)) s"
}

install_peers() {
  local need=()
  command -v baresip >/dev/null || need+=(baresip-core)
  command -v sipp >/dev/null || need+=(sip-tester)
  command -v tcpdump >/dev/null || need+=(tcpdump)
  command -v pg_createcluster >/dev/null || need+=(postgresql)
  if [ ${#need[@]} -eq 0 ]; then echo "peers already installed"; return; fi
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install ${need[*]}" >&2; return 1; fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"  # as verified in PEERS.md §0
}

total=$SECONDS
if [ -z "${KCCTEST_SKIP_INSTALL:-}" ]; then phase install install_peers; fi
phase asterisk-provision scripts/asterisk.sh provision
phase asterisk-start scripts/asterisk.sh start
trap 'scripts/asterisk.sh stop >/dev/null 2>&1 || true' EXIT
phase postgres-start scripts/postgres.sh start
# The store's conformance suite runs on PostgreSQL too, and must not skip here.
KCCTEST_POSTGRES_URL=$(scripts/postgres.sh url)
export KCCTEST_POSTGRES_URL KCCTEST_POSTGRES_REQUIRED=1
phase build go build ./...
phase vet go vet -tags integration ./...
phase gofmt bash -c 'out=$(gofmt -l $(git ls-files "*.go")); if [ -n "$out" ]; then echo "gofmt needed:"; echo "$out"; exit 1; fi'
phase unit go test -race -count=1 ./...
# -p 1: one package at a time, since a test crashes and restarts the shared Asterisk.
phase integration go test -race -count=1 -p 1 -tags integration -run 'Integration' -timeout 20m ./...
phase bench-smoke go test -run '^$' -bench . -benchtime 1x ./...
echo "=== all tests passed in $((SECONDS - total)) s"
