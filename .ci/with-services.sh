#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster, Redis server and SeaweedFS (S3) on 127.0.0.1, then
# stop them.
#
#   bash .ci/with-services.sh COMMAND [ARGS...]
#
# Exports INTAKE_TEST_DATABASE_URL (a superuser URL; the test fixture makes one database per test
# process), INTAKE_TEST_REDIS_URL and INTAKE_TEST_S3_* (endpoint, access and secret key, bucket, data
# folder: the whole run shares one SeaweedFS; tests/seaweed.py starts it). When a variable
# (INTAKE_TEST_S3_ENDPOINT for the store) is already set, that server is used and nothing is started. Data lives in a temporary folder removed on exit; nothing listens beyond
# loopback. Works as root (the cluster runs as the `postgres` user) or as an ordinary user.
set -euo pipefail

state=$(mktemp -d /tmp/intake-services.XXXXXX)
chmod 755 "$state"
pg_run=()
pg_ctl=""
redis_pid=""
weed_pid=""
py="$(dirname "$0")/../.venv/bin/python"
[ -x "$py" ] || py=python3

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
    local rc=$?
    if [ -n "$pg_ctl" ]; then
        "${pg_run[@]}" "$pg_ctl" -D "$state/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [ -n "$weed_pid" ]; then
        kill "$weed_pid" 2>/dev/null || true   # tests/seaweed.py stops weed and removes its sockets
        wait "$weed_pid" 2>/dev/null || true
    fi
    rm -rf "$state"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${INTAKE_TEST_DATABASE_URL:-}" ]; then
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$pgbin" ]; then
        echo "with-services: PostgreSQL is not installed (run .ci/system-deps.sh)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        pg_run=(runuser -u postgres --)
        install -d -o postgres -g postgres -m 700 "$state/pg"
    else
        pg_run=(env)
        install -d -m 700 "$state/pg"
    fi
    "${pg_run[@]}" "$pgbin/initdb" -D "$state/pg" -U intake --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 1; }
    pg_port=$(free_port)
    pg_ctl="$pgbin/pg_ctl"
    # fsync off: a throwaway cluster that no test crashes (the durability test kills the app, not it).
    "${pg_run[@]}" "$pg_ctl" -D "$state/pg" -l "$state/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$state/pg" \
        -o "-c max_connections=300 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null || { cat "$state/pg/server.log" >&2; exit 1; }
    export INTAKE_TEST_DATABASE_URL="postgresql+psycopg://intake@127.0.0.1:$pg_port/postgres"
    echo "with-services: PostgreSQL $(basename "$(dirname "$pgbin")") on 127.0.0.1:$pg_port"
fi

if [ -z "${INTAKE_TEST_REDIS_URL:-}" ]; then
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "with-services: redis-server is not installed (run .ci/system-deps.sh)" >&2
        exit 1
    fi
    redis_port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        --dir "$state" --logfile "$state/redis.log" --daemonize no &
    redis_pid=$!
    for _ in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; then break; fi
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null
    export INTAKE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
    echo "with-services: Redis on 127.0.0.1:$redis_port"
fi

if [ -z "${INTAKE_TEST_S3_ENDPOINT:-}" ]; then
    mkdir -p "$state/seaweed"
    "$py" "$(dirname "$0")/../tests/seaweed.py" --state "$state/seaweed" >"$state/seaweed.log" 2>&1 &
    weed_pid=$!
    for _ in $(seq 1 600); do   # at most 60 s (tests/seaweed.py gives up by itself after 60 s)
        if [ -f "$state/seaweed/env" ] || ! kill -0 "$weed_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    if [ ! -f "$state/seaweed/env" ]; then
        echo "with-services: SeaweedFS did not start" >&2
        cat "$state/seaweed.log" >&2
        exit 1
    fi
    # shellcheck disable=SC1091
    . "$state/seaweed/env"
    echo "with-services: SeaweedFS S3 on ${INTAKE_TEST_S3_ENDPOINT#http://}"
fi

"$@"
