# CMake toolchain for the linux-arm64 (glibc) prebuild, cross-compiled on an x86-64 Linux host
# with Debian/Ubuntu's g++-aarch64-linux-gnu (the compiler scripts/neon-check uses). Used by
# scripts/prebuild-shim.js; CMakeLists.txt then builds the NEON kernels, as on an arm64 machine.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if(DEFINED ENV{CXX_AARCH64})
  set(CMAKE_CXX_COMPILER $ENV{CXX_AARCH64})
else()
  set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
endif()
# Libraries (pthreads) come from the cross toolchain's sysroot, programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
