#!/usr/bin/env bash
# The chain benchmark: `consign dev` beside a network of four validators (CometBFT), in one run.
# Builds release binaries and the contracts, installs CometBFT if missing, then runs
# tests/benches/network.rs. Committed bank sends and cw20 transfers per second, commit latency and
# blocks, for each.
#
#   bash scripts/bench-network.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install-cometbft.sh >&2
source scripts/release-bins.sh
cargo bench --locked -p consign-tests --bench network
