#!/usr/bin/env bash
# Installs npm dependencies when they are missing or older than package-lock.json,
# so `npm run dev` and `npm test` work on a fresh clone. Reuses them otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  echo "[deps] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
