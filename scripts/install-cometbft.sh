#!/usr/bin/env bash
# Installs CometBFT v0.38.26, the consensus engine `consign start` runs beside the chain, with
# `go install` (into $(go env GOPATH)/bin, usually ~/go/bin). Does nothing when a `cometbft` on
# PATH or in ~/go/bin already prints 0.38.26. Needs Go (1.22 or later) and the Go module proxy.
#
#   bash scripts/install-cometbft.sh
#
# `consign` and the tests find the binary through $CONSIGN_COMETBFT, then PATH, then ~/go/bin.
set -euo pipefail

VERSION="0.38.26"

installed() {
    local bin
    for bin in "$(command -v cometbft 2>/dev/null || true)" "$HOME/go/bin/cometbft"; do
        if [ -n "$bin" ] && [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$VERSION" ]; then
            echo "CometBFT $VERSION is installed: $bin" >&2
            return 0
        fi
    done
    return 1
}

if installed; then
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "CometBFT $VERSION is not installed and Go is missing: install Go 1.22 or later" \
        "(https://go.dev/doc/install), then run this script again" >&2
    exit 1
fi
echo "installing CometBFT $VERSION with go install (about a minute the first time)" >&2
go install "github.com/cometbft/cometbft/cmd/cometbft@v$VERSION"
installed || {
    echo "go install finished but no cometbft $VERSION was found on PATH or in ~/go/bin" \
        "(GOPATH is $(go env GOPATH)); add $(go env GOPATH)/bin to PATH" >&2
    exit 1
}
