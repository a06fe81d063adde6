#!/usr/bin/env bash
# Runs every benchmark once at a tiny size (`--tiny`), so that none can rot: each must still
# run, and each still checks its two sides against each other before it prints a number.
# The timings of a tiny run mean nothing. CI runs this (.ci/run).
#
#   bash bench/smoke.sh
#
# Every bench/*.ts must be listed below (and take --tiny); an unlisted one fails the run.
# The numpy references need python3 with numpy: without it, the scripts that run them are
# skipped with a message. bench/train-step.ts skips its PyTorch side by itself when
# /usr/bin/python3 cannot import torch.
set -euo pipefail
cd "$(dirname "$0")/.."

# name: needs numpy (1) or not (0)
BENCHES=(
  "mle.ts:1"
  "construction.ts:1"
  "sampler.ts:1"
  "train-step.ts:0"
  "bif-parse.ts:0"
  "construction-memory.ts:0"
  "startup.ts:0"
  "bma.ts:0"
  "experiment-parallel.ts:0"
  "fit-pretrained.ts:0"
)

listed=" ${BENCHES[*]} "
for f in bench/*.ts; do
  name="$(basename "$f")"
  if [[ "$listed" != *" $name:"* ]]; then
    echo "bench/smoke.sh: $f is not listed; add it to BENCHES with a --tiny mode" >&2
    exit 1
  fi
done

have_numpy=0
if python3 -c "import numpy" 2>/dev/null; then have_numpy=1; fi

ran=0
for entry in "${BENCHES[@]}"; do
  name="${entry%%:*}"
  needs_numpy="${entry##*:}"
  if [[ ! -f "bench/$name" ]]; then
    continue # listed ahead of a branch that adds it
  fi
  if [[ "$needs_numpy" == 1 && "$have_numpy" == 0 ]]; then
    echo "== bench/$name: skipped (python3 with numpy is not available)"
    continue
  fi
  echo "== bench/$name --tiny"
  start=$SECONDS
  npx tsx "bench/$name" --tiny
  echo "== bench/$name: ok ($((SECONDS - start)) s)"
  ran=$((ran + 1))
done
echo "bench/smoke.sh: $ran benchmark(s) ran at tiny size"
