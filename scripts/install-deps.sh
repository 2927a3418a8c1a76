#!/usr/bin/env bash
# Installs every Debian 12 package that fabforge's build, tests, demo and benchmarks need.
# Idempotent: packages already installed are left alone, and nothing is fetched when all are
# present. This script is the single list of system packages; CI and `make` call it.
# Usage: scripts/install-deps.sh [--toolpath-bench] [--fuzz]
#   --toolpath-bench  also installs what bench/toolpath_vs_slicers.sh needs (run by hand, not by CI)
#   --fuzz            also installs Clang with libFuzzer for `make fuzz` (not run by CI)
set -euo pipefail

toolpath_bench=0
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --toolpath-bench) toolpath_bench=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "install-deps: error: unknown option $arg (usage: $0 [--toolpath-bench] [--fuzz])" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain and build
  g++ cmake ninja-build pkg-config make git
  # core library
  libopencv-core-dev libopencv-imgproc-dev                          # images: resize, drawing
  libpng-dev libjpeg-dev                                            # image files (with zlib1g-dev)
  libtbb-dev                                                        # parallel helpers
  libzip-dev libpugixml-dev                                         # 3MF packages
  nlohmann-json3-dev                                                # JSON output and input
  libcli11-dev                                                      # command line
  libpolyclipping-dev                                               # Clipper: polygon offsets (toolpath)
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  prusa-slicer                       # interop tests: a real slicer must accept our STL and 3MF
  # developer tools
  clang-format
)
if ((toolpath_bench)); then
  packages+=(
    # bench/toolpath_vs_slicers.sh: the second slicer and its settings definitions, and a JSON reader
    cura-engine                        # CuraEngine 4.13, headless
    cura                               # fdmprinter.def.json / fdmextruder.def.json for CuraEngine
    jq                                 # reads fabforge inspect's JSON in the script
  )
fi
if ((fuzz)); then
  packages+=(
    clang                              # clang++ 14 with libFuzzer (libclang-common-14-dev) for tests/fuzz
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: error: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
