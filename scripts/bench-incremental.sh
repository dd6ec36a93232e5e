#!/bin/sh
# What a one-line handler change costs `cargo test -p quire`, before and
# after the workspace split, side by side in one run (the machine is noisy:
# rounds alternate). BEFORE is the last one-crate commit (default: the
# parent of e75ba5b, which moved the engine out); AFTER is HEAD. Each gets
# its own git worktree and target directory under /tmp, is built once
# warm, then each round adds one line to a handler (app/usage.rs, `count`)
# and times `cargo test -p quire --no-run` (the rebuild) and
# `cargo test -p quire` (rebuild and run), then restores the line. The
# worktrees stand beside this one (the corpus tests read ../shared); remove
# them with `git worktree remove`.
set -eu
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:-e75ba5b^}
ROUNDS=${ROUNDS:-3}
W=${W:-$(dirname "$PWD")/quire-incremental}
T=${T:-/tmp/quire-incremental}
HEAD=$(git rev-parse HEAD)
for side in before after; do
  rev=$BEFORE; [ $side = after ] && rev=$HEAD
  if [ ! -d "$W-$side" ]; then git worktree add --detach "$W-$side" "$rev" >/dev/null 2>&1; fi
  (cd "$W-$side" && git checkout -q --detach "$rev" && CARGO_TARGET_DIR="$T-$side" cargo test -p quire -q >/dev/null 2>&1)
done
secs() {
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
for i in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    f="$W-$side/src/app/usage.rs"
    cp "$f" "$f.orig"
    sed -i "/^pub fn count</a\\    let _touched = $i;" "$f"
    build=$(cd "$W-$side" && CARGO_TARGET_DIR="$T-$side" secs cargo test -p quire --no-run -q)
    mv "$f.orig" "$f"
    sed -i "/^pub fn count</a\\    let _touched = $((i + 100));" "$f"
    full=$(cd "$W-$side" && CARGO_TARGET_DIR="$T-$side" secs cargo test -p quire -q)
    git -C "$W-$side" checkout -q -- src/app/usage.rs
    echo "round $i $side: rebuild ${build}s, rebuild+run ${full}s"
  done
done
