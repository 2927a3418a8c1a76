# Compile options shared by every fabforge target, carried by the interface target
# fabforge_options so that each target opts in with target_link_libraries.
add_library(fabforge_options INTERFACE)
target_compile_features(fabforge_options INTERFACE cxx_std_20)
target_compile_options(fabforge_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
# GCC 12 at -O2 and above reports -Wrestrict on ordinary std::string concatenation such as
# "text" + std::to_string(n) inside libstdc++ (GCC bugs 105329 and 105651, fixed in GCC 13).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(fabforge_options INTERFACE -Wno-restrict)
endif()

# No fused multiply-add contraction: a * b + c is rounded twice wherever it is written so, on every
# CPU. GCC contracts by default wherever the target has FMA (aarch64 always, x86-64 with
# -march=native), which changes the last bits of results and so the bytes of outputs (the
# creature's slices differed in 152 voxels). With it off, a native build and the portable one give
# byte-identical outputs; on portable x86-64, which has no FMA, it changes no instruction (the
# release objects and binary were byte-identical with and without it).
target_compile_options(fabforge_options INTERFACE -ffp-contract=off)

if(FABFORGE_NATIVE)
  target_compile_options(fabforge_options INTERFACE -march=native)
endif()

if(FABFORGE_SANITIZE)
  set(_fabforge_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_compile_options(fabforge_options INTERFACE ${_fabforge_san})
  target_link_options(fabforge_options INTERFACE ${_fabforge_san})
endif()

# libFuzzer builds (cmake --preset fuzz, Clang only): coverage instrumentation for every fabforge
# target; the fuzz executables add -fsanitize=fuzzer themselves (tests/fuzz).
if(FABFORGE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FABFORGE_FUZZ needs Clang: use `cmake --preset fuzz` (CXX=clang++)")
  endif()
  target_compile_options(fabforge_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
