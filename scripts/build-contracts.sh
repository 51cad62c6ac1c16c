#!/usr/bin/env bash
# Builds every contract to wasm32-unknown-unknown and collects the .wasm files in
# <target>/contracts/<crate_name>.wasm (crate name with dashes turned into underscores):
#
# - every workspace package under contracts/ with a `cdylib` crate type, in one cargo invocation
#   with the workspace's `contract` profile (those marked `build-alone` each in one of their own,
#   so their cosmwasm-std features stay theirs);
# - third-party contracts from crates.io (THIRDPARTY_CONTRACTS: cw20-base, cw4-group,
#   cw3-flex-multisig, cw1-subkeys, cw721-base, cw721-fixed-price), each built unmodified as
#   its own package (a cdylib that merely depends on one would not export its entry points)
#   with the lock file pinned in scripts/thirdparty/, so that cosmwasm-std resolves to a 2.x
#   after 2.0.0 (whose allocator aborts in `deallocate` with Rust >= 1.78).
#
# Idempotent: cargo rebuilds only what changed, and each third-party source is prepared once.
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
# Third-party contracts built unmodified from crates.io, as name@version: the tests drive each
# through a scenario of its own (tests/tests/thirdparty.rs). cw1-subkeys is built with
# cosmwasm-std's `staking` feature and sends staking messages for its subkeys.
THIRDPARTY_CONTRACTS=(
    cw20-base@2.0.0
    cw4-group@2.0.0
    cw3-flex-multisig@2.0.0
    cw1-subkeys@2.0.0
    cw721-base@0.22.0
    cw721-fixed-price@0.22.0
)
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

# Prints the directory cargo unpacked crate $1 at version $2 into, if it did.
unpacked_source() {
    local cargo_home="${CARGO_HOME:-$HOME/.cargo}" dir
    for dir in "$cargo_home"/registry/src/*/"$1-$2"; do
        [ -f "$dir/Cargo.toml" ] && echo "$dir" && return
    done
    return 0
}

# Downloads every third-party contract's published source the ordinary way: one `cargo fetch` of
# a manifest that depends on them all (cargo unpacks them under its registry source directory).
fetch_thirdparty() {
    local fetch="$THIRDPARTY/fetch" spec
    mkdir -p "$fetch"
    {
        printf '[package]\nname = "consign-fetch-thirdparty"\nversion = "0.0.0"\n'
        printf 'edition = "2021"\npublish = false\n\n[lib]\npath = "lib.rs"\n\n[dependencies]\n'
        for spec in "${THIRDPARTY_CONTRACTS[@]}"; do
            printf '%s = "=%s"\n' "${spec%@*}" "${spec#*@}"
        done
        printf '\n[workspace]\n'
    } >"$fetch/Cargo.toml"
    : >"$fetch/lib.rs"
    cargo fetch --manifest-path "$fetch/Cargo.toml"
}

# Copies crate $1's published source at version $2 to $THIRDPARTY/$1 as a workspace of its own,
# with the lock file pinned in scripts/thirdparty/. Done once per version; delete that directory
# to redo it.
prepare_thirdparty() {
    local name="$1" version="$2" dest="$THIRDPARTY/$1" src
    [ -f "$dest/.prepared-$version" ] && return

    src="$(unpacked_source "$name" "$version")"
    if [ -z "$src" ]; then
        fetch_thirdparty
        src="$(unpacked_source "$name" "$version")"
    fi
    [ -n "$src" ] || die "cargo fetch did not unpack $name-$version under ${CARGO_HOME:-$HOME/.cargo}/registry/src"

    rm -rf "$dest"
    mkdir -p "$THIRDPARTY"
    cp -R "$src" "$dest"
    chmod -R u+w "$dest"
    # Its own workspace, so cargo does not take it for a member of ours and no feature another
    # contract enables leaks into it; and our lock file instead of the published one (the
    # cw-plus 2.0.0 crates pin cosmwasm-std 2.0.0, whose allocator aborts with Rust >= 1.78).
    printf '\n[workspace]\n' >>"$dest/Cargo.toml"
    local pinned="$ROOT/scripts/thirdparty/$name-$version.Cargo.lock"
    rm -f "$dest/Cargo.lock"
    if [ -f "$pinned" ]; then
        cp "$pinned" "$dest/Cargo.lock"
    else
        # No pin yet: resolve afresh and keep the result as the pin, to be committed.
        cargo generate-lockfile --manifest-path "$dest/Cargo.toml"
        cp "$dest/Cargo.lock" "$pinned"
        echo "build-contracts: pinned $name $version's dependencies in $pinned; commit it" >&2
    fi

    local std_version
    std_version="$(locked_version "$dest/Cargo.lock" cosmwasm-std)"
    case "$std_version" in
    2.0.0 | "") die "$name resolved cosmwasm-std to '${std_version:-nothing}'; it needs a 2.x after 2.0.0 (run \`cargo update -p cosmwasm-std --manifest-path $dest/Cargo.toml\` online)" ;;
    2.*) ;;
    *) die "$name resolved cosmwasm-std to $std_version; expected 2.x" ;;
    esac
    echo "build-contracts: $name $version prepared with cosmwasm-std $std_version" >&2
    touch "$dest/.prepared-$version"
}

# Builds third-party contract $1 at version $2 unmodified, in a cargo invocation of its own.
build_thirdparty() {
    local name="$1" version="$2"
    prepare_thirdparty "$name" "$version"
    # A profile of its own, like our `contract` profile, defined on the command line because
    # the package's manifest is not ours.
    cargo build --manifest-path "$THIRDPARTY/$name/Cargo.toml" --locked --lib \
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
    collect "$TARGET_DIR/$WASM_TARGET/thirdparty/${name//-/_}.wasm" "${name//-/_}"
}

ensure_wasm_target
mkdir -p "$OUT"
build_workspace_contracts
for spec in "${THIRDPARTY_CONTRACTS[@]}"; do
    build_thirdparty "${spec%@*}" "${spec#*@}"
done
