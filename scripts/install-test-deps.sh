#!/usr/bin/env bash
# Installs what the real-VS-Code e2e tests need, offline-friendly (only apt and the npm
# registry are reachable). Idempotent: a second run only checks and exits in ~1 s.
#
#   * Debian packages (only the missing ones; `apt-get update` once, only when installing):
#       chromium + fonts-liberation   browser driven by playwright-core (/usr/bin/chromium)
#       xvfb xauth openbox            virtual X display (+ a window manager) for screen-capture tests
#       x11-apps x11-utils xclip      known pixels on screen (xlogo), xprop, clipboard images
#       tigervnc-standalone-server    Xvnc: an X server with several monitors (RandR outputs)
#       x11-xserver-utils             xrandr, xsetroot, xrdb (monitor layout, scaling)
#       ripgrep                       code-server's search; also seeds @vscode/ripgrep offline
#       libkrb5-dev                   code-server's `kerberos` native module (gssapi headers)
#       build-essential python3 pkg-config   node-gyp builds (node-pty, kerberos, ...)
#       strace iproute2               offline proof (e2e/offline.test.ts): socket calls traced in a loopback-only namespace
#   * code-server $CODE_SERVER_VERSION (bundles VS Code 1.100.3 server + web workbench) into
#     <repo>/.tools/code-server, its own npm project, gitignored, NOT in package.json.
#
# Env knobs: CODE_SERVER_VERSION (default 4.100.3), SKIP_APT=1 (skip Debian packages),
#            FORCE_CODE_SERVER=1 (reinstall code-server from scratch).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
TOOLS_DIR="$ROOT/.tools"
CS_DIR="$TOOLS_DIR/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_TMP="$TOOLS_DIR/tmp"   # TMPDIR seen by npm and every postinstall (ripgrep cache lives here)
LOG="$TOOLS_DIR/install-code-server.log"

