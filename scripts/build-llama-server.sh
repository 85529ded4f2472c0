#!/usr/bin/env bash
# Builds llama.cpp's llama-server (and, on request, its other tools) from the source that
# node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle): no download.
# Cached per machine in .tools/llama.cpp/<flavour>-<release>-<hash of bundle and flags>/.
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
DIR="$ROOT/.tools/llama.cpp/$FLAVOUR-$RELEASE-$KEY"
BIN="$DIR/build/bin"

# The portable flavour builds its CPU variants in a second step: its stamp says both finished.
STAMP="$DIR/portable-variants.done"
have_all() {
  local t
  for t in $TARGETS; do [ -x "$BIN/$t" ] || return 1; done
  [ "$FLAVOUR" != portable ] || [ -f "$STAMP" ] || return 1
  "$BIN/llama-server" --version >/dev/null 2>&1 || [ ! -x "$BIN/llama-server" ]
}

if have_all; then
  [ "$PRINT_DIR" = 1 ] || echo "[llama-server] $FLAVOUR build $RELEASE ($KEY) already built: $TARGETS"
  echo "$BIN"
  exit 0
fi

started=$(date +%s)
mkdir -p "$DIR"
if [ ! -f "$DIR/src/CMakeLists.txt" ]; then
  rm -rf "$DIR/src"
  git -c advice.detachedHead=false clone -q "$BUNDLE" "$DIR/src"
fi
JOBS="${JOBS:-$(nproc)}"
echo "[llama-server] building $FLAVOUR $RELEASE ($KEY): $TARGETS with $JOBS jobs (log: ${DIR#"$ROOT/"}/build.log)"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if ! { cmake -S "$DIR/src" -B "$DIR/build" "${GEN[@]}" "${FLAGS[@]}" &&
       cmake --build "$DIR/build" -j "$JOBS" --target $TARGETS; } >"$DIR/build.log" 2>&1; then
  tail -n 40 "$DIR/build.log" >&2
  echo "[llama-server] build failed (full log: $DIR/build.log)" >&2
  exit 1
fi
# GGML_BACKEND_DL: the CPU variants are loaded at run time, so no target above depends on them.
if [ "$FLAVOUR" = portable ]; then
  # `--target help` lists "ggml-cpu-haswell: phony" (the target), "libggml-cpu-haswell.so: phony"
  # (its file) and "ggml-cpu-haswell-feats: phony": only the first kind is a variant to build.
  variants="$(cmake --build "$DIR/build" --target help 2>/dev/null | grep -oE '^ggml-cpu-[A-Za-z0-9_.]+:' | tr -d ':' | grep -v -- '-feats$' | sort -u)"
  [ -n "$variants" ] || { echo "[llama-server] no ggml-cpu-<variant> targets found" >&2; exit 1; }
  cmake --build "$DIR/build" -j "$JOBS" --target $variants >>"$DIR/build.log" 2>&1 ||
    { tail -n 40 "$DIR/build.log" >&2; exit 1; }
  echo "$variants" > "$STAMP"
fi
"$BIN/llama-server" --version 2>&1 | head -n 1 | sed 's/^/[llama-server] /'
echo "[llama-server] built in $(( $(date +%s) - started )) s"
echo "$BIN"
