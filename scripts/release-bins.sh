# Sourced by the scripts that run real processes with release binaries (bench-delivery.sh,
# soak.sh): builds the contracts and the release `consign` and `consign-storage`, and points
# the test helpers at them (CONSIGN_BIN, CONSIGN_STORAGE_BIN), honouring CARGO_TARGET_DIR.
# Expects to be sourced from the repository's root.
bash scripts/build-contracts.sh >&2
cargo build --release --locked --bins -p consign -p consign-storage >&2
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CONSIGN_BIN="$TARGET_DIR/release/consign"
export CONSIGN_STORAGE_BIN="$TARGET_DIR/release/consign-storage"
