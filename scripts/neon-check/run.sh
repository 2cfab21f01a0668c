#!/usr/bin/env bash
# Cross-compiles src/ for aarch64 the way CMakeLists.txt builds it on arm64 (the *_avx2 /
# *_avx512 files left out, *_neon included, -DMODELDIFF_ARM64=1, CMake's Release flags), links
# scripts/neon-check/main.cpp against it and runs it under qemu-aarch64: the NEON kernels
# must equal the scalar ones (see README.md). Exits non-zero on any compile error or mismatch.
#
# Needs: g++-aarch64-linux-gnu, qemu-user (Debian/Ubuntu packages).
# Environment:
#   CXX_AARCH64  cross compiler (default aarch64-linux-gnu-g++)
#   QEMU         qemu user-mode runner (default qemu-aarch64)
#   SYSROOT      aarch64 libraries for qemu -L (default /usr/aarch64-linux-gnu)
#   BUILD_DIR    object / binary directory (default ${TMPDIR:-/tmp}/modeldiff-neon-check)
#   OPT          optimization / language flags (default CMake's Release build:
#                "-O3 -DNDEBUG -std=gnu++17"; e.g. OPT="-O2 -std=c++17" for ISO mode,
#                which also turns off GCC's default FMA contraction)
# Arguments are passed to the test program (-v: per-measure maximum differences).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cxx="${CXX_AARCH64:-aarch64-linux-gnu-g++}"
qemu="${QEMU:-qemu-aarch64}"
sysroot="${SYSROOT:-/usr/aarch64-linux-gnu}"
opt="${OPT:--O3 -DNDEBUG -std=gnu++17}"
build="${BUILD_DIR:-${TMPDIR:-/tmp}/modeldiff-neon-check}"

for tool in "$cxx" "$qemu"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "neon-check: '$tool' not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2
    exit 2
  fi
done

# Objects depend on the flags too: one directory per flag set.
tag="$(printf '%s' "$opt" | tr -c 'A-Za-z0-9=+\n' '_')"
objdir="$build/$tag"
mkdir -p "$objdir"

# CMakeLists.txt on arm64: -O3 (Release) -fPIC -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden.
flags=($opt -fPIC -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden -DMODELDIFF_ARM64=1 -I"$root/src")

srcs=()
for f in "$root"/src/*.cpp; do
  case "$f" in *_avx2.cpp | *_avx512.cpp) continue ;; esac
  srcs+=("$f")
done

newest_header="$(ls -t "$root"/src/*.hpp | head -n 1)"
compile() {  # src obj
  if [[ -f "$2" && "$2" -nt "$1" && "$2" -nt "$newest_header" ]]; then return 0; fi
  "$cxx" "${flags[@]}" -c "$1" -o "$2"
}

echo "neon-check: compiling ${#srcs[@]} src files + main.cpp for aarch64 ($opt)"
t0=$(date +%s)
pids=()
objs=()
status=0
for f in "${srcs[@]}" "$here/main.cpp"; do
  obj="$objdir/$(basename "${f%.cpp}").o"
  objs+=("$obj")
  compile "$f" "$obj" &
  pids+=($!)
  if ((${#pids[@]} >= 2)); then  # two at a time
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
if ((status != 0)); then
  echo "neon-check: FAIL: compile errors (above)" >&2
  exit 1
fi
"$cxx" -o "$objdir/neon-check" "${objs[@]}" -pthread
t1=$(date +%s)
echo "neon-check: built in $((t1 - t0)) s; running under $qemu"
"$qemu" -L "$sysroot" "$objdir/neon-check" "$@"
