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

bash scripts/build-contracts.sh >&2
cargo build --release --locked --bins -p consign -p consign-storage >&2
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CONSIGN_BIN="$TARGET_DIR/release/consign"
export CONSIGN_STORAGE_BIN="$TARGET_DIR/release/consign-storage"
cargo run --release --locked -p consign-tests --example soak -- "$@"
