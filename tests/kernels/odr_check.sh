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
  # Defined, externally visible code (T, W, i), by mangled name:
  # a function of the namespace is _ZN6lowbit7kernels<len><level>..., its local statics
  # _ZZN6lowbit..., their guards _ZGVZN6lowbit...
  ns="6lowbit7kernels${#level}${level}"
  while read -r _ kind name; do
    case "$kind" in
      T|W|i) ;;  # code; weak objects (V, u) are data such as typeinfo
      *) continue ;;
    esac
    # DW.ref.__gxx_personality_v0: a data reference for unwinding tables, not code
    if [[ "$name" =~ ^_Z(GV)?Z?NK?${ns} || "$name" == DW.ref.* ]]; then continue; fi
    echo "odr_check: $obj exports '$(echo "$name" | c++filt)' ($kind) outside lowbit::kernels::${level}" >&2
    bad=1
  done < <(nm --defined-only "$obj")
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "odr_check: $level: every exported symbol is in lowbit::kernels::${level}"