T_START=$(date +%s.%N)
T_STEP=$T_START
log() { printf '[install-test-deps] %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
step_done() { log "$1 ($(elapsed "$T_STEP"))"; T_STEP=$(date +%s.%N); }
die() { log "ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------
APT_PACKAGES=(chromium fonts-liberation xvfb xauth openbox x11-apps x11-utils xclip ripgrep libkrb5-dev
              tigervnc-standalone-server x11-xserver-utils strace iproute2
              build-essential python3 pkg-config ca-certificates)

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

if [ "${SKIP_APT:-0}" != "1" ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
      command -v sudo >/dev/null || die "need root (or sudo) to apt-get install: ${missing[*]}"
      SUDO="sudo"
    fi
    log "apt-get install: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # With recommends: that is the set Chromium was proven with here (fonts, GL, …).
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    step_done "Debian packages installed"
  else
    step_done "Debian packages already present"
  fi
fi
command -v rg >/dev/null || die "ripgrep (rg) not found"

# ---------------------------------------------------------------------------------------
# 2. code-server
# ---------------------------------------------------------------------------------------
code_server_ok() {  # $1=verbose: say why it is not ok
  local why=""
  if [ ! -x "$CS_BIN" ]; then
    why="$CS_BIN missing"
  else
    local out version_line
    # On its first start code-server writes ~/.config/code-server/config.yaml and says so on the
    # first line, before the version: give it a throwaway config home, and read the line that
    # starts with a version number wherever it is.
    local cfg; cfg="$(mktemp -d)"
    if ! out="$(XDG_CONFIG_HOME="$cfg" XDG_DATA_HOME="$cfg" "$CS_BIN" --version 2>&1)"; then
      why="'code-server --version' failed: $out"
    fi
    rm -rf "$cfg"
    version_line="$(printf '%s\n' "$out" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -n 1 || true)"
    if [ -n "$why" ]; then
      :
    elif [ "${version_line%% *}" != "$CODE_SERVER_VERSION" ]; then
      why="no line of 'code-server --version' starts with $CODE_SERVER_VERSION: $(printf '%s' "$out" | tr '\n' '|')"
    # the native modules built by postinstall and the ripgrep binary must be there too
    elif [ ! -f "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node" ]; then
      why="node-pty native module not built"
    elif [ ! -f "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/kerberos/build/Release/kerberos.node" ]; then
      why="kerberos native module not built"
    elif [ ! -x "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
      why="@vscode/ripgrep binary missing"
    fi
  fi
  if [ -z "$why" ]; then CS_VERSION_LINE="$version_line"; return 0; fi
  [ "${1:-}" = verbose ] && log "code-server check: $why" >&2
  return 1
}

seed_ripgrep_cache() {
  # @vscode/ripgrep's postinstall downloads a ripgrep release, which fails offline. It first
  # looks in $TMPDIR/vscode-ripgrep-cache-<pkg version>/ripgrep-<rg version>-<target>.tar.gz,
  # so put a tar.gz holding Debian's rg there (for the versions code-server 4.100.x uses).
  local target
  case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64|arm64) target=aarch64-unknown-linux-musl ;;
    *) target="$(uname -m)-unknown-linux-gnu" ;;
  esac
  local stage="$CS_TMP/rg-stage"
  rm -rf "$stage"; mkdir -p "$stage"
  cp "$(command -v rg)" "$stage/rg"
  local pair pkgver rgver
  for pair in "1.15.11:v13.0.0-10" "1.15.10:v13.0.0-10" "1.15.9:v13.0.0-10" "1.15.9:v13.0.0-4"; do
    pkgver="${pair%%:*}"; rgver="${pair#*:}"
    mkdir -p "$CS_TMP/vscode-ripgrep-cache-$pkgver"
    tar -czf "$CS_TMP/vscode-ripgrep-cache-$pkgver/ripgrep-$rgver-$target.tar.gz" -C "$stage" rg
  done
  rm -rf "$stage"
}

if [ "${FORCE_CODE_SERVER:-0}" != "1" ] && code_server_ok; then
  step_done "code-server $CODE_SERVER_VERSION already installed"
else
  log "installing code-server $CODE_SERVER_VERSION into ${CS_DIR#"$ROOT/"} (log: ${LOG#"$ROOT/"})"
  CS_VERSION_LINE=""
  rm -rf "$CS_DIR" "$CS_TMP"
  mkdir -p "$CS_DIR" "$CS_TMP"
  printf '{\n  "name": "code-server-tool",\n  "private": true\n}\n' > "$CS_DIR/package.json"
  seed_ripgrep_cache

  npm_env=(
    TMPDIR="$CS_TMP" TMP="$CS_TMP" TEMP="$CS_TMP"
    npm_config_unsafe_perm=true   # its postinstall refuses to run as root otherwise
    npm_config_yes=true           # node-pty's postinstall runs `npx node-gyp`
    npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
    JOBS="${JOBS:-max}"           # node-gyp: compile the native modules with make -j<cores>
  )
  # node-gyp must not download Node headers (offline): point it at the local ones unless
  # npm is already configured with a nodedir.
  if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ]; then
    node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    if [ -f "$node_prefix/include/node/node.h" ]; then
      npm_env+=(npm_config_nodedir="$node_prefix")
    fi
  fi

  if ! (cd "$CS_DIR" && env "${npm_env[@]}" npm install --save-exact --no-audit --no-fund \
          --foreground-scripts "code-server@$CODE_SERVER_VERSION") >"$LOG" 2>&1; then
    tail -n 60 "$LOG" >&2
    die "npm install code-server@$CODE_SERVER_VERSION failed (full log: $LOG)"
  fi

  # Belt and braces: if a ripgrep postinstall still missed its binary, use Debian's.
  while IFS= read -r -d '' pkg; do
    if [ ! -x "$pkg/bin/rg" ]; then
      mkdir -p "$pkg/bin"; cp "$(command -v rg)" "$pkg/bin/rg"
      log "seeded ${pkg#"$ROOT/"}/bin/rg from $(command -v rg)"
    fi
  done < <(find "$CS_DIR/node_modules" -type d -path '*/@vscode/ripgrep' -print0)
  rm -rf "$CS_TMP"
  step_done "code-server $CODE_SERVER_VERSION installed"
fi

# ---------------------------------------------------------------------------------------
# 3. Final check
# ---------------------------------------------------------------------------------------
if [ -z "${CS_VERSION_LINE:-}" ]; then
  code_server_ok verbose || { [ -f "$LOG" ] && tail -n 40 "$LOG" >&2; die "code-server check failed"; }
fi
log "code-server: $CS_VERSION_LINE"
log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'not found')"
log "done in $(elapsed "$T_START")"
