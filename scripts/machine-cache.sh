# Per-machine caches (code-server, llama.cpp builds, npm's cache), independent of HOME.
# Sourced by scripts/install-test-deps.sh, scripts/build-llama-server.sh and .ci/run; run it
# (`bash scripts/machine-cache.sh`) to print the cache folder.
#
#   INTERNVL_LENS_CACHE   the machine cache (default /var/cache/internvl-lens where it can be
#                         created and written, e.g. as root on CI; otherwise <repo>/.cache/machine)
#
# `.tools` is the path every script reads. When a checkout has none, it becomes a link to
# $MACHINE_CACHE/tools, so every clone on the machine shares one code-server and one llama.cpp
# build. A `.tools` that exists (a folder, or a link a developer made) is used as it is.
#
# A cache entry is a folder that is finished only when its marker (.complete, holding the
# entry's key) is there and its check passes; anything else is rebuilt, under a lock
# (<entry>.lock, flock) so that two runs at once build it once. See cache_entry.

machine_cache_init() {  # $1: the repository root. Sets MACHINE_CACHE and TOOLS_DIR.
  local root="$1"
  if [ -n "${INTERNVL_LENS_CACHE:-}" ]; then
    MACHINE_CACHE="$INTERNVL_LENS_CACHE"
    mkdir -p "$MACHINE_CACHE" 2>/dev/null && [ -w "$MACHINE_CACHE" ] ||
      { echo "[machine-cache] INTERNVL_LENS_CACHE=$MACHINE_CACHE cannot be created or written: point it at a writable folder, or unset it" >&2; return 1; }
  elif mkdir -p /var/cache/internvl-lens 2>/dev/null && [ -w /var/cache/internvl-lens ]; then
    MACHINE_CACHE=/var/cache/internvl-lens
  else
    MACHINE_CACHE="$root/.cache/machine"
    mkdir -p "$MACHINE_CACHE"
  fi
  TOOLS_DIR="$root/.tools"
  if [ -L "$TOOLS_DIR" ] && [ ! -e "$TOOLS_DIR" ]; then
    echo "[machine-cache] $TOOLS_DIR is a link to $(readlink "$TOOLS_DIR"), which does not exist: remove the link (it is then made again, to $MACHINE_CACHE/tools) or make its target" >&2
    return 1
  fi
  if [ ! -e "$TOOLS_DIR" ]; then
    mkdir -p "$MACHINE_CACHE/tools"
    ln -sfn "$MACHINE_CACHE/tools" "$TOOLS_DIR.link.$$" && mv -Tf "$TOOLS_DIR.link.$$" "$TOOLS_DIR"
  fi
}

# cache_entry DIR KEY CHECK BUILD [in-place]
#   (Call it as a plain command, not in `if`/`||`: bash would then ignore errexit inside BUILD.)
#   Makes DIR a finished cache entry for KEY and returns 0, or returns BUILD's or CHECK's failure.
#   * DIR/.complete holds KEY and `CHECK DIR` passes: nothing is done (and nothing written).
#   * no marker at all, but `CHECK DIR` passes: an entry made before markers; used as it is.
#   * otherwise, under DIR.lock: checked again (another run may just have finished it), then
#     built by `BUILD <folder>`, checked, marked, and put in place:
#       default:  BUILD gets a fresh DIR.partial (one a killed run left is removed first), which
#                 replaces DIR by rename once it is checked: DIR is never half-written.
#       in-place: BUILD works in DIR itself (a long build resumes where a killed one stopped);
#                 the marker is removed first and written last, so a half-built DIR has none.
cache_entry() {
  local dir="$1" key="$2" check="$3" build="$4" mode="${5:-}"
  if cache_entry_ready "$dir" "$key" "$check"; then return 0; fi
  mkdir -p "$(dirname "$dir")"
  local fd
  exec {fd}>"$dir.lock"
  if ! flock -n "$fd"; then
    echo "[machine-cache] waiting for another run building ${dir##*/} (lock: $dir.lock)" >&2
    flock "$fd"
  fi
  local status=0 work="$dir.partial" errexit=0
  [[ $- == *e* ]] && errexit=1
  set +e
  if ! cache_entry_ready "$dir" "$key" "$check"; then
    if [ "$mode" = in-place ]; then
      work="$dir"
      mkdir -p "$dir" && rm -f "$dir/.complete"
    else
      rm -rf "$work" && mkdir -p "$work"
    fi
    # BUILD and CHECK run in a subshell with errexit: any failing command in them fails the entry.
    ( set -e; "$build" "$work" ); status=$?
    if [ "$status" = 0 ]; then ( set -e; "$check" "$work" ); status=$?; fi
    if [ "$status" = 0 ]; then cache_mark "$work" "$key"; status=$?; fi
    if [ "$status" = 0 ] && [ "$work" != "$dir" ]; then
      rm -rf "$dir.old"
      { [ ! -e "$dir" ] || mv -T "$dir" "$dir.old"; } && mv -T "$work" "$dir" && rm -rf "$dir.old"
      status=$?
    fi
  fi
  exec {fd}>&-
  [ "$errexit" = 1 ] && set -e
  return "$status"
}

cache_entry_ready() {  # DIR KEY CHECK: the fast path of cache_entry (writes nothing)
  local dir="$1" key="$2" check="$3"
  [ -d "$dir" ] || return 1
  if [ -f "$dir/.complete" ]; then
    [ "$(cat "$dir/.complete")" = "$key" ] && "$check" "$dir"
  else
    # Without a marker: an entry from before markers (kept when it passes its check), or one a
    # killed in-place build left (then its check fails: it lacks what only a finished build has).
    "$check" "$dir"
  fi
}

cache_mark() {  # DIR KEY: writes the marker atomically
  printf '%s\n' "$2" > "$1/.complete.tmp.$$" && mv -f "$1/.complete.tmp.$$" "$1/.complete"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run, not sourced: print the cache folder
  set -euo pipefail
  machine_cache_init "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  echo "$MACHINE_CACHE"
fi
