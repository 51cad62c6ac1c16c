#!/usr/bin/env bash
# End-to-end delivery benchmark: builds release binaries and the data-sale contract, then runs
# tests/benches/delivery.rs (real `consign dev`, `consign-storage serve` and a receiving server on
# loopback). Arguments are blob sizes (default: 1MiB 1GiB).
#
#   bash scripts/bench-delivery.sh            1 MiB (median of 9) and 1 GiB
#   bash scripts/bench-delivery.sh 256MiB
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

source scripts/release-bins.sh
# Fewer log lines on the hot path; the figures are what matter here.
export RUST_LOG=warn
cargo bench --locked -p consign-tests --bench delivery -- "$@"
