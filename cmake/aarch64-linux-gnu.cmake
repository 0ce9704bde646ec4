# Cross-compiling for AArch64 with Debian's g++-aarch64-linux-gnu; binaries are linked
# statically so that qemu-aarch64 runs them without an AArch64 sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Debian's aarch64 GCC 12.2 crashes (internal compiler error in vect_transform_reduction) when
# auto-vectorizing fmax reductions over doubles in the scalar reference code. The NEON kernels
# are intrinsics, so turning the loop vectorizer off here costs nothing that is measured.
set(CMAKE_CXX_FLAGS_INIT "-fno-tree-loop-vectorize")
