#!/usr/bin/env bash
# Installs the tokenizer tests' oracle, the npm package llama3-tokenizer-js (an independent
# JavaScript Llama-3 tokenizer that bundles Meta's vocabulary and merges), into PREFIX, which
# `make test` sets to build/<preset>/npm. tests/llm/llama3_oracle_test.cpp runs
# tests/llm/llama3_oracle.mjs with Node on it. Idempotent: nothing happens when the pinned
# version is already there.
#
#   scripts/install-test-oracle.sh PREFIX
set -euo pipefail

prefix=${1:?usage: scripts/install-test-oracle.sh PREFIX}
package=llama3-tokenizer-js
version=1.2.0
manifest=$prefix/node_modules/$package/package.json

if [ -f "$manifest" ] && grep -q "\"version\": \"$version\"" "$manifest"; then
  exit 0
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-test-oracle: '$tool' is missing; scripts/install-deps.sh installs Node.js and npm" >&2
    exit 1
  fi
done
mkdir -p "$prefix"
echo "install-test-oracle: installing $package@$version into $prefix"
npm install --prefix "$prefix" "$package@$version" --no-audit --no-fund --loglevel=error
if ! grep -q "\"version\": \"$version\"" "$manifest" 2>/dev/null; then
  echo "install-test-oracle: npm did not install $package@$version into $prefix" >&2
  exit 1
fi
