#!/usr/bin/env bash
# The engine peer bench (bench/engine.bench.ts: Lens local vs llama-server driven directly, same
# files, same server build, one run) on a machine with an NVIDIA GPU, at the default model's size:
#   1. build llama-server, llama-bench and llama-quantize with CUDA for this card (its compute
#      capability from nvidia-smi) from the llama.cpp source node-llama-cpp bundles — the same
#      source as every other build here; cached in .cache/device/llama.cpp-cuda-sm<cap>-<hash>/
#   2. generate the InternVL3-14B-shaped random-weight pair (bench/real-dims-model.ts: InternViT-300M
#      + Qwen2.5-14B dimensions, ≈ 30 GB F16) and quantize its LLM to Q4_K_M with that llama-quantize
#      (≈ 9 GB; the mmproj stays F16); cached in .cache/bench-models/internvl3-14b/
#   3. run the bench with every layer on the GPU on both sides, 12 tiles (the default), and write
#      bench/results-device.md
#
#   bash bench/device.sh [build|model|bench|all]     (default all; each step reuses what is cached)
#
# Needs: this checkout with `npm ci` done (node_modules: the bundled source, tsx, sharp), the
# NVIDIA driver (nvidia-smi), the CUDA toolkit (nvcc on PATH or in /usr/local/cuda/bin), cmake ≥ 3.18,
# g++, ≈ 45 GB free disk for the model, ≈ 12 GB of GPU memory. Nothing is downloaded.
# Rough times on a 16-core machine: build 8–15 min (once), model 2–5 min (once), bench 2–4 min.
# Environment: DEVICE_SHAPE (internvl3-14b | internvl3-1b), DEVICE_MAX_TILES (12),
# DEVICE_ROUNDS (3), DEVICE_LLAMA_BIN (a CUDA build's bin/ folder to use instead of step 1), JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STEP="${1:-all}"
SHAPE="${DEVICE_SHAPE:-internvl3-14b}"
TILES="${DEVICE_MAX_TILES:-12}"
ROUNDS="${DEVICE_ROUNDS:-3}"
JOBS="${JOBS:-$(nproc)}"
case "$STEP" in build|model|bench|all) ;; *) echo "usage: $0 [build|model|bench|all]" >&2; exit 2 ;; esac

