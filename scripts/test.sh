#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the wasm32 target and CometBFT, builds the contracts
# (ours and cw20-base from crates.io), checks formatting and lints, then runs every test.
#
#   bash scripts/test.sh            everything
#   bash scripts/test.sh -E 'test(cw20)'   only matching tests (nextest filter), after the set-up
#
# Uses cargo-nextest when it is installed (it is on this project's machines) and plain
# `cargo test` otherwise; either way the last line says how many tests ran.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Each step says when it started (seconds since the script began), so a slow CI run shows where
# its time went.
step() { printf '\n==> [%ds] %s\n' "$SECONDS" "$*" >&2; }

# The storage tests decrypt a delivery with the reference `age` tool too, not only our code.
if ! command -v age >/dev/null 2>&1; then
    step "installing the age command line tool (Debian package age)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -q age >/dev/null 2>&1 ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q age >/dev/null; }
fi

# The network tests (tests/tests/network.rs) run a real CometBFT beside `consign start`.
step "CometBFT v0.38.26 (scripts/install-cometbft.sh)"
bash scripts/install-cometbft.sh

step "building contracts to wasm32"
bash scripts/build-contracts.sh

step "cargo fmt --check"
cargo fmt --all --check

# Clippy's lints, as errors, on every target of our crates, in the one build the tests need.
# `cargo clippy` is `cargo check` with clippy-driver as the workspace's compiler wrapper
# (RUSTC_WORKSPACE_WRAPPER, its arguments in CLIPPY_ARGS); clippy-driver is a whole rustc, so the
# same wrapper on the test build lints our crates while compiling them, and the dependencies are
# compiled once instead of checked once and compiled again (eight minutes on 2 cores, with
# wasmtime). The same lints as `cargo clippy --workspace --all-targets -- -D warnings`. Set after
# the contracts are built (cw20-base is built as a workspace of its own, and is not ours to lint),
# and kept for every later step so they reuse this build. A plain `cargo test` afterwards
# recompiles our crates (not the dependencies) without the wrapper.
export RUSTC_WORKSPACE_WRAPPER
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "build every target, with clippy's lints as errors"
cargo test --workspace --all-targets --locked --no-run

# The committed contract schemas are checked by a test (contracts/data-sale/tests/schema.rs), in
# this build: a `cargo run --example schema` in the contract's directory resolved other features
# and built its dependencies again (three and a half minutes on 2 cores).

step "doc tests"
cargo test --workspace --doc --locked

# The cross-process tests run target/debug/consign and target/debug/consign-storage: cargo builds
# a package's binaries with its integration tests, in the build above (a separate
# `cargo build --bins` would build the dependencies a second time with other features).
if cargo nextest --version >/dev/null 2>&1; then
    step "tests (cargo nextest)"
    cargo nextest run --workspace --locked --no-fail-fast "$@"
else
    step "tests (cargo test; install cargo-nextest for a faster run)"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    status=0
    cargo test --workspace --all-targets --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
    # cargo test ends with the last binary's result; print the total.
    awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
    exit "$status"
fi
