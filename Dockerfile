# syntax=docker/dockerfile:1
# The project's executables in a slim image: LaunchpadWorker (the entrypoint), the two
# starters and LaunchpadReport. Build stage: the Swift toolchain on Debian bookworm with the C
# libraries' headers. Run stage: bookworm-slim with the same libraries' runtime packages and the
# Swift runtime.
#
#   docker build -t temporaletl-worker .
#   # A server on the host (on Linux, host.docker.internal needs the --add-host line, and the
#   # server must listen beyond 127.0.0.1: `temporal server start-dev --ip 0.0.0.0`); the SQLite
#   # store lives in the volume etl-data, which outlives the container:
#   docker run --rm --add-host=host.docker.internal:host-gateway -v etl-data:/data \
#       -e TEMPORAL_HOST=host.docker.internal:7233 temporaletl-worker
#   # (--init: a starter run in place of the entrypoint is PID 1 without tini, and would ignore Ctrl-C)
#   docker run --rm --init --add-host=host.docker.internal:host-gateway --entrypoint StartMockWorkflow \
#       -e TEMPORAL_HOST=host.docker.internal:7233 temporaletl-worker
#   docker run --rm --init -v etl-data:/data --entrypoint LaunchpadReport temporaletl-worker --format csv

# The toolchain the package is developed and tested with (6.3; Package.swift needs 6.1 or later).
ARG SWIFT_VERSION=6.3

FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        libgrpc-dev libnghttp2-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole package (Package.swift names the test targets too); .dockerignore keeps out
# build directories, local databases and benchmark results.
COPY . .
RUN swift build -c release --product LaunchpadWorker \
    && swift build -c release --product StartLaunchpadWorkflow \
    && swift build -c release --product StartMockWorkflow \
    && swift build -c release --product LaunchpadReport \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /out/bin /out/swift \
    && for exe in LaunchpadWorker StartLaunchpadWorkflow StartMockWorkflow LaunchpadReport; do cp "$bin/$exe" /out/bin/; done \
    && cp /usr/lib/swift/linux/*.so /out/swift/

FROM debian:bookworm-slim AS run
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        libgrpc29 libnghttp2-14 libssl3 libcurl4 libsqlite3-0 libpq5 ca-certificates tzdata tini \
    && rm -rf /var/lib/apt/lists/*
# The Swift runtime, at the path the executables' RUNPATH names, and known to the loader too.
COPY --from=build /out/swift/ /usr/lib/swift/linux/
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig
COPY --from=build /out/bin/ /usr/local/bin/

# Unprivileged user; /data holds the SQLite event store when ETL_DB_URL is unset. It is a volume:
# without `-v NAME:/data` Docker makes an anonymous one, so the store is not lost with the
# container, but name it to find it again (docker-compose.yml uses PostgreSQL instead). A new
# named volume starts out owned by this user.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home etl \
    && mkdir -p /data && chown etl:etl /data
VOLUME /data
USER etl
WORKDIR /data
# gRPC TLS without TEMPORAL_TLS_CA (e.g. TEMPORAL_TLS=1 for Temporal Cloud) trusts the Debian CA bundle.
# No TEMPORAL_HOST here: it would hide a TEMPORAL_ADDRESS given to `docker run` (TEMPORAL_HOST
# wins); give either, as docker-compose.yml does.
# A grace below Docker's default stop timeout (10 s) with time to spare: with both at 10 s the
# worker was killed just as it would have reported the activities it cancelled. Raise both
# together (SHUTDOWN_GRACE_SECONDS and docker run --stop-timeout), as docker-compose.yml does.
ENV ETL_DB_PATH=/data/launchpad_events.db \
    SHUTDOWN_GRACE_SECONDS=7 \
    LOG_LEVEL=info \
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=/etc/ssl/certs/ca-certificates.crt
# With METRICS_PORT set, Docker asks the worker's own /readyz (the image has no curl); without
# it there is nothing to ask, and the container counts as healthy.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "-c", "[ -z \"$METRICS_PORT\" ] || exec LaunchpadWorker health"]
# The worker drains and exits on SIGTERM (docker stop); give it time with --stop-timeout. tini is
# PID 1 and passes the signal on: the kernel drops SIGTERM to a PID 1 with no handler, which the
# worker has only once it runs (not while it waits for its Temporal server or its database).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "LaunchpadWorker"]
