#!/usr/bin/env bash
# Regenerates the typed models shipped with @ovs-container-network/ovsdb from the schemas the Debian
# packages install. The output depends only on the schemas and the generator (no formatter, no dates), so
# scripts/check-generated.sh can fail CI when the committed models drift.
set -euo pipefail
cd "$(dirname "$0")/.."
VSWITCH=${VSWITCH_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVN_NB=${OVN_NB_SCHEMA:-/usr/share/ovn/ovn-nb.ovsschema}
OVN_SB=${OVN_SB_SCHEMA:-/usr/share/ovn/ovn-sb.ovsschema}
OUT=packages/ovsdb/src/models/generated

# Build the generator without the old models (they may not compile against a changed library).
rm -f "$OUT"/*.ts
pnpm exec tsc -b packages/ovsdb
mkdir -p "$OUT"
gen() {
  node packages/ovsdb/dist/bin/ovsdb-codegen.js --import-from ../../index.js -o "$OUT/$2.ts" "$1"
}
gen "$VSWITCH" open-vswitch
gen "$OVN_NB" ovn-northbound
gen "$OVN_SB" ovn-southbound
# Compile what was generated, so a model that does not type-check fails here and not in a user's build.
pnpm exec tsc -b packages/ovsdb
echo "generated: $(ls "$OUT" | tr '\n' ' ')"
