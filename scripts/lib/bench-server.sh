# Fresh dev servers for the benchmark scripts (sourced after setup.sh).
#
# Two server profiles, both with the frontend rate limits raised (the defaults answer 32
# concurrent calls with RESOURCE_EXHAUSTED "service rate limit exceeded", measuring the limiter):
#   dispatch-limited: otherwise the dev server's defaults. Its one history shard reads new
#     transfer tasks at most 20 times a second (history.transferProcessorMaxPollRPS), so every
#     workflow task waits ~40 ms to be dispatched, whichever SDK polls.
#   fast-dispatch: that limit raised too, as a production cluster's many shards make it
#     irrelevant; latency is then the workers' own.
# The dev server slows down as its in-memory store fills, so every measurement gets a fresh one.
# With TEMPORAL_HOST set, that server is used as it is (profile "given").

bench_server=""
trap '[ -n "$bench_server" ] && kill $bench_server 2>/dev/null || true' EXIT

# start_bench_server PROFILE: sets $address. Three attempts: the dev server picks its other ports
# (HTTP, metrics, internal services) at random, and one of them can collide with ours.
start_bench_server() {
    local profile=$1 port ui attempt
    local extra=()
    [ "$profile" = fast-dispatch ] && extra=(--dynamic-config-value history.transferProcessorMaxPollRPS=10000)
    for attempt in 1 2 3; do
        port=$(free_port); ui=$(free_port)
        temporal server start-dev --headless --ip 127.0.0.1 --port "$port" --ui-port "$ui" --log-level error \
            --dynamic-config-value frontend.rps=1000000 --dynamic-config-value frontend.namespaceRPS=1000000 \
            --dynamic-config-value frontend.globalNamespaceRPS=1000000 "${extra[@]}" >/dev/null 2>&1 &
        bench_server=$!
        address=127.0.0.1:$port
        for _ in $(seq 1 300); do
            if temporal operator cluster health --address "$address" >/dev/null 2>&1; then return 0; fi
            kill -0 "$bench_server" 2>/dev/null || break
            sleep 0.2
        done
        log "the dev server on $address did not come up (attempt $attempt of 3)"
        stop_bench_server
    done
    return 1
}

stop_bench_server() {
    if [ -n "$bench_server" ]; then kill "$bench_server" 2>/dev/null || true; wait "$bench_server" 2>/dev/null || true; bench_server=""; fi
}

# fresh_bench_server PROFILE: a new server of that profile (or $TEMPORAL_HOST for "given").
fresh_bench_server() {
    if [ "$1" = given ]; then address=$TEMPORAL_HOST; else stop_bench_server; start_bench_server "$1"; fi
}

build_bench() {
    log "building TemporalBench and its worker process, TemporalBenchWorker (release)"
    swift build -c release --product TemporalBench 2>&1 | tail -n 1
    swift build -c release --product TemporalBenchWorker 2>&1 | tail -n 1
    bench="$(swift build -c release --show-bin-path)/TemporalBench"
    mkdir -p bench-results
}
