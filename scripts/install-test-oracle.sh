#!/usr/bin/env bash
# Installs the npm packages the tests compare against or talk through, pinned, into PREFIX
# (`make test` sets build/<preset>/npm):
#   llama3-tokenizer-js: an independent JavaScript Llama-3 tokenizer that bundles Meta's
#     vocabulary and merges (tests/llm/llama3_oracle_test.cpp runs tests/llm/llama3_oracle.mjs);
#   openai: the official OpenAI client, as a client of `lowbit serve`
#     (tests/server/openai_client_test.cpp runs tests/server/openai_client.mjs).
# Idempotent: nothing happens when the pinned versions are already there.
#
#   scripts/install-test-oracle.sh PREFIX
set -euo pipefail

prefix=${1:?usage: scripts/install-test-oracle.sh PREFIX}
packages=("llama3-tokenizer-js@1.2.0" "openai@6.30.1")

installed() {  # package@version
  local name=${1%@*} version=${1##*@}
  grep -q "\"version\": \"$version\"" "$prefix/node_modules/$name/package.json" 2>/dev/null
}

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-test-oracle: '$tool' is missing; scripts/install-deps.sh installs Node.js and npm" >&2
    exit 1
  fi
done
mkdir -p "$prefix"
echo "install-test-oracle: installing ${missing[*]} into $prefix"
npm install --prefix "$prefix" "${packages[@]}" --no-audit --no-fund --loglevel=error
for p in "${packages[@]}"; do
  if ! installed "$p"; then
    echo "install-test-oracle: npm did not install $p into $prefix" >&2
    exit 1
  fi
done
