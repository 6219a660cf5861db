#!/usr/bin/env python3
"""Checks what docker-compose.yml, temporal-config/ and the Dockerfile promise, without Docker.

Run from anywhere: `python3 Tests/deployment/check_compose.py [REPO_ROOT]`. Prints one line per
problem and exits 1 if there is any, else prints a summary and exits 0. Run by the Swift test
LaunchpadETLTests/DeploymentFilesTests.
"""
import os
import posixpath
import re
import sys

import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPORAL_WORKDIR = "/etc/temporal"  # the auto-setup image's working directory
REQUIRED_SERVICES = ["temporal", "postgresql", "temporal-ui", "temporal-admin-tools", "worker", "etl-db"]

problems = []


def problem(text):
    problems.append(text)


def load_yaml(relative):
    path = os.path.join(ROOT, relative)
    if not os.path.isfile(path):
        problem(f"{relative}: missing")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as error:
        problem(f"{relative}: does not parse: {error}")
        return None


def environment(service):
    """A service's environment as a dict, whether written as a mapping or as KEY=VALUE lines."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = {}
        for item in env:
            key, _, value = str(item).partition("=")
            pairs[key] = value
        return pairs
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def published_ports(service):
    """(host, container) port pairs, from short ("8080:8080", "127.0.0.1:8080:8080") or long syntax."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.append((str(entry.get("published", "")), str(entry.get("target", ""))))
        else:
            parts = str(entry).split("/")[0].split(":")
            if len(parts) >= 2:
                pairs.append((parts[-2], parts[-1]))
            else:
                pairs.append(("", parts[0]))
    return pairs


def mounts(service):
    """(source, target) pairs of a service's volumes, short or long syntax."""
    pairs = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            pairs.append((str(entry.get("source", "")), str(entry.get("target", ""))))
        else:
            parts = str(entry).split(":")
            if len(parts) >= 2:
                pairs.append((parts[0], parts[1]))
    return pairs


def depends_healthy(service, other):
    deps = service.get("depends_on") or {}
    return isinstance(deps, dict) and isinstance(deps.get(other), dict) and deps[other].get("condition") == "service_healthy"


def healthcheck_test(service):
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, list):
        return " ".join(str(t) for t in test)
    return str(test or "")


