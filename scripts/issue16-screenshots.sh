#!/usr/bin/env bash
# Screenshots for issue 16's closing note, taken in a real VS Code (code-server) by the e2e test
# test/e2e/chat-layout.test.ts: the chat at 300 px and 480 px in the side bar, in an editor tab,
# and the User settings searched for "internvlLens" (items 1, 3 and 10).
#   bash scripts/issue16-screenshots.sh                  this tree → docs/screenshots/issue-16/after/
#   bash scripts/issue16-screenshots.sh before <commit>  <commit>'s VSIX (built in a throwaway
#                                                        worktree) → docs/screenshots/issue-16/before/
# "before" builds are expected to fail the test's checks: the screenshots are still taken.
# The set of record is docs/screenshots/issue-16/README.md's commit (af26bad). A <commit> whose
# package-lock.json differs from this tree's gets its own `npm ci --ignore-scripts` (older ones
# need @fugood/llama.node, vscode-jsonrpc, …); LENS_BEFORE_TREE=<dir> uses a checkout of <commit>
# prepared that way instead (kept). A commit that still infers through @fugood/llama.node carries
# no llama-server (--llama-cpp none): its local engine does not use one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
set_name=${1:-after}
out="$root/docs/screenshots/issue-16/$set_name"
shots="$root/test-results/screenshots/$set_name"
run_test() {
  rm -rf "$shots"
  node --import tsx test/fixtures/generate.ts >/dev/null
  LENS_SCREENSHOT_SET="$set_name" node --import tsx --import ./scripts/test-preload.mjs --test --test-timeout 600000 test/e2e/chat-layout.test.ts
}

if [ "$set_name" = before ]; then
  commit=${2:?"usage: $0 before <commit>"}
  if [ -n "${LENS_BEFORE_TREE:-}" ]; then
    tree=$(cd "$LENS_BEFORE_TREE" && pwd)
    [ "$(git -C "$tree" rev-parse HEAD)" = "$(git rev-parse "$commit^{commit}")" ] || { echo "LENS_BEFORE_TREE=$tree is not at $commit" >&2; exit 1; }
  else
    tree=$(mktemp -d /tmp/lens-before-XXXXXX)
    trap 'git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
    git worktree add --detach "$tree" "$commit" >/dev/null
    if cmp -s "$tree/package-lock.json" "$root/package-lock.json"; then
      ln -s "$root/node_modules" "$tree/node_modules"
    else
      (cd "$tree" && npm ci --ignore-scripts --no-audit --no-fund)
    fi
  fi
  llama_cpp=test
  if grep -q '"@fugood/llama.node"' "$tree/package.json"; then llama_cpp=none; fi
  (cd "$tree" && node scripts/build.mjs && node scripts/package.mjs --llama-cpp "$llama_cpp")
  LENS_VSIX="$tree/dist/internvl-lens.vsix" run_test || echo "(the older build fails the layout checks, as expected; its screenshots are kept)"
else
  node scripts/build.mjs
  node scripts/package.mjs --llama-cpp test
  run_test
fi

mkdir -p "$out"
for name in chat-300 chat-480 chat-editor settings; do
  [ -f "$shots/$name.png" ] || { echo "no $name.png was taken" >&2; exit 1; }
  cp "$shots/$name.png" "$out/$name.png"
done
ls -l "$out"
