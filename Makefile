# Thin wrapper over CMake presets. `make demo` and `make test` work on a fresh Debian 12 machine.
BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
FABFORGE    = $(BUILD)/src/cli/fabforge
DEMO_OUT   ?= out/demo

.PHONY: all deps configure build demo test test-asan fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(FABFORGE) relief examples/relief/chelsea.png -o $(DEMO_OUT)/chelsea
	$(FABFORGE) mesh-info $(DEMO_OUT)/chelsea/model.3mf
	$(FABFORGE) toolpath examples/toolpath/gear.png -o $(DEMO_OUT)/gear.gcode --width-mm 60 --png $(DEMO_OUT)/gear.png
	$(FABFORGE) inspect $(DEMO_OUT)/gear.gcode
	$(FABFORGE) openfl check examples/openfl/marble.fl
	$(FABFORGE) openfl eval examples/openfl/marble.fl --at 1,2,3
	$(FABFORGE) voxel examples/voxel/creature_marble.json -o $(DEMO_OUT)/creature_marble
	@echo "demo: outputs in $(DEMO_OUT)/chelsea/: preview.png compare.png model.stl model.3mf swaps.txt swaps.json project.hfp report.json"
	@echo "demo: and $(DEMO_OUT)/gear.gcode with its top view $(DEMO_OUT)/gear.png"
	@echo "demo: and $(DEMO_OUT)/creature_marble/: slices/ (one PNG per 27 um layer at 600 x 300 dpi), creature_marble.raw (4 bits per voxel), report.json"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (see docs/building.md).
test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

# libFuzzer on the OpenFL front end for FUZZ_SECONDS (not part of `make test`; see docs/building.md).
FUZZ_SECONDS ?= 120
fuzz:
	@scripts/install-deps.sh --fuzz
	@cmake --preset fuzz -DFABFORGE_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build/fuzz -j $(JOBS) --target openfl_fuzz
	@cd build/fuzz && ctest -L fuzz --output-on-failure

bench: build
	@scripts/run-benchmarks.sh $(BUILD)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build out
