#!/usr/bin/env bash
# k-of-n custody end to end, beside the single-node flow in the same run: builds release
# binaries and the data-sale contract, then runs tests/benches/custody.rs (real `consign dev`,
# three `consign-storage serve`, `consign sell --threshold`, `consign inbox`, on loopback).
# The argument is the file's size (default 1GiB); needs about four times it free on disk.
#
#   bash scripts/bench-custody.sh            1 GiB, (1, 1) then (2, 3)
#   bash scripts/bench-custody.sh 256MiB
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

source scripts/release-bins.sh
# Fewer log lines on the hot path; the figures are what matter here.
export RUST_LOG=warn
cargo bench --locked -p consign-tests --bench custody -- "$@"
