#!/usr/bin/env bash
# The one place that knows what this project needs from the system. Idempotent: a second run only
# checks, and takes seconds.
#
#   1. system tools: installs the missing ones with apt-get (Debian/Ubuntu; sudo when not root) or
#      brew (macOS); elsewhere prints the exact list to install
#   2. npm ci (skipped when node_modules matches package-lock.json), then npm run build
#   3. Traefik: `traefik` on PATH, else built with scripts/install-traefik.sh when `go` exists
#      (also at /usr/local/go/bin/go), else a line saying the demo runs without it
#
# Usage: bash scripts/setup.sh [--dry-run]
#   --dry-run  print which tools are missing and what would be installed, change nothing
#
# Environment (for tests and unusual machines):
#   SETUP_OS     debian | macos | other: skip detecting the system
#   TRAEFIK_BIN  an existing Traefik v3 binary to use instead of building one
set -euo pipefail

src="${BASH_SOURCE[0]}"
[[ "$src" == */* ]] || src="./$src"
SCRIPT_DIR="$(cd "${src%/*}" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

# tool:debian-package:brew-package. A tool is missing when `command -v` does not find it.
REQUIREMENTS=(
  redis-server:redis-server:redis
  redis-cli:redis-tools:redis
  redis-sentinel:redis-sentinel:redis
  prometheus:prometheus:prometheus
  promtool:prometheus:prometheus
  amtool:prometheus-alertmanager:alertmanager
  shellcheck:shellcheck:shellcheck
  chromium:chromium:chromium
)

say() { printf 'setup: %s\n' "$*"; }

has() {
  case "$1" in
    # The browser test drives CHROMIUM_BIN when set; Debian calls the browser chromium, Ubuntu's
    # older packages chromium-browser.
    chromium)
      if [[ -n "${CHROMIUM_BIN:-}" ]]; then
        [[ -x "$CHROMIUM_BIN" ]]
      else
        command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
      fi
      ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

detect_os() {
  if [[ -n "${SETUP_OS:-}" ]]; then
    printf '%s\n' "$SETUP_OS"
  elif [[ "$(uname -s)" == Darwin ]]; then
    printf 'macos\n'
  elif [[ -f /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1; then
    printf 'debian\n'
  else
    printf 'other\n'
  fi
}

# Sets MISSING (tools) and PACKAGES (what installs them on $1), each without duplicates, in the
# order of REQUIREMENTS.
plan() {
  local os="$1" entry tool deb brew pkg
  MISSING=()
  PACKAGES=()
  for entry in "${REQUIREMENTS[@]}"; do
    IFS=: read -r tool deb brew <<<"$entry"
    has "$tool" && continue
    MISSING+=("$tool")
    if [[ "$os" == macos ]]; then pkg="$brew"; else pkg="$deb"; fi
    [[ " ${PACKAGES[*]} " == *" $pkg "* ]] || PACKAGES+=("$pkg")
  done
}

print_plan() {
  local os="$1"
  if ((${#MISSING[@]} == 0)); then
    say "system tools: all present, nothing to install"
    return
  fi
  say "missing tools: ${MISSING[*]}"
  case "$os" in
    debian) say "apt-get packages: ${PACKAGES[*]}" ;;
    macos) say "brew packages: ${PACKAGES[*]}" ;;
    *)
      say "no apt-get or brew here; install these yourself (Debian package names): ${PACKAGES[*]}"
      ;;
  esac
}

# Runs "$@" and reports how long it took.
timed() {
  local what="$1" start=$SECONDS
  shift
  "$@"
  say "$what took $((SECONDS - start)) s"
}

as_root() {
  if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

install_debian() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # Packages must not start their own daemons: the tests and the demo start theirs on free ports.
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e "$policy" ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
    created=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >/dev/null || rc=$?
  if ((created)); then as_root rm -f "$policy"; fi
  return "$rc"
}

install_macos() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if [[ "$pkg" == chromium ]]; then brew install --cask chromium; else brew install "$pkg"; fi
  done
}

system_tools() {
  local os="$1"
  plan "$os"
  print_plan "$os"
  ((${#MISSING[@]})) || return 0
  if [[ "$os" == debian ]] && ((EUID != 0)) && ! command -v sudo >/dev/null 2>&1; then
    say "not root and no sudo: install them as root with: apt-get install -y ${PACKAGES[*]}"
    return 0
  fi
  case "$os" in
    debian) install_debian ;;
    macos) install_macos ;;
    *) return 0 ;;
  esac
  plan "$os"
  if ((${#MISSING[@]})); then say "still missing after the install: ${MISSING[*]}"; fi
}

npm_deps() {
  cd "$REPO_ROOT"
  # npm ci writes node_modules/.package-lock.json last: newer than the lock means nothing changed
  # since, and every package it lists must still be the version the lock asks for.
  if [[ node_modules/.package-lock.json -nt package-lock.json ]] &&
    node -e '
      const want = require("./package-lock.json").packages;
      const have = require("./node_modules/.package-lock.json").packages;
      const stale = Object.keys(have).filter((k) => !want[k] || want[k].version !== have[k].version);
      process.exit(stale.length === 0 ? 0 : 1);
    ' 2>/dev/null; then
    say "node_modules is up to date with package-lock.json: npm ci skipped"
    return
  fi
  npm ci --no-audit --no-fund
}

# Builds Traefik in the background, printing a line every 15 s so a long build never looks stuck.
build_traefik() {
  local out pid start=$SECONDS next=15 took
  out="$(mktemp)"
  bash "$SCRIPT_DIR/install-traefik.sh" >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    took=$((SECONDS - start))
    if ((took >= next)); then
      say "still building Traefik… $((took / 60))m$(printf '%02d' $((took % 60)))s"
      next=$((next + 15))
    fi
  done
  if wait "$pid"; then
    say "Traefik: $(tail -n 1 "$out")"
    rm -f "$out"
  else
    sed 's/^/  /' "$out"
    rm -f "$out"
    say "Traefik build failed (above); the demo will run without Traefik"
  fi
}

setup_traefik() {
  local cached version on_path go=""
  version="$(tr -d '[:space:]' <"$SCRIPT_DIR/traefik-version.txt")"
  cached="$REPO_ROOT/.cache/traefik/$version/traefik"
  if [[ -n "${TRAEFIK_BIN:-}" && -x "$TRAEFIK_BIN" ]]; then
    say "Traefik: TRAEFIK_BIN=$TRAEFIK_BIN"
    return
  fi
  if [[ -x "$cached" ]]; then
    say "Traefik: $cached (already built)"
    return
  fi
  if on_path="$(command -v traefik 2>/dev/null)"; then
    # The demo and the tests look in the cache: point it at the one on PATH.
    mkdir -p "$(dirname "$cached")"
    ln -sf "$on_path" "$cached"
    say "Traefik: $on_path (on PATH; linked from $cached)"
    return
  fi
  go="$(command -v go 2>/dev/null || true)"
  if [[ -z "$go" && -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; fi
  if [[ -z "$go" ]]; then
    say "Traefik: no traefik on PATH and no go to build it; the demo will run without Traefik (install Go from https://go.dev/dl/ and run this again)"
    return
  fi
  say "building Traefik $version with $go (several minutes the first time)"
  export GO="$go"
  build_traefik
}

main() {
  local dry_run=0 os
  case "${1:-}" in
    --dry-run) dry_run=1 ;;
    "") ;;
    *)
      printf 'usage: bash scripts/setup.sh [--dry-run]\n' >&2
      exit 2
      ;;
  esac
  os="$(detect_os)"
  say "system: $os"
  if ((dry_run)); then
    plan "$os"
    print_plan "$os"
    exit 0
  fi
  local start=$SECONDS
  timed "system tools" system_tools "$os"
  timed "npm dependencies" npm_deps
  timed "build" npm run build --silent --prefix "$REPO_ROOT"
  timed "Traefik" setup_traefik
  say "done in $((SECONDS - start)) s. Next: npm run demo (or npm test)"
}

main "$@"
