# The two commands of the README. Both install what is missing first (scripts/setup.sh).
.PHONY: setup demo test test-unit test-cli test-asan test-peers test-flight test-service bench-flight build datasets bench fuzz fuzz-build fuzz-sql

setup:
	@bash scripts/setup.sh

build: setup
	swift build -c release --product quiver

## The seed demonstration: 10M int32 in 1000 batches, read through a plain file and a memory map.
demo: build
	swift run -c release quiver demo

## Every test: unit + interoperability tests, the CLI on the golden corpus, and the
## malformed-input corpus under AddressSanitizer.
test: setup
	$(MAKE) test-unit test-cli test-asan test-peers test-flight test-service

test-unit:
	swift test

# The reference service end to end: built (debug: a first build of Hummingbird takes minutes),
# started on a free port of 127.0.0.1, driven by pyarrow, curl and client threads.
SERVICE = Examples/QuiverService
test-service:
	swift build --package-path $(SERVICE) --scratch-path $(SERVICE)/.build
	python3 $(SERVICE)/Tests/service_e2e.py $(SERVICE)/.build/debug/quiver-service

## The service under load (release): query p50/p99 and ingest rows/s, for BENCHMARKS.md.
bench-service:
	swift build -c release --package-path $(SERVICE) --scratch-path $(SERVICE)/.build
	python3 $(SERVICE)/Tests/service_e2e.py $(SERVICE)/.build/release/quiver-service --load

test-cli:
	swift build --product quiver
	bash scripts/cli-smoke.sh

# Leak detection is off: ASan is here for out-of-bounds reads and use-after-unmap; the
# process-lifetime allocations of the Swift runtime are not leaks. The tests are those tagged
# `.untrustedInput` (Tests/QuiverTestSupport/Tags.swift); `--filter` cannot match tags, so
# scripts/tagged-tests.py turns the tag into the filter.
test-asan:
	filter="$$(python3 scripts/tagged-tests.py untrustedInput)" && \
	  ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan --filter "$$filter"

# Every peer comparison on tiny data (TPC-H SF0.01, small seed, 50,000 ClickBench hits rows),
# two repeats: fails unless pyarrow's, DuckDB's and Polars' answers equal Quiver's (ClickBench:
# Quiver's equal DuckDB's outside compare.py's CLICKBENCH_KNOWN_GAPS). Builds quiver-peer-workloads
# and the quiver CLI (release).
test-peers:
	python3 Benchmarks/peers/compare.py --smoke

# The Arrow Flight server (Flight/, a package of its own so that only it builds gRPC):
# pyarrow.flight and the ADBC Flight SQL driver against quiver-flight on 127.0.0.1, then the
# package's unit tests.
test-flight:
	swift build --package-path Flight --product quiver-flight
	python3 Flight/Tests/interop/flight_interop.py --binary Flight/.build/debug/quiver-flight
	swift test --package-path Flight

## DoGet of TPC-H SF1 lineitem (uncompressed and LZ4) over loopback against a pyarrow.flight
## server on the same files, and the first batch of a LIMIT 10 query: prints GB/s and ratios.
## Run `make datasets` first.
bench-flight: setup
	swift build -c release --package-path Flight --product quiver-flight
	python3 Flight/Benchmarks/flight_bench.py --binary Flight/.build/release/quiver-flight

## Benchmark datasets into datasets/generated (TPC-H lineitem SF1 via tpchgen-cli, seed, wide, sorted).
datasets: setup
	python3 datasets/generate.py --scale 1

## Quiver vs pyarrow, DuckDB and Polars on the datasets (same files, same run): prints the table,
## writes BENCHMARKS.md and Benchmarks/peers/benchmarks.png. Run `make datasets` first.
bench: setup
	python3 Benchmarks/peers/compare.py

## Fuzzing: each reader target in turn for FUZZ_SECONDS under libFuzzer + AddressSanitizer,
## seeded with the golden corpus, the shared regressions and Tests/Regressions. The working
## corpus and any crash (crash-*, timeout-*, oom-*) land in .build-fuzz/<target>/; a crash
## stops the run. Copy a crash into Tests/Regressions/<target>/ and record its outcome
## (see BadCorpusTests) once fixed.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= FuzzStreamReader FuzzFileReader FuzzStoreFile
# Leak checks are off (the runtime's process-lifetime allocations are not leaks, and
# libFuzzer's own leak probe re-runs inputs); allocation stacks are not recorded, which
# only shortens ASan's reports.
FUZZ_ASAN = detect_leaks=0:malloc_context_size=0
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=0
# Linked with lld: gold fails with an internal error on these executables.
FUZZ_BUILD = QUIVER_FUZZ=1 swift build -c release --scratch-path .build-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
	-Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

fuzz-build:
	for target in $(FUZZ_TARGETS); do $(FUZZ_BUILD) --product $$target || exit 1; done

# The SQL target is its own package (Fuzz/SQL), built with the same flags into its own folder.
FUZZ_SQL_BUILD = swift build -c release --package-path Fuzz/SQL --scratch-path .build-fuzz-sql \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
	-Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

fuzz-sql:
	$(FUZZ_SQL_BUILD)
	mkdir -p .build-fuzz-sql/corpus
	SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$(FUZZ_ASAN) .build-fuzz-sql/release/FuzzSQL \
	  .build-fuzz-sql/corpus Fuzz/SQL/seeds -dict=Fuzz/SQL/sql.dict -max_len=4096 \
	  -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=.build-fuzz-sql/ -print_final_stats=1 \
	  -timeout=10 -rss_limit_mb=4096 -detect_leaks=0

fuzz: fuzz-build fuzz-sql
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/$$target/corpus && \
	  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$(FUZZ_ASAN) .build-fuzz/release/$$target \
	    .build-fuzz/$$target/corpus ../shared/golden ../shared/regressions Tests/Regressions \
	    -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=.build-fuzz/$$target/ \
	    -print_final_stats=1 $(FUZZ_FLAGS) || exit 1; \
	done
