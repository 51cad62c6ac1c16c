#!/usr/bin/env bash
# Runs the CosmWasm reference VM (cosmwasm-vm 3.0.10, wasmer singlepass; bench/reference) and
# then our VM (`cargo bench -p consign-vm --bench vm`) on cw20-base, and prints a comparison.
#
# Steps: build the contracts (scripts/build-contracts.sh); lower cw20-base's bulk-memory
# instructions with binaryen's wasm-opt (cosmwasm-vm 3.0 rejects them; see
# bench/reference/README.md) into <target>/contracts-lowered/cw20_base.wasm; build and run the
# reference bench (profile `reference`, output in <target>/reference/, so it does not contend
# with target/release for cargo's lock); run our bench; print both benches' medians side by
# side, read from their CONSIGN_BENCH_JSON lines.
#
# Environment:
#   CARGO_TARGET_DIR         shared target dir (default <repo>/target), as build-contracts.sh
#   BENCH_REFERENCE_LOWERED  1 (default): also run our bench on the lowered file, which is the
#                            like-for-like comparison; 0: skip that third run
#   WASM_OPT                 a wasm-opt (binaryen >= 118) to use instead of the npm package
#
# The first run builds wasmer (about 10 minutes on 2 cores) and fetches binaryen from npm; later
# runs only run the benches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in
/*) ;;
*) TARGET_DIR="$ROOT/$TARGET_DIR" ;;
esac
export CARGO_TARGET_DIR="$TARGET_DIR"
REFERENCE="$ROOT/bench/reference"
TOOLS="$TARGET_DIR/tools/binaryen"
LOWERED_DIR="$TARGET_DIR/contracts-lowered"
ORIGINAL="$TARGET_DIR/contracts/cw20_base.wasm"
LOWERED="$LOWERED_DIR/cw20_base.wasm"
RUN_LOWERED="${BENCH_REFERENCE_LOWERED:-1}"

say() { echo "bench-reference: $*" >&2; }
die() {
    echo "bench-reference: error: $*" >&2
    exit 1
}

if [ -x "$TARGET_DIR/reference/consign-bench-reference" ]; then
    say "building what changed, then running both benches (about a minute when nothing changed)"
else
    say "first run: this builds wasmer for cosmwasm-vm (and our bench, and the contracts if needed); it takes about 15 minutes on 2 cores"
fi

# 1. The contracts.
"$ROOT/scripts/build-contracts.sh"
[ -f "$ORIGINAL" ] || die "build-contracts.sh did not produce $ORIGINAL"

# 2. wasm-opt: binaryen's npm package (a wasm build of binaryen run by node), pinned by
#    bench/reference/binaryen/package-lock.json and installed under the target dir. Debian
#    bookworm's binaryen (108) predates --llvm-memory-copy-fill-lowering (binaryen 118).
wasm_opt() {
    if [ -n "${WASM_OPT:-}" ]; then
        "$WASM_OPT" "$@"
        return
    fi
    local bin="$TOOLS/node_modules/.bin/wasm-opt"
    if ! cmp -s "$REFERENCE/binaryen/package-lock.json" "$TOOLS/package-lock.json" || [ ! -x "$bin" ]; then
        command -v npm >/dev/null 2>&1 || die "npm is needed to install binaryen's wasm-opt (apt-get install nodejs npm), or set WASM_OPT to a wasm-opt from binaryen >= 118"
        say "installing binaryen's wasm-opt from npm into $TOOLS"
        mkdir -p "$TOOLS"
        cp "$REFERENCE/binaryen/package.json" "$REFERENCE/binaryen/package-lock.json" "$TOOLS/"
        npm ci --prefix "$TOOLS" --no-audit --no-fund --loglevel=error >&2
    fi
    "$bin" "$@"
}

# 3. The lowered contract: memory.copy / memory.fill replaced by calls to MVP loops, nothing else
#    (no optimisation passes). The features are those rustc 1.95 enables for
#    wasm32-unknown-unknown, all of which cosmwasm-vm 3.0 accepts except bulk memory, which the
#    pass removes; wasm-opt fails if the module uses any other.
mkdir -p "$LOWERED_DIR"
if [ ! -f "$LOWERED" ] || [ "$ORIGINAL" -nt "$LOWERED" ] || [ "$REFERENCE/binaryen/package-lock.json" -nt "$LOWERED" ]; then
    wasm_opt "$ORIGINAL" -o "$LOWERED.tmp" \
        --enable-bulk-memory --enable-bulk-memory-opt --enable-sign-ext --enable-mutable-globals \
        --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
        --llvm-memory-copy-fill-lowering
    mv "$LOWERED.tmp" "$LOWERED"
fi
printf '%-24s %9d bytes  %s\n' "cw20_base.wasm" "$(wc -c <"$ORIGINAL")" "$ORIGINAL"
printf '%-24s %9d bytes  %s (bulk memory lowered)\n' "cw20_base.wasm" "$(wc -c <"$LOWERED")" "$LOWERED"

# 4. Build both benches before running either, so that neither run competes with a compile.
cargo build --manifest-path "$REFERENCE/Cargo.toml" --locked --profile reference
cargo bench --manifest-path "$ROOT/Cargo.toml" -p consign-vm --bench vm --no-run

OUTPUT="$(mktemp -d)"
trap 'rm -rf "$OUTPUT"' EXIT
export CONSIGN_BENCH_JSON=1

echo
echo "=== reference: cosmwasm-vm 3.0.10 (wasmer singlepass), lowered cw20_base.wasm ==="
"$TARGET_DIR/reference/consign-bench-reference" "$LOWERED" | tee "$OUTPUT/reference"

echo
echo "=== consign-vm (wasmtime), cw20_base.wasm as built ==="
cargo bench --manifest-path "$ROOT/Cargo.toml" -p consign-vm --bench vm | tee "$OUTPUT/consign"

if [ "$RUN_LOWERED" != 0 ]; then
    echo
    echo "=== consign-vm (wasmtime), the same lowered cw20_base.wasm as the reference ==="
    CONSIGN_CONTRACTS_DIR="$LOWERED_DIR" cargo bench --manifest-path "$ROOT/Cargo.toml" -p consign-vm --bench vm |
        tee "$OUTPUT/consign-lowered"
else
    : >"$OUTPUT/consign-lowered"
fi

# 5. The comparison, from the JSON lines: {"figure":"…","median_ns":N,"p99_ns":N,"mean_ns":N,"runs":N}.
medians() {
    sed -n 's/^{"figure":"\([^"]*\)","median_ns":\([0-9]*\),.*}$/\1\t\2/p' "$1"
}
medians "$OUTPUT/reference" >"$OUTPUT/reference.tsv"
medians "$OUTPUT/consign" >"$OUTPUT/consign.tsv"
medians "$OUTPUT/consign-lowered" >"$OUTPUT/consign-lowered.tsv"
[ -s "$OUTPUT/reference.tsv" ] || die "no CONSIGN_BENCH_JSON lines from the reference bench"
[ -s "$OUTPUT/consign.tsv" ] || die "no CONSIGN_BENCH_JSON lines from our bench"

echo
echo "=== comparison (medians; speed-up = reference / consign) ==="
awk -F '\t' -v lowered="$RUN_LOWERED" '
function fmt(ns) {
    if (ns == "") return "—"
    if (ns >= 10000000) return sprintf("%.1f ms", ns / 1e6)
    if (ns >= 10000) return sprintf("%.1f µs", ns / 1e3)
    return sprintf("%d ns", ns)
}
function factor(a, b) { return (a == "" || b == "" || b == 0) ? "—" : sprintf("%.2fx", a / b) }
FILENAME ~ /\/reference\.tsv$/ { order[++n] = $1; ref[$1] = $2; next }
FILENAME ~ /\/consign\.tsv$/ { ours[$1] = $2; next }
{ low[$1] = $2 }
END {
    if (lowered != 0) {
        printf "%-44s %12s %12s %9s %16s %9s\n", "figure", "reference", "consign", "speed-up", "consign lowered", "speed-up"
    } else {
        printf "%-44s %12s %12s %9s\n", "figure", "reference", "consign", "speed-up"
    }
    for (i = 1; i <= n; i++) {
        f = order[i]
        if (!(f in ours)) continue
        line = sprintf("%-44s %12s %12s %9s", f, fmt(ref[f]), fmt(ours[f]), factor(ref[f], ours[f]))
        if (lowered != 0) line = line sprintf(" %16s %9s", fmt(low[f]), factor(ref[f], low[f]))
        print line
    }
}' "$OUTPUT/reference.tsv" "$OUTPUT/consign.tsv" "$OUTPUT/consign-lowered.tsv"
echo "(reference and 'consign lowered' run the same lowered file; 'consign' runs the file as built."
echo " 'load from the disk cache' includes making an instance in the reference, not in ours.)"
