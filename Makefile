# Thin wrapper over CMake presets. `make demo` and `make test` work on a fresh Debian 12 machine.
BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
FABFORGE    = $(BUILD)/src/cli/fabforge
DEMO_OUT   ?= out/demo

.PHONY: all deps configure build demo test test-asan bench format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@mkdir -p $(DEMO_OUT)
	$(FABFORGE) heightmap examples/core/emboss.png --size-mm 80 --base-mm 1.2 --relief-mm 3 -o $(DEMO_OUT)/emboss.stl
	$(FABFORGE) heightmap examples/core/emboss.png --size-mm 80 --base-mm 1.2 --relief-mm 3 --smooth -o $(DEMO_OUT)/emboss.3mf
	$(FABFORGE) mesh-info $(DEMO_OUT)/emboss.stl
	$(FABFORGE) mesh-info $(DEMO_OUT)/emboss.3mf
	@echo "demo: outputs in $(DEMO_OUT)/ (emboss.stl, emboss.3mf)"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (see docs/building.md).
test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

bench: build
	@scripts/run-benchmarks.sh $(BUILD)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build out