die() { echo "[device] $*" >&2; exit 1; }
say() { echo "[device] $*"; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

command -v nvidia-smi >/dev/null || die "nvidia-smi not found: this bench needs an NVIDIA GPU with its driver"
GPU="$(nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader | head -n 1)"
[ -n "$GPU" ] || die "nvidia-smi lists no GPU"
CAP="$(echo "$GPU" | awk -F', ' '{print $3}' | tr -d '.')"
say "GPU: $GPU (CUDA architecture $CAP)"
[ -d node_modules/node-llama-cpp ] || die "node_modules missing: run npm ci first"

BUNDLE="node_modules/node-llama-cpp/llama/gitRelease.bundle"
KEY="$( { sha256sum "$BUNDLE" | cut -d' ' -f1; echo "cuda $CAP recipe 1"; } | sha256sum | cut -c1-12)"
DIR="$ROOT/.cache/device/llama.cpp-cuda-sm$CAP-$KEY"
BIN="${DEVICE_LLAMA_BIN:-$DIR/build/bin}"
TARGETS="llama-server llama-bench llama-quantize"

build() {
  if [ -n "${DEVICE_LLAMA_BIN:-}" ]; then say "using the CUDA build in $BIN"; return; fi
  local t; t=$(date +%s)
  if [ -x "$BIN/llama-server" ] && [ -x "$BIN/llama-bench" ] && [ -x "$BIN/llama-quantize" ]; then say "CUDA build cached: $BIN"; return; fi
  if ! command -v nvcc >/dev/null; then
    [ -x /usr/local/cuda/bin/nvcc ] || die "nvcc not found (install the CUDA toolkit, or set DEVICE_LLAMA_BIN)"
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  command -v cmake >/dev/null || die "cmake not found"
  mkdir -p "$DIR"
  [ -f "$DIR/src/CMakeLists.txt" ] || { rm -rf "$DIR/src"; git -c advice.detachedHead=false clone -q "$BUNDLE" "$DIR/src"; }
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  say "building $TARGETS with CUDA for sm_$CAP, $JOBS jobs (log: ${DIR#"$ROOT/"}/build.log)"
  if ! { cmake -S "$DIR/src" -B "$DIR/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
           -DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$CAP" -DGGML_NATIVE=ON \
           -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
           -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
           "-DCMAKE_INSTALL_RPATH=\$ORIGIN" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON &&
         cmake --build "$DIR/build" -j "$JOBS" --target $TARGETS; } >"$DIR/build.log" 2>&1; then
    tail -n 40 "$DIR/build.log" >&2
    die "build failed (full log: $DIR/build.log)"
  fi
  say "built in $(elapsed "$t"): $("$BIN/llama-server" --version 2>&1 | head -n 1)"
}

model() {
  [ -x "$BIN/llama-quantize" ] || die "no llama-quantize in $BIN: run '$0 build' first"
  local t; t=$(date +%s)
  if [ ! -f ".cache/bench-models/$SHAPE/model-Q4_K_M.gguf" ]; then
    local free_gb; free_gb=$(df -Pk "$ROOT" | awk 'NR==2 {print int($4 / 1048576)}')
    [ "$SHAPE" != internvl3-14b ] || [ "$free_gb" -ge 45 ] || [ -f ".cache/bench-models/$SHAPE/model-F16.gguf" ] ||
      die "the 14B-shaped pair needs ≈ 45 GB free disk, $free_gb GB free"
  fi
  LLAMA_QUANTIZE="$BIN/llama-quantize" BENCH_MAX_TILES="$TILES" nice node --import tsx bench/real-dims-model.ts "$SHAPE"
  say "model ready in $(elapsed "$t")"
}

bench() {
  [ -x "$BIN/llama-server" ] || die "no llama-server in $BIN: run '$0 build' first"
  "$BIN/llama-server" --list-devices 2>&1 | grep -q CUDA || die "$BIN/llama-server sees no CUDA device: $("$BIN/llama-server" --list-devices 2>&1 | tail -n 3)"
  local t; t=$(date +%s)
  local out="$ROOT/test-results/bench"
  mkdir -p "$out"
  rm -f "$out/device.jsonl"
  INTERNVL_LENS_BENCH_JSON="$out/device.jsonl" BENCH_LLAMA_BIN="$BIN" BENCH_SHAPE="$SHAPE" BENCH_GPU_LAYERS=-1 \
    BENCH_REAL_MAX_TILES="$TILES" BENCH_REAL_ROUNDS="$ROUNDS" BENCH_TINY_ROUNDS="$ROUNDS" \
    node --import tsx bench/engine.bench.ts 2>&1 | tee "$out/device.log"
  GPU="$GPU" node - "$out/device.jsonl" "$ROOT/bench/results-device.md" <<'EOF'
const fs = require('node:fs');
const [file, md] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const fmt = (v, u) => (v === null || !Number.isFinite(v) ? '—' : `${v.toFixed(u === '×' ? 3 : v < 10 ? 2 : 1)}${u === '×' ? '×' : ` ${u}`}`);
const verdict = (r) => (r.kind === 'n/a' ? 'n/a' : r.kind === 'info' ? 'shown' : !Number.isFinite(r.value) ? 'FAIL' : (r.kind === 'min' ? r.value >= r.budget : r.value <= r.budget) ? 'pass' : 'FAIL');
const lines = [
  '# Engine peer bench on a GPU machine (bench/device.sh)',
  '',
  `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${process.env.GPU}. Full output: test-results/bench/device.log.`,
  '',
  '| benchmark | measured | budget | result | compared with / notes |',
  '| --- | ---: | ---: | --- | --- |',
  ...rows.map((r) => `| ${[r.name, fmt(r.value, r.unit), Number.isFinite(r.budget) ? `${r.kind === 'min' ? '≥' : '≤'} ${fmt(r.budget, r.unit)}` : '—', verdict(r), r.note ?? ''].map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
  '',
];
fs.writeFileSync(md, lines.join('\n'));
console.log(`written to ${md}`);
EOF
  say "bench done in $(elapsed "$t")"
}

case "$STEP" in
  build) build ;;
  model) model ;;
  bench) bench ;;
  all) build; model; bench ;;
esac
