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
#       ffmpeg                        videos (Explain this video): test clips made and read back (ffmpeg, ffprobe)
#   * code-server $CODE_SERVER_VERSION (bundles VS Code 1.100.3 server + web workbench) into
#     <repo>/.tools/code-server, its own npm project, gitignored, NOT in package.json. `.tools` is
#     the machine cache's tools/ folder (scripts/machine-cache.sh) unless the checkout has its own;
#     the install is keyed (version, Node ABI, arch: .tools/code-server/.complete), made in
#     code-server.partial and renamed into place once checked, under a lock. Nothing in HOME is
#     read: npm's cache is $npm_config_cache or the machine cache's npm/.
#
# Env knobs: CODE_SERVER_VERSION (default 4.100.3), SKIP_APT=1 (skip Debian packages),
#            FORCE_CODE_SERVER=1 (reinstall code-server from scratch).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
# shellcheck source=machine-cache.sh
. "$ROOT/scripts/machine-cache.sh"
machine_cache_init "$ROOT"   # sets MACHINE_CACHE and TOOLS_DIR (.tools)
CS_DIR="$TOOLS_DIR/code-server"
CS_KEY="code-server $CODE_SERVER_VERSION, node ABI $(node -p process.versions.modules), $(uname -m), recipe 1"
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
              tigervnc-standalone-server x11-xserver-utils strace iproute2 ffmpeg
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
code_server_version() {  # $1: a code-server install folder. Prints `code-server --version`'s output.
  # On its first start code-server writes ~/.config/code-server/config.yaml and says so on the
  # first line, before the version: give it a throwaway config home (HOME is never touched).
  local cfg status=0
  cfg="$(mktemp -d)"
  XDG_CONFIG_HOME="$cfg" XDG_DATA_HOME="$cfg" "$1/node_modules/.bin/code-server" --version 2>&1 || status=$?
  rm -rf "$cfg"
  return "$status"
}

code_server_why() {  # $1: a code-server install folder. Prints why it is not usable; nothing when it is.
  local dir="$1" bin="$1/node_modules/.bin/code-server" vscode="$1/node_modules/code-server/lib/vscode/node_modules"
  [ -x "$bin" ] || { echo "$bin missing"; return; }
  local out version_line
  out="$(code_server_version "$dir")" || { echo "'code-server --version' failed: $out"; return; }
  # The version is the line that starts with a version number, wherever it is.
  version_line="$(printf '%s\n' "$out" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -n 1 || true)"
  if [ "${version_line%% *}" != "$CODE_SERVER_VERSION" ]; then
    echo "no line of 'code-server --version' starts with $CODE_SERVER_VERSION: $(printf '%s' "$out" | tr '\n' '|')"; return
  fi
  # The native modules its postinstall built must be there, and load in this Node (its ABI).
  local m
  for m in node-pty/build/Release/pty.node kerberos/build/Release/kerberos.node; do
    [ -f "$vscode/$m" ] || { echo "${m%%/*} native module not built"; return; }
    node -e 'require(process.argv[1])' "$vscode/$m" 2>/dev/null || { echo "${m%%/*} native module does not load in Node $(node --version)"; return; }
  done
  [ -x "$vscode/@vscode/ripgrep/bin/rg" ] || { echo "@vscode/ripgrep binary missing"; return; }
}
code_server_ok() { [ -z "$(code_server_why "$1")" ]; }

