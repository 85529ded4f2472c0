#!/usr/bin/env bash
# Builds llama.cpp's llama-server (and, on request, its other tools) from the source that
# node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle): no download.
# Cached per machine in .tools/llama.cpp/<flavour>-<release>-<hash of bundle and flags>/ (`.tools`:
# the machine cache's tools/ unless the checkout has its own, scripts/machine-cache.sh), built in
# place under a lock (a killed build resumes), finished when its .complete marker is written.
#
#   scripts/build-llama-server.sh [--flavour test|portable] [--targets "llama-server ..."] [--print-dir]
#
#   test      GGML_NATIVE=ON: one CPU backend tuned for this machine (llama.cpp refuses GGML_NATIVE
#             with GGML_BACKEND_DL on x86). Tests, benchmarks and the VSIX the tests install.
#   portable  GGML_NATIVE=OFF, GGML_BACKEND_DL=ON, GGML_CPU_ALL_VARIANTS=ON: one libggml-cpu-<arch>.so
#             per CPU family (x86-64 ... AVX-512), what the VSIX carries (`npm run package`).
#
# The binaries find their libraries through RPATH=$ORIGIN, so the bin/ folder can be moved.
# Prints the bin/ folder on the last line (or only that, with --print-dir, when already built).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLAVOUR=test
TARGETS="llama-server"
PRINT_DIR=0
while [ $# -gt 0 ]; do
  case "$1" in
    --flavour) FLAVOUR="$2"; shift 2 ;;
    --targets) TARGETS="$2"; shift 2 ;;
    --print-dir) PRINT_DIR=1; shift ;;
    *) echo "usage: $0 [--flavour test|portable] [--targets \"llama-server llama-bench ...\"] [--print-dir]" >&2; exit 2 ;;
  esac
done

BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
INFO="$ROOT/node_modules/node-llama-cpp/llama/llama.cpp.info.json"
[ -f "$BUNDLE" ] || { echo "[llama-server] $BUNDLE missing: run npm ci first" >&2; exit 1; }

case "$FLAVOUR" in
  test)     FLAGS=(-DGGML_NATIVE=ON -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF) ;;
  portable) FLAGS=(-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON) ;;
  *) echo "[llama-server] unknown flavour '$FLAVOUR'" >&2; exit 2 ;;
esac
FLAGS+=(
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
  "-DCMAKE_INSTALL_RPATH=\$ORIGIN" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON
)

RELEASE="$(node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')).tag)" "$INFO")"
# The key: the source (bundle bytes), the flags and this script's version of the recipe.
KEY="$( { sha256sum "$BUNDLE" | cut -d' ' -f1; printf '%s\n' "${FLAGS[@]}" "recipe 1"; } | sha256sum | cut -c1-12)"
# shellcheck source=machine-cache.sh
. "$ROOT/scripts/machine-cache.sh"
machine_cache_init "$ROOT" >&2   # sets TOOLS_DIR (.tools)
DIR="$TOOLS_DIR/llama.cpp/$FLAVOUR-$RELEASE-$KEY"
BIN="$DIR/build/bin"
# The marker's content: the entry's key plus the targets, so asking for more targets builds them.
ENTRY_KEY="$FLAVOUR $RELEASE $KEY: $TARGETS"

# The portable flavour builds its CPU variants in a second step: its stamp says both finished.
STAMP="$DIR/portable-variants.done"
have_all() {  # $1: the build folder
  local t bin="$1/build/bin"
  for t in $TARGETS; do [ -x "$bin/$t" ] || return 1; done
  [ "$FLAVOUR" != portable ] || [ -f "$1/portable-variants.done" ] || return 1
  "$bin/llama-server" --version >/dev/null 2>&1 || [ ! -x "$bin/llama-server" ]
}

build() {  # $1: the build folder ($DIR); runs with errexit, under the lock
  local dir="$1" started
  started=$(date +%s)
  # The source: cloned beside, renamed into place, so a killed clone never looks like a source tree.
  if [ ! -f "$dir/src/CMakeLists.txt" ]; then
    rm -rf "$dir/src" "$dir/src.partial"
    git -c advice.detachedHead=false clone -q "$BUNDLE" "$dir/src.partial"
    mv -T "$dir/src.partial" "$dir/src"
  fi
  JOBS="${JOBS:-$(nproc)}"
  echo "[llama-server] building $FLAVOUR $RELEASE ($KEY): $TARGETS with $JOBS jobs (log: ${dir#"$ROOT/"}/build.log)" >&2
  GEN=()
  command -v ninja >/dev/null && GEN=(-G Ninja)
  if ! { cmake -S "$dir/src" -B "$dir/build" "${GEN[@]}" "${FLAGS[@]}" &&
         cmake --build "$dir/build" -j "$JOBS" --target $TARGETS; } >"$dir/build.log" 2>&1; then
    tail -n 40 "$dir/build.log" >&2
    echo "[llama-server] build failed (full log: $dir/build.log)" >&2
    return 1
  fi
  # GGML_BACKEND_DL: the CPU variants are loaded at run time, so no target above depends on them.
  if [ "$FLAVOUR" = portable ]; then
    # `--target help` lists "ggml-cpu-haswell: phony" (the target), "libggml-cpu-haswell.so: phony"
    # (its file) and "ggml-cpu-haswell-feats: phony": only the first kind is a variant to build.
    variants="$(cmake --build "$dir/build" --target help 2>/dev/null | grep -oE '^ggml-cpu-[A-Za-z0-9_.]+:' | tr -d ':' | grep -v -- '-feats$' | sort -u)"
    [ -n "$variants" ] || { echo "[llama-server] no ggml-cpu-<variant> targets found" >&2; return 1; }
    cmake --build "$dir/build" -j "$JOBS" --target $variants >>"$dir/build.log" 2>&1 ||
      { tail -n 40 "$dir/build.log" >&2; return 1; }
    echo "$variants" > "$dir/portable-variants.done"
  fi
  "$dir/build/bin/llama-server" --version 2>&1 | head -n 1 | sed 's/^/[llama-server] /' >&2
  echo "[llama-server] built in $(( $(date +%s) - started )) s" >&2
}

if cache_entry_ready "$DIR" "$ENTRY_KEY" have_all; then
  [ "$PRINT_DIR" = 1 ] || echo "[llama-server] $FLAVOUR build $RELEASE ($KEY) already built: $TARGETS"
  echo "$BIN"
  exit 0
fi
cache_entry "$DIR" "$ENTRY_KEY" have_all build in-place
echo "$BIN"
