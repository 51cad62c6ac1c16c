#!/usr/bin/env bash
# Builds every contract to wasm32-unknown-unknown and collects the .wasm files in
# <target>/contracts/<crate_name>.wasm (crate name with dashes turned into underscores):
#
# - every workspace package under contracts/ with a `cdylib` crate type, in one cargo invocation
#   with the workspace's `contract` profile (those marked `build-alone` each in one of their own,
#   so their cosmwasm-std features stay theirs);
# - cw20-base 2.0.0 from crates.io, built as its own package (a cdylib that merely depends on it
#   would not export its entry points) with a fresh lock file, so that cosmwasm-std resolves to
#   the newest 2.x (2.0.0's allocator aborts in `deallocate` with Rust >= 1.78).
#
# Idempotent: cargo rebuilds only what changed, and the cw20-base source is prepared once.
# <target> is $CARGO_TARGET_DIR if set, else <repo>/target. Needs network on the first run only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in
/*) ;;
*) TARGET_DIR="$ROOT/$TARGET_DIR" ;;
esac
export CARGO_TARGET_DIR="$TARGET_DIR"
OUT="$TARGET_DIR/contracts"
WASM_TARGET=wasm32-unknown-unknown
CW20_VERSION=2.0.0
# Sources of third-party contracts. (`$TARGET_DIR/thirdparty` itself holds the host artifacts
# of the `thirdparty` profile.)
THIRDPARTY="$TARGET_DIR/thirdparty-src"

die() {
    echo "build-contracts: error: $*" >&2
    exit 1
}

ensure_wasm_target() {
    if command -v rustup >/dev/null 2>&1; then
        if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
            echo "build-contracts: installing the $WASM_TARGET target" >&2
            rustup target add "$WASM_TARGET" ||
                die "could not install the $WASM_TARGET target; run \`rustup target add $WASM_TARGET\` (it needs network access) and run this script again"
        fi
    elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/$WASM_TARGET" ]; then
        die "the Rust standard library for $WASM_TARGET is missing and rustup is not available; install it for your toolchain (e.g. your distribution's rust-std-$WASM_TARGET package)"
    fi
}

# Prints the names of the workspace packages under contracts/ that have a cdylib target: with
# $1 = shared, those built together in one invocation; with $1 = alone, those whose manifest says
# `[package.metadata.consign] build-alone = true` (a contract that enables a cosmwasm-std feature,
# such as `staking`, which cargo would otherwise unify into every contract built beside it).
contract_packages() {
    local metadata
    metadata="$(cargo metadata --manifest-path "$ROOT/Cargo.toml" --no-deps --format-version 1)"
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg dir "$ROOT/contracts/" --arg mode "$1" '.packages[]
            | select(.manifest_path | startswith($dir))
            | select(any(.targets[]; any(.crate_types[]; . == "cdylib")))
            | select((.metadata.consign["build-alone"] // false) == ($mode == "alone"))
            | .name' <<<"$metadata"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c '
import json, sys
root, mode = sys.argv[1], sys.argv[2]
for p in json.load(sys.stdin)["packages"]:
    alone = bool(((p.get("metadata") or {}).get("consign") or {}).get("build-alone", False))
    if p["manifest_path"].startswith(root) and any(
        "cdylib" in t["crate_types"] for t in p["targets"]
    ) and alone == (mode == "alone"):
        print(p["name"])
' "$ROOT/contracts/" "$1" <<<"$metadata"
    else
        die "need jq or python3 to read \`cargo metadata\`"
    fi
}

# Copies $1 to $OUT/$2.wasm unless identical (keeps timestamps stable) and prints its size.
collect() {
    local src="$1" name="$2" dest="$OUT/$2.wasm"
    [ -f "$src" ] || die "cargo did not produce $src"
    if ! cmp -s "$src" "$dest"; then
        cp "$src" "$dest"
    fi
    printf '%-24s %9d bytes  %s\n' "$name.wasm" "$(wc -c <"$dest")" "$dest"
}

build_workspace_contracts() {
    local packages=() alone=() args=() name
    mapfile -t packages < <(contract_packages shared)
    mapfile -t alone < <(contract_packages alone)
    [ "${#packages[@]}" -gt 0 ] || die "no cdylib packages found under $ROOT/contracts"
    for name in "${packages[@]}"; do
        args+=(-p "$name")
    done
    cargo build --manifest-path "$ROOT/Cargo.toml" --target "$WASM_TARGET" --profile contract "${args[@]}"
    for name in "${alone[@]}"; do
        cargo build --manifest-path "$ROOT/Cargo.toml" --target "$WASM_TARGET" --profile contract -p "$name"
    done
    for name in "${packages[@]}" "${alone[@]}"; do
        name="${name//-/_}"
        collect "$TARGET_DIR/$WASM_TARGET/contract/$name.wasm" "$name"
    done
}

# Prints the version of package $2 in lock file $1.
locked_version() {
    awk -v pkg="$2" '$1 == "name" && $3 == "\"" pkg "\"" { getline; gsub(/"/, "", $3); print $3; exit }' "$1"
}

# Copies cw20-base's published source to $THIRDPARTY/cw20-base as a workspace of its own, with
# a fresh lock file. Done once; delete that directory to redo it.
prepare_cw20_base() {
    local dest="$THIRDPARTY/cw20-base" fetch="$THIRDPARTY/fetch" marker
    marker="$dest/.prepared-$CW20_VERSION"
    [ -f "$marker" ] && return

    # Let cargo download the crate (and its dependencies) the ordinary way.
    mkdir -p "$fetch"
    cat >"$fetch/Cargo.toml" <<EOF
[package]
name = "consign-fetch-thirdparty"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "lib.rs"

[dependencies]
cw20-base = "=$CW20_VERSION"

[workspace]
EOF
    : >"$fetch/lib.rs"
    cargo fetch --manifest-path "$fetch/Cargo.toml"

    local cargo_home="${CARGO_HOME:-$HOME/.cargo}" src="" dir
    for dir in "$cargo_home"/registry/src/*/"cw20-base-$CW20_VERSION"; do
        [ -f "$dir/Cargo.toml" ] && src="$dir"
    done
    [ -n "$src" ] || die "cargo fetch did not unpack cw20-base-$CW20_VERSION under $cargo_home/registry/src"

    rm -rf "$dest"
    mkdir -p "$THIRDPARTY"
    cp -R "$src" "$dest"
    chmod -R u+w "$dest"
    # Its own workspace, so cargo does not take it for a member of ours; and a fresh lock file
    # instead of the published one, which pins cosmwasm-std 2.0.0.
    printf '\n[workspace]\n' >>"$dest/Cargo.toml"
    # Our own lock file for it (scripts/thirdparty/), so every build resolves the same
    # dependencies; without one, resolve afresh (and keep the result there to pin it).
    local pinned="$ROOT/scripts/thirdparty/cw20-base-$CW20_VERSION.Cargo.lock"
    rm -f "$dest/Cargo.lock"
    if [ -f "$pinned" ]; then
        cp "$pinned" "$dest/Cargo.lock"
    else
        cargo generate-lockfile --manifest-path "$dest/Cargo.toml"
    fi

    local std_version
    std_version="$(locked_version "$dest/Cargo.lock" cosmwasm-std)"
    case "$std_version" in
    2.0.0 | "") die "cw20-base resolved cosmwasm-std to '${std_version:-nothing}'; it needs a 2.x after 2.0.0 (run \`cargo update -p cosmwasm-std --manifest-path $dest/Cargo.toml\` online)" ;;
    2.*) ;;
    *) die "cw20-base resolved cosmwasm-std to $std_version; expected 2.x" ;;
    esac
    echo "build-contracts: cw20-base $CW20_VERSION prepared with cosmwasm-std $std_version" >&2
    touch "$marker"
}

build_cw20_base() {
    prepare_cw20_base
    # A profile of its own, like our `contract` profile, defined on the command line because
    # the package's manifest is not ours.
    cargo build --manifest-path "$THIRDPARTY/cw20-base/Cargo.toml" --locked --lib \
        --target "$WASM_TARGET" --profile thirdparty \
        --config 'profile.thirdparty.inherits="release"' \
        --config 'profile.thirdparty.opt-level=3' \
        --config 'profile.thirdparty.lto=true' \
        --config 'profile.thirdparty.codegen-units=1' \
        --config 'profile.thirdparty.panic="abort"' \
        --config 'profile.thirdparty.debug=false' \
        --config 'profile.thirdparty.strip=true' \
        --config 'profile.thirdparty.overflow-checks=true' \
        --config 'profile.thirdparty.incremental=false'
    collect "$TARGET_DIR/$WASM_TARGET/thirdparty/cw20_base.wasm" cw20_base
}

ensure_wasm_target
mkdir -p "$OUT"
build_workspace_contracts
build_cw20_base
