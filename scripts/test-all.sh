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

step "type-check"
npx tsc --noEmit -p tsconfig.json

step "lint"
npx eslint .

step "unit + GPU tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=reports/vitest.json

step "build"
npx vite build

step "e2e (Playwright, headless Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=reports/e2e.json npx playwright test --reporter=list,json

step "summary"
node scripts/test-summary.mjs reports/vitest.json reports/e2e.json