def check_compose():
    compose = load_yaml("docker-compose.yml")
    if not isinstance(compose, dict):
        if compose is not None:
            problem("docker-compose.yml: not a mapping")
        return
    services = compose.get("services") or {}
    for name in REQUIRED_SERVICES:
        if name not in services:
            problem(f"docker-compose.yml: no service {name!r}")
    if any(name not in services for name in REQUIRED_SERVICES):
        return
    temporal, postgresql, ui, admin, worker = (services[n] for n in ["temporal", "postgresql", "temporal-ui", "temporal-admin-tools", "worker"])

    # Images: the server is auto-setup pinned to a version; PostgreSQL 16.
    image = str(temporal.get("image", ""))
    if not re.fullmatch(r"temporalio/auto-setup:\d+\.\d+\.\d+(\.\d+)?", image):
        problem(f"temporal: image {image!r} is not temporalio/auto-setup pinned to a version")
    if not str(postgresql.get("image", "")).startswith("postgres:16"):
        problem(f"postgresql: image {postgresql.get('image')!r} is not postgres:16")
    if not str(ui.get("image", "")).startswith("temporalio/ui:"):
        problem("temporal-ui: image is not temporalio/ui")
    if not str(admin.get("image", "")).startswith("temporalio/admin-tools:"):
        problem("temporal-admin-tools: image is not temporalio/admin-tools")

    # Ports: the frontend on 7233, the Web UI on 8080.
    if ("7233", "7233") not in published_ports(temporal):
        problem(f"temporal: port 7233 not published as 7233 (ports: {temporal.get('ports')})")
    if ("8080", "8080") not in published_ports(ui):
        problem(f"temporal-ui: port 8080 not published as 8080 (ports: {ui.get('ports')})")

    # The server on PostgreSQL, reached by service name.
    env = environment(temporal)
    if env.get("DB") != "postgres12":
        problem(f"temporal: DB={env.get('DB')!r}, expected postgres12")
    if env.get("POSTGRES_SEEDS") != "postgresql":
        problem(f"temporal: POSTGRES_SEEDS={env.get('POSTGRES_SEEDS')!r}, expected the postgresql service")
    pg_env = environment(postgresql)
    if env.get("POSTGRES_USER") != pg_env.get("POSTGRES_USER") or env.get("POSTGRES_PWD") != pg_env.get("POSTGRES_PASSWORD"):
        problem("temporal: POSTGRES_USER/POSTGRES_PWD do not match the postgresql service's credentials")

    # Dynamic config: DYNAMIC_CONFIG_FILE_PATH must land in a mounted directory holding that file.
    dynamic = env.get("DYNAMIC_CONFIG_FILE_PATH", "")
    if not dynamic:
        problem("temporal: no DYNAMIC_CONFIG_FILE_PATH")
    else:
        container_path = posixpath.normpath(posixpath.join(TEMPORAL_WORKDIR, dynamic))
        found = False
        for source, target in mounts(temporal):
            target = posixpath.normpath(target)
            if container_path.startswith(target + "/") and source.startswith("."):
                local = os.path.normpath(os.path.join(ROOT, source, posixpath.relpath(container_path, target)))
                found = True
                if os.path.normpath(os.path.join(ROOT, source)) != os.path.join(ROOT, "temporal-config"):
                    problem(f"temporal: dynamic config comes from {source}, not ./temporal-config")
                if not os.path.isfile(local):
                    problem(f"temporal: DYNAMIC_CONFIG_FILE_PATH {container_path} maps to {local}, which does not exist")
        if not found:
            problem(f"temporal: nothing from the repository is mounted where DYNAMIC_CONFIG_FILE_PATH points ({container_path})")

    # Health checks and start order.
    if "pg_isready" not in healthcheck_test(postgresql):
        problem("postgresql: no pg_isready healthcheck")
    temporal_check = healthcheck_test(temporal)
    if "namespace describe" not in temporal_check or "default" not in temporal_check:
        problem("temporal: the healthcheck does not wait for the default namespace (temporal operator namespace describe -n default)")
    if not depends_healthy(temporal, "postgresql"):
        problem("temporal: does not depend on postgresql being healthy")
    for name, service in [("temporal-ui", ui), ("temporal-admin-tools", admin)]:
        if environment(service).get("TEMPORAL_ADDRESS") != "temporal:7233":
            problem(f"{name}: TEMPORAL_ADDRESS is not temporal:7233")

    # The worker: built from the Dockerfile, pointed at the server by service name, scalable.
    worker_env = environment(worker)
    host = worker_env.get("TEMPORAL_HOST", "")
    frontend_port = next((c for h, c in published_ports(temporal) if c == "7233"), None)
    if host != f"temporal:{frontend_port}":
        problem(f"worker: TEMPORAL_HOST={host!r}, expected the temporal service's frontend temporal:7233")
    build = worker.get("build")
    if build is None:
        problem("worker: no build")
    else:
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        if not os.path.isfile(os.path.join(ROOT, context, dockerfile)):
            problem(f"worker: build names {context}/{dockerfile}, which does not exist")
    if not depends_healthy(worker, "temporal"):
        problem("worker: does not depend on temporal being healthy")
    if worker.get("restart") != "unless-stopped":
        problem("worker: restart is not unless-stopped")
    if "container_name" in worker or worker.get("ports"):
        problem("worker: has container_name or host ports, so `--scale worker=N` would clash")
    # Its healthcheck asks the worker's own /readyz through `LaunchpadWorker health`, which
    # needs METRICS_PORT and must exist as a subcommand.
    if "LaunchpadWorker health" not in healthcheck_test(worker):
        problem("worker: no healthcheck running `LaunchpadWorker health`")
    if not str(worker_env.get("METRICS_PORT", "")).isdigit():
        problem("worker: METRICS_PORT unset, so neither /metrics nor `LaunchpadWorker health` works")
    # Activities drain within the grace, which must end before compose kills the container.
    grace = str(worker_env.get("SHUTDOWN_GRACE_SECONDS", "10"))
    stop = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", str(worker.get("stop_grace_period", "10s")))
    stop_seconds = sum(int(n or 0) * f for n, f in zip(stop.groups(), (3600, 60, 1))) if stop else 0
    if not grace.isdigit() or int(grace) + 5 > stop_seconds:
        problem(f"worker: SHUTDOWN_GRACE_SECONDS={grace} leaves under 5 s of stop_grace_period={worker.get('stop_grace_period')} to report cancelled activities")
    health_source = os.path.join(ROOT, "Sources/LaunchpadWorker/HealthCheck.swift")
    if not os.path.isfile(health_source) or 'commandName: "health"' not in open(health_source).read():
        problem("worker: the healthcheck runs `LaunchpadWorker health`, which Sources/LaunchpadWorker does not define")
    # Every replica writes one shared PostgreSQL event store, the etl-db service.
    db_url = worker_env.get("ETL_DB_URL", "")
    if not re.match(r"^postgres(ql)?://[^@/]+@etl-db(:5432)?/\w+$", db_url):
        problem(f"worker: ETL_DB_URL={db_url!r}, expected postgres://user:password@etl-db:5432/dbname (the shared store)")
    if not depends_healthy(worker, "etl-db"):
        problem("worker: does not depend on etl-db being healthy")
    etl_db = services["etl-db"]
    etl_env = environment(etl_db)
    match = re.match(r"^postgres(ql)?://([^:@/]+):([^@/]*)@[^/]+/(\w+)$", db_url)
    if match and (etl_env.get("POSTGRES_USER"), etl_env.get("POSTGRES_PASSWORD"), etl_env.get("POSTGRES_DB")) != match.group(2, 3, 4):
        problem("worker: ETL_DB_URL's user, password or database differ from etl-db's POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB")
    if not healthcheck_test(etl_db):
        problem("etl-db: no health check")

    # Named volumes: every non-path volume source is declared at the top level, and some exist.
    declared = set((compose.get("volumes") or {}).keys())
    if not declared:
        problem("docker-compose.yml: no named volumes declared")
    for name, service in services.items():
        for source, _ in mounts(service):
            if source and not source.startswith((".", "/", "~")) and source not in declared:
                problem(f"{name}: volume {source!r} is not declared under volumes")
    if not any(source in declared for source, _ in mounts(postgresql)):
        problem("postgresql: data is not on a named volume")
    if not any(source in declared and target == "/var/lib/postgresql/data" for source, target in mounts(etl_db)):
        problem("etl-db: data is not on a named volume")


