#!/usr/bin/env bash
# The main job, from a fresh clone: builds what it needs (the wasm32 target, the contracts, the
# `consign` and `consign-storage` binaries), then runs `consign demo`, which plays the mission on
# this machine with real processes, transactions and transfers: a seller uploads a file to a
# storage node and goes offline, a buyer purchases with a delivery address, the storage node
# delivers the file encrypted to the buyer, the buyer's inbox verifies it and the escrow pays the
# seller. Arguments go to `consign demo` (try --keep, or --size 256MiB).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "building the contracts to wasm32 (first run: a few minutes)"
bash scripts/build-contracts.sh >&2

step "building consign and consign-storage (first run: a few minutes more)"
cargo build --locked -p consign -p consign-storage --bins >&2

step "consign demo"
exec "$TARGET_DIR/debug/consign" demo --wasm "$TARGET_DIR/contracts/data_sale.wasm" "$@"
