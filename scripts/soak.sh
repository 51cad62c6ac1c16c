#!/usr/bin/env bash
# The chaos soak with release binaries: a chain node, two storage nodes and an inbox; a few
# hundred purchases while the chain node and the storage nodes are killed with kill -9 at random
# moments; then every purchase must be delivered exactly once, with nothing lost or doubled.
# Arguments go to the soak (tests/examples/soak.rs), e.g.
#
#   bash scripts/soak.sh                       300 purchases, a random seed
#   bash scripts/soak.sh --purchases 1000 --seed 7 --json
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

source scripts/release-bins.sh
cargo run --release --locked -p consign-tests --example soak -- "$@"
