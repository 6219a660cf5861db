# A throwaway PostgreSQL (the Debian postgresql server binaries) on a free port, in a temporary
# directory (sourced after setup.sh).
#   start_throwaway_postgres DIR DBNAME   -> sets $pg_url (postgres://postgres@127.0.0.1:PORT/DBNAME)
#   stop_throwaway_postgres DIR
# The binaries are looked up when called, so sourcing this before ensure_system_packages
# installs PostgreSQL is fine.
# The newest version with a server (a client-only postgresql-client-N has no initdb).
pg_bin_dir() { for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }; done; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_throwaway_postgres() {
    local dir=$1 db=$2 port bin
    bin=$(pg_bin_dir)
    [ -n "$bin" ] || { log "no PostgreSQL server binaries under /usr/lib/postgresql (apt install postgresql)"; return 1; }
    port=$(free_port)
    mkdir -p "$dir/pg"; [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg"
    as_pg "$bin/initdb" -D "$dir/pg" -U postgres -A trust >/dev/null
    as_pg "$bin/pg_ctl" -D "$dir/pg" -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1" -l "$dir/pg/log" -w start >/dev/null
    psql -X -q -t -A "postgres://postgres@127.0.0.1:$port/postgres" -c "CREATE DATABASE $db" >/dev/null
    pg_url="postgres://postgres@127.0.0.1:$port/$db"
}

stop_throwaway_postgres() {
    local bin; bin=$(pg_bin_dir)
    if [ -n "$bin" ] && [ -d "$1/pg" ]; then as_pg "$bin/pg_ctl" -D "$1/pg" -m fast stop >/dev/null 2>&1 || true; fi
}