seed_ripgrep_cache() {  # $1: the TMPDIR npm and the postinstalls see
  # @vscode/ripgrep's postinstall downloads a ripgrep release, which fails offline. It first
  # looks in $TMPDIR/vscode-ripgrep-cache-<pkg version>/ripgrep-<rg version>-<target>.tar.gz,
  # so put a tar.gz holding Debian's rg there (for the versions code-server 4.100.x uses).
  local tmp="$1" target
  case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64|arm64) target=aarch64-unknown-linux-musl ;;
    *) target="$(uname -m)-unknown-linux-gnu" ;;
  esac
  local stage="$tmp/rg-stage"
  rm -rf "$stage"; mkdir -p "$stage"
  cp "$(command -v rg)" "$stage/rg"
  local pair pkgver rgver
  for pair in "1.15.11:v13.0.0-10" "1.15.10:v13.0.0-10" "1.15.9:v13.0.0-10" "1.15.9:v13.0.0-4"; do
    pkgver="${pair%%:*}"; rgver="${pair#*:}"
    mkdir -p "$tmp/vscode-ripgrep-cache-$pkgver"
    tar -czf "$tmp/vscode-ripgrep-cache-$pkgver/ripgrep-$rgver-$target.tar.gz" -C "$stage" rg
  done
  rm -rf "$stage"
}

install_code_server() {  # $1: an empty folder to install code-server into (runs with errexit)
  local dir="$1" tmp="$1.tmp"
  log "installing code-server $CODE_SERVER_VERSION into ${dir#"$ROOT/"} (log: ${LOG#"$ROOT/"})"
  rm -rf "$tmp"; mkdir -p "$tmp"
  printf '{\n  "name": "code-server-tool",\n  "private": true\n}\n' > "$dir/package.json"
  seed_ripgrep_cache "$tmp"

  local npm_env=(
    TMPDIR="$tmp" TMP="$tmp" TEMP="$tmp"   # ripgrep's postinstall finds the seeded cache here
    npm_config_cache="${npm_config_cache:-$MACHINE_CACHE/npm}"
    npm_config_unsafe_perm=true   # its postinstall refuses to run as root otherwise
    npm_config_yes=true           # node-pty's postinstall runs `npx node-gyp`
    npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
    JOBS="${JOBS:-max}"           # node-gyp: compile the native modules with make -j<cores>
  )
  # node-gyp must not download Node headers (offline, and into HOME): point it at the local
  # ones unless npm is already configured with a nodedir.
  if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ]; then
    local node_prefix
    node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    if [ -f "$node_prefix/include/node/node.h" ]; then
      npm_env+=(npm_config_nodedir="$node_prefix")
    fi
  fi

  if ! (cd "$dir" && env "${npm_env[@]}" npm install --save-exact --no-audit --no-fund \
          --foreground-scripts "code-server@$CODE_SERVER_VERSION") >"$LOG" 2>&1; then
    tail -n 60 "$LOG" >&2
    log "ERROR: npm install code-server@$CODE_SERVER_VERSION failed (full log: $LOG)" >&2
    return 1
  fi

  # Belt and braces: if a ripgrep postinstall still missed its binary, use Debian's.
  local pkg
  while IFS= read -r -d '' pkg; do
    if [ ! -x "$pkg/bin/rg" ]; then
      mkdir -p "$pkg/bin"; cp "$(command -v rg)" "$pkg/bin/rg"
      log "seeded ${pkg#"$ROOT/"}/bin/rg from $(command -v rg)"
    fi
  done < <(find "$dir/node_modules" -type d -path '*/@vscode/ripgrep' -print0)
  rm -rf "$tmp"
  local why; why="$(code_server_why "$dir")"
  [ -z "$why" ] || { log "ERROR: code-server check failed after the install: $why (log: $LOG)" >&2; return 1; }
}

[ "${FORCE_CODE_SERVER:-0}" != "1" ] || rm -rf "$CS_DIR"
if cache_entry_ready "$CS_DIR" "$CS_KEY" code_server_ok; then
  step_done "code-server $CODE_SERVER_VERSION already installed"
else
  cache_entry "$CS_DIR" "$CS_KEY" code_server_ok install_code_server
  step_done "code-server $CODE_SERVER_VERSION installed"
fi

# ---------------------------------------------------------------------------------------
# 3. Summary
# ---------------------------------------------------------------------------------------
# (cache_entry checked the install: code_server_why, above.)
log "code-server: $(code_server_version "$CS_DIR" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -n 1)"
log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'not found')"
log "done in $(elapsed "$T_START")"
