#!/usr/bin/env bash
# Fuzzes what strangers can send: transactions, wasm uploads, the storage node's signed
# messages, a delivery's headers, size strings. Each target of fuzz/ runs for a bounded time,
# starting from its committed seeds (fuzz/seeds/corpus/<target>), the crashes kept as
# regressions (fuzz/regressions/<target>) and the corpus grown by earlier runs (fuzz/corpus,
# not committed). Not part of scripts/test.sh: it costs minutes per target.
#
#   bash scripts/fuzz.sh                 every target, 60 s each
#   bash scripts/fuzz.sh 300             every target, 5 minutes each
#   bash scripts/fuzz.sh 300 tx signed   only these targets
#
# Prints per target the executions, the corpus size and whether it crashed; exits non-zero on
# the first crash (or input slower than 25 s), naming the reproducer to rerun with
# `cargo +nightly fuzz run <target> <file>` in fuzz/. On a shared machine run it as
# `nice -n 15 bash scripts/fuzz.sh`. Results are in docs/RELIABILITY.md ("Fuzzing").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

step() { printf '\n==> %s\n' "$*" >&2; }

SECONDS_PER_TARGET="${1:-60}"
shift || true

# libFuzzer's instrumentation needs nightly compiler flags (`-Zsanitizer`, sancov). With a
# nightly toolchain we use it, with AddressSanitizer. Without one, stable with
# RUSTC_BOOTSTRAP=1 accepts the sancov flags but not the sanitizer, so that fallback runs
# without ASan (still catching panics, overflows and assertion failures: everything here is
# safe Rust, so ASan adds little).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    FUZZ=(cargo +nightly fuzz)
    SANITIZER=()
else
    step "no nightly toolchain: stable with RUSTC_BOOTSTRAP=1 and no sanitizer"
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
    SANITIZER=(--sanitizer none)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    step "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <("${FUZZ[@]}" list)
fi

step "building the fuzz targets (release, debug assertions on)"
"${FUZZ[@]}" build -O "${SANITIZER[@]}"

summary=()
for target in "${TARGETS[@]}"; do
    step "fuzzing $target for ${SECONDS_PER_TARGET}s"
    mkdir -p "corpus/$target" "artifacts/$target"
    dirs=("corpus/$target")
    for extra in "seeds/corpus/$target" "regressions/$target"; do
        [ -d "$extra" ] && dirs+=("$extra")
    done
    log="artifacts/$target/last-run.log"
    status=0
    "${FUZZ[@]}" run -O "${SANITIZER[@]}" "$target" "${dirs[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    if [ "$status" -ne 0 ]; then
        reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        tail -40 "$log" >&2
        printf '%-18s runs %-10s corpus %-6s CRASHED: %s (log %s)\n' \
            "$target" "${runs:-?}" "$corpus" "${reproducer:-see the log}" "fuzz/$log"
        exit 1
    fi
    summary+=("$(printf '%-18s runs %-10s corpus %-6s crashes 0' "$target" "${runs:-?}" "$corpus")")
done

step "done: ${SECONDS_PER_TARGET}s per target"
printf '%s\n' "${summary[@]}"
