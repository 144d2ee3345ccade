#!/usr/bin/env bash
# Builds the pinned Traefik v3 release from its Go module with this machine's `go`, so the e2e tests
# route through the real proxy rather than a stand-in. The binary is cached in
# .cache/traefik/<version>/traefik (gitignored) and reused on later runs.
#
# The pinned version is in scripts/traefik-version.txt: v3.6.12, the newest v3 release that builds
# from the Go module proxy here. Every v3.7 release (v3.7.11 to v3.7.13) needs
# github.com/containous/go-http-auth@v0.4.1-0.20260804094822-b975dcaa8c48, which the proxy refuses
# (403); v3.7.13 also needs 14 go-acme/lego DNS-provider SDK versions that it refuses.
#
# Usage: scripts/install-traefik.sh
#
# Environment:
#   TRAEFIK_BIN      use this binary instead of building; the script only checks that it runs
#   TRAEFIK_VERSION  build this version instead of the one pinned in scripts/traefik-version.txt
#   GO               the go binary to use (default: `go` on PATH, else /usr/local/go/bin/go)
#
# Output: progress on stderr; on stdout `traefik version`, then the binary's absolute path as the
# LAST line, so callers can capture it with `| tail -n 1`.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
MODULE="github.com/traefik/traefik/v3"

log() { printf 'install-traefik: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Runs `<bin> version`, prints it and then the path, which is the contract callers rely on.
report() {
  local bin="$1" out
  if ! out="$("$bin" version 2>&1)"; then
    die "'$bin version' failed, the binary does not run: $out"
  fi
  printf '%s\n%s\n' "$out" "$bin"
}

if [[ -n "${TRAEFIK_BIN:-}" ]]; then
  [[ -f "$TRAEFIK_BIN" && -x "$TRAEFIK_BIN" ]] ||
    die "TRAEFIK_BIN=$TRAEFIK_BIN is not an executable file; unset it to build the pinned version"
  log "using TRAEFIK_BIN=$TRAEFIK_BIN"
  report "$TRAEFIK_BIN"
  exit 0
fi

VERSION_FILE="$SCRIPT_DIR/traefik-version.txt"
if [[ -z "${TRAEFIK_VERSION:-}" ]]; then
  [[ -r "$VERSION_FILE" ]] || die "cannot read the pinned version from $VERSION_FILE"
  TRAEFIK_VERSION="$(tr -d '[:space:]' <"$VERSION_FILE")"
fi
[[ "$TRAEFIK_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] ||
  die "version '$TRAEFIK_VERSION' is not a Traefik v3 release tag like v3.6.12 (check $VERSION_FILE or TRAEFIK_VERSION)"

CACHE_DIR="$REPO_ROOT/.cache/traefik/$TRAEFIK_VERSION"
BIN="$CACHE_DIR/traefik"

if [[ -x "$BIN" ]]; then
  log "reusing $BIN"
  report "$BIN"
  exit 0
fi

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  GO="$(command -v go || true)"
  # Non-login shells (CI, jest) often lack /usr/local/go/bin on PATH although Go is installed there.
  if [[ -z "$GO" && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
fi
[[ -n "$GO" && -x "$GO" ]] ||
  die "go not found (looked at \$GO, PATH and /usr/local/go/bin/go). Install Go (https://go.dev/dl/), or set TRAEFIK_BIN to an existing Traefik v3 binary."

mkdir -p "$CACHE_DIR"
# Two test runs starting at once must not build into the same directory.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.lock"
  if ! flock -n 9; then
    log "another install-traefik.sh is building $TRAEFIK_VERSION; waiting for it"
    flock 9
  fi
  if [[ -x "$BIN" ]]; then
    log "reusing $BIN (built by the other run)"
    report "$BIN"
    exit 0
  fi
fi

# Never let go fetch a newer toolchain behind our back: a too-old Go must fail loudly here.
export GOTOOLCHAIN=local
# The module directory is copied into the repo tree, so VCS stamping would pick up this repo's git.
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

log "downloading $MODULE@$TRAEFIK_VERSION with $("$GO" version)"
if ! download_json="$(cd "$CACHE_DIR" && "$GO" mod download -json "$MODULE@$TRAEFIK_VERSION" 2>&1)"; then
  # -json reports the reason in an "Error" field; show just that when there is one.
  reason="$(printf '%s\n' "$download_json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')"
  die "go mod download $MODULE@$TRAEFIK_VERSION failed: ${reason:-$download_json}"
fi
module_dir="$(printf '%s\n' "$download_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$module_dir" && -d "$module_dir" ]] ||
  die "go mod download $MODULE@$TRAEFIK_VERSION did not report a module directory: $download_json"

# The module cache is read-only and `-mod=mod` may need to touch go.mod/go.sum: build a copy.
SRC="$CACHE_DIR/src"
rm -rf "$SRC"
cp -R "$module_dir" "$SRC"
chmod -R u+w "$SRC"

# Since v3.7, go.mod replaces github.com/traefik/traefik/dynamic/ext with ./pkg/config/dynamic/ext,
# a nested module that the module zip leaves out. Its only uses are two inlined extension points
# (ext.HTTP in HTTPConfiguration, ext.Router in Router), which the module's generated deepcopy code
# copies by value: they are empty in open-source Traefik, so an empty package is equivalent.
ext_dir="$SRC/pkg/config/dynamic/ext"
if grep -q '=> ./pkg/config/dynamic/ext' "$SRC/go.mod" && [[ ! -d "$ext_dir" ]]; then
  log "recreating the local module ./pkg/config/dynamic/ext that the module zip omits"
  mkdir -p "$ext_dir"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"$ext_dir/go.mod"
  printf '%s\n' \
    'package ext' '' \
    '// HTTP is a dynamic.HTTPConfiguration extension point, empty in open-source Traefik.' \
    'type HTTP struct{}' '' \
    '// Router is a dynamic.Router extension point, empty in open-source Traefik.' \
    'type Router struct{}' >"$ext_dir/ext.go"
fi

BUILD_LOG="$CACHE_DIR/build.log"
ldflags="-s -w -X $MODULE/pkg/version.Version=$TRAEFIK_VERSION -X $MODULE/pkg/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "building $MODULE@$TRAEFIK_VERSION ./cmd/traefik (several minutes on 2 cores; log: $BUILD_LOG)"
started=$SECONDS
if ! (cd "$SRC" && "$GO" build -trimpath -ldflags "$ldflags" -o "$BIN.tmp" ./cmd/traefik) >"$BUILD_LOG" 2>&1; then
  rm -rf "$BIN.tmp" "$SRC"
  grep -v '^go: downloading' "$BUILD_LOG" | tail -n 30 >&2 || true
  mapfile -t refused < <(grep -o 'proxy.golang.org/[^ ]*: 403' "$BUILD_LOG" | sed 's/: 403$//' | sort -u || true)
  if ((${#refused[@]} > 0)); then
    log "the Go module proxy refused (403) these dependency versions:"
    printf '  %s\n' "${refused[@]}" >&2
  fi
  die "go build ./cmd/traefik of $MODULE@$TRAEFIK_VERSION failed after $((SECONDS - started)) s (full log: $BUILD_LOG). Pin an older release in $VERSION_FILE or set TRAEFIK_BIN."
fi
mv "$BIN.tmp" "$BIN"
# The copy is only needed for the build; go's own caches keep a rebuild fast.
rm -rf "$SRC"
log "built $BIN in $((SECONDS - started)) s"
report "$BIN"