def check_temporal_config():
    dynamic = load_yaml("temporal-config/development-sql.yaml")
    if dynamic is not None:
        if not isinstance(dynamic, dict) or not dynamic:
            problem("temporal-config/development-sql.yaml: not a non-empty mapping")
        else:
            for key, entries in dynamic.items():
                if not isinstance(entries, list) or not entries:
                    problem(f"development-sql.yaml: {key} is not a list of {{value, constraints}}")
                    continue
                for entry in entries:
                    if not isinstance(entry, dict) or "value" not in entry or not isinstance(entry.get("constraints"), dict):
                        problem(f"development-sql.yaml: {key} has an entry that is not {{value, constraints}}: {entry!r}")
            for key in ["frontend.rps", "frontend.namespaceRPS", "limit.maxIDLength", "limit.historyCount.error",
                        "limit.historyCount.warn", "limit.blobSize.error", "limit.blobSize.warn"]:
                if key not in dynamic:
                    problem(f"development-sql.yaml: no {key}")
            for key in ["system.enableActivityEagerExecution", "system.enableEagerWorkflowStart"]:
                if not (dynamic.get(key) or [{}])[0].get("value") is True:
                    problem(f"development-sql.yaml: {key} is not true")

    static = load_yaml("temporal-config/config.yaml")
    if static is None:
        return
    if not isinstance(static, dict):
        problem("temporal-config/config.yaml: not a mapping")
        return
    persistence = static.get("persistence") or {}
    stores = persistence.get("datastores") or {}
    for role in ["defaultStore", "visibilityStore"]:
        store = stores.get(persistence.get(role)) or {}
        plugin = (store.get("sql") or {}).get("pluginName")
        if plugin != "postgres12":
            problem(f"config.yaml: persistence.{role} is not an sql store with pluginName postgres12 (got {plugin!r})")
        elif not str(store["sql"].get("connectAddr", "")).startswith("postgresql:"):
            problem(f"config.yaml: persistence.{role} does not connect to the postgresql service")
    if "membership" not in (static.get("global") or {}):
        problem("config.yaml: no global.membership")
    services = static.get("services") or {}
    for name in ["frontend", "history", "matching", "worker"]:
        rpc = (services.get(name) or {}).get("rpc") or {}
        if not rpc.get("grpcPort") or not rpc.get("membershipPort"):
            problem(f"config.yaml: services.{name}.rpc has no grpcPort/membershipPort")
    if ((services.get("frontend") or {}).get("rpc") or {}).get("grpcPort") != 7233:
        problem("config.yaml: frontend grpcPort is not 7233")
    for key in ["clusterMetadata", "dcRedirectionPolicy", "archival", "namespaceDefaults"]:
        if key not in static:
            problem(f"config.yaml: no {key}")
    archival = static.get("archival") or {}
    if any((archival.get(kind) or {}).get("state") != "disabled" for kind in ["history", "visibility"]):
        problem("config.yaml: archival is not off")


