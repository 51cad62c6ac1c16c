#!/usr/bin/env bash
# The VM on its own, from a fresh clone: builds the contracts and the `consign` command line, checks
# every contract the way an upload would (the hostile ones are rejected, each with its reasons),
# then runs cw20-base from crates.io, unmodified, in the Consign VM, and a hostile contract
# whose every attack ends its own call with an error that says what happened.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

step() { printf '\n==> %s\n' "$*"; }

step "building the contracts to wasm32 (first run: a few minutes)"
bash scripts/build-contracts.sh

step "building consign"
cargo build --locked -p consign -p consign-vm --examples --bins

step "consign check: the upload checks on every contract in $TARGET_DIR/contracts"
status=0
"$TARGET_DIR/debug/consign" check "$TARGET_DIR"/contracts/*.wasm || status=$?
if [ "$status" -eq 1 ]; then
    echo "(exit 1: some contracts were rejected — bad_import, no_interface and simd are meant to be)"
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

step "cw20-base from crates.io, unmodified, in the VM"
"$TARGET_DIR/debug/examples/cw20" "$TARGET_DIR/contracts/cw20_base.wasm"

step "a hostile contract: every attack ends its own call, and its storage is unchanged"
"$TARGET_DIR/debug/examples/hostile" "$TARGET_DIR/contracts/hostile.wasm"

step "done"
echo "Next: bash scripts/test.sh runs every test; cargo bench -p consign-vm prints the VM's figures."
