#!/usr/bin/env bash
# Install the Debian packages the app needs (.ci/apt-runtime.txt) and, unless --runtime, those the tests
# need (.ci/apt-packages.txt) and axe-core from npm (package-lock.json), when they are missing.
# Idempotent: on a machine that has everything it only checks. Runs apt-get as root, or through sudo
# when not root. `make demo` runs it with --runtime; `make test` (and so .ci/run) without.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        echo "system-deps: need root or sudo to run: $*" >&2
        exit 1
    fi
}

runtime_only=false
[ "${1:-}" = "--runtime" ] && runtime_only=true
lists=(.ci/apt-runtime.txt)
$runtime_only || lists+=(.ci/apt-packages.txt)

wanted=()
for list in "${lists[@]}"; do
    while read -r pkg _; do
        case "$pkg" in ''|'#'*) continue ;; esac
        wanted+=("$pkg")
    done < "$list"
done
$runtime_only || command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)

missing=()
for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        # nodejs from another repository may provide npm itself
        if [ "$pkg" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "system-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "system-deps: Debian packages present"
fi

# The PostgreSQL and Redis packages start system services on install; the tests use their own
# throwaway servers (.ci/with-services.sh) and never depend on those.

$runtime_only && exit 0

axe_current() {
    node -e 'const want = require("./package.json").devDependencies["axe-core"];
             process.exit(require("./node_modules/axe-core/package.json").version === want ? 0 : 1)' \
        2>/dev/null
}
if [ ! -f node_modules/axe-core/axe.min.js ] || ! axe_current; then
    echo "system-deps: npm ci (axe-core)"
    npm ci --no-audit --no-fund --loglevel=error
else
    echo "system-deps: node_modules up to date"
fi
