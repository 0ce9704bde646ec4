#!/usr/bin/env bash
# Code compiled for one ISA level must not define any function another translation unit could
# also define (an inline library function, a std:: template instance): the linker keeps one
# copy, and if it kept this level's, a CPU without the level would crash in unrelated code.
# Every function an ISA object file exports must therefore live in lowbit::kernels::<level>.
# Usage: odr_check.sh LEVEL OBJECT...
set -euo pipefail
level=$1
shift
bad=0
for obj in "$@"; do
  # Defined, externally visible code and weak/unique symbols (T, W, V, u, i).
  while IFS= read -r line; do
    kind=$(echo "$line" | awk '{print $2}')
    name=$(echo "$line" | cut -d' ' -f3-)
    case "$kind" in
      T|W|V|u|i) ;;
      *) continue ;;
    esac
    # DW.ref.__gxx_personality_v0: a data reference for unwinding tables, not code
    # (a template's demangled name starts with its return type: look before the parameters)
    prefix="${name%%(*}"
    if [[ "$prefix" != *"lowbit::kernels::${level}::"* && "$name" != DW.ref.* ]]; then
      echo "odr_check: $obj exports '$name' ($kind) outside lowbit::kernels::${level}" >&2
      bad=1
    fi
  done < <(nm -C --defined-only "$obj")
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "odr_check: $level: every exported symbol is in lowbit::kernels::${level}"
