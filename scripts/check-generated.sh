#!/usr/bin/env bash
# Generated files must be reproducible: regenerate them and fail when the tree differs from what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f scripts/codegen-models.sh ]]; then
  bash scripts/codegen-models.sh
  if ! git diff --exit-code --stat -- packages/ovsdb/src/models; then
    echo "generated models drifted from the schemas: run scripts/codegen-models.sh and commit" >&2
    exit 1
  fi
fi