def check_dockerfile():
    path = os.path.join(ROOT, "Dockerfile")
    if not os.path.isfile(path):
        problem("Dockerfile: missing")
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stages = re.findall(r"^\s*FROM\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    if len(stages) < 2:
        problem(f"Dockerfile: {len(stages)} FROM stage(s), expected a multi-stage build")
    if not re.search(r"swift build[^\n]*--product LaunchpadWorker", text):
        problem("Dockerfile: does not build the LaunchpadWorker product")
    for product in ["StartLaunchpadWorkflow", "StartMockWorkflow", "LaunchpadReport"]:
        if not re.search(r"swift build[^\n]*--product " + product + r"\b", text):
            problem(f"Dockerfile: does not build the {product} product")
    if not re.search(r"^\s*VOLUME\s+\[?\"?/data", text, flags=re.MULTILINE):
        problem("Dockerfile: /data (the SQLite store) is not a VOLUME: the store would go with the container")
    if not re.search(r'^\s*ENTRYPOINT\s+\[\s*"tini"\s*,\s*"--"\s*,\s*"LaunchpadWorker"', text, flags=re.MULTILINE):
        problem('Dockerfile: ENTRYPOINT is not ["tini", "--", "LaunchpadWorker"] (as PID 1 the worker would miss SIGTERM before it runs)')
    if re.search(r"^\s*ENV\b[^\n]*(\\\n[^\n]*)*TEMPORAL_HOST=", text, flags=re.MULTILINE):
        problem("Dockerfile: sets TEMPORAL_HOST, which hides a TEMPORAL_ADDRESS given to `docker run`")
    if not re.search(r"^\s*USER\s+(?!root\b|0\b)\S+", text, flags=re.MULTILINE):
        problem("Dockerfile: runs as root")
    if not re.search(r"^\s*HEALTHCHECK\b[^\n]*(\\\n[^\n]*)*LaunchpadWorker health", text, flags=re.MULTILINE):
        problem("Dockerfile: no HEALTHCHECK running `LaunchpadWorker health`")
    if not os.path.isfile(os.path.join(ROOT, ".dockerignore")):
        problem(".dockerignore: missing")


def check_readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    # A secret's value expanded into `docker run -e NAME="$VALUE"` is on docker's command line.
    for match in re.finditer(r"-e\s+([A-Z_]*(?:KEY|PASSWORD|TOKEN|SECRET)[A-Z_]*)=\"?\$", text):
        problem(f"README.md: `-e {match.group(1)}=$…` puts the secret on docker's command line; pass `-e {match.group(1)}` alone")
    # The plain server image renders its own docker.yaml: a config mounted there is not used.
    if "/etc/temporal/config/docker.yaml:" in text or "--entrypoint temporal-server" not in text:
        problem("README.md: the plain temporalio/server recipe must bypass the entrypoint (--entrypoint temporal-server)")


check_compose()
check_temporal_config()
check_dockerfile()
check_readme()
if problems:
    for line in problems:
        print(line)
    sys.exit(1)
print("docker-compose.yml, temporal-config/, Dockerfile and the README's docker commands: all checks passed")
