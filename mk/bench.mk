# Benchmarks (docs/PERFORMANCE.md explains them and the targets).
#
#   make bench         (a)-(e) against redis-server and memcached, and the
#                      event scenarios (f)-(h) (bench/events.py), about 5
#                      minutes; the table also goes to bench/results.md
#   make bench-instr   callgrind instructions per request in scenarios (b), (c)
#
# Always the plain optimised build in build/, whatever SANITIZE says.
#   BENCH_RUNS (5) runs of BENCH_SECONDS (5) after BENCH_WARMUP (1) seconds;
#   BENCH_PORT (17769): picmdd's port, redis and memcached take the next two;
#   BENCH_REQUESTS (100000): requests of the callgrind run.

BENCH_RUNS	?= 5
BENCH_SECONDS	?= 5
BENCH_WARMUP	?= 1
BENCH_PORT	?= 17769
BENCH_REQUESTS	?= 100000

.PHONY: bench bench-instr bench-build deps-bench

$(BUILD)/picmd-bench: bench/picmd-bench.c | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/picmd-stream: bench/picmd-stream.c | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

bench-build: $(BUILD)/picmdd $(BUILD)/picmd-bench $(BUILD)/picmd-stream \
	$(PLUGINS)

# tools/deps.sh bench, then stop any redis/memcached service the install
# started: the benchmark runs its own instances on loopback ports.
deps-bench:
	@bench/deps.sh

bench: deps-bench
	@$(MAKE) --no-print-directory SANITIZE= BUILD=build bench-build
	@python3 bench/run.py --build build --runs $(BENCH_RUNS) \
		--seconds $(BENCH_SECONDS) --warmup $(BENCH_WARMUP) \
		--port $(BENCH_PORT)

bench-instr: deps-bench
	@$(MAKE) --no-print-directory SANITIZE= BUILD=build bench-build
	@python3 bench/run.py --build build --instr \
		--requests $(BENCH_REQUESTS) --port $(BENCH_PORT)
