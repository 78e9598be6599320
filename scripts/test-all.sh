#!/usr/bin/env bash
# The one test command (`npm test`): system prerequisites, type-check, lint, unit tests,
# GPU tests (Dawn on lavapipe), production build, e2e in headless Chromium.
# Every tier fails loudly when its prerequisite is missing; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports  # not test-results/: Playwright empties that folder when it starts

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "system packages"
bash scripts/setup-system.sh

if [ ! -d node_modules ]; then
  echo "node_modules is missing: run 'npm ci' first." >&2
  exit 1
fi

step "unit tests (vitest project unit)"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=reports/vitest-unit.json

# The GPU tests (vitest project gpu, one file at a time) spend most of their time in lavapipe
# compiling shaders, one pipeline at a time on about one core. Type-check, lint and the build
# (no test timeouts to miss) run beside them; their output is printed after the GPU tests'.
step "GPU tests (vitest project gpu); type-check, lint and build beside them"
(
  set -e
  step "type-check"
  npx tsc --noEmit -p tsconfig.json
  step "lint"
  npx eslint .
  step "build"
  npx vite build
) > reports/beside-gpu.log 2>&1 &
beside=$!
gpu_status=0
npx vitest run --project gpu --reporter=default --reporter=json --outputFile.json=reports/vitest-gpu.json || gpu_status=$?
beside_status=0
wait "$beside" || beside_status=$?
cat reports/beside-gpu.log
if [ "$gpu_status" -ne 0 ] || [ "$beside_status" -ne 0 ]; then
  echo "GPU tests exited $gpu_status; type-check, lint and build exited $beside_status" >&2
  exit 1
fi

step "e2e (Playwright, headless Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=reports/e2e.json npx playwright test --reporter=list,json

step "summary"
node scripts/test-summary.mjs reports/vitest-unit.json reports/vitest-gpu.json reports/e2e.json
