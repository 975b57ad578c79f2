#!/usr/bin/env bash
# Make promtool (and prometheus, for the end-to-end tests) available, from Debian's package.
# Idempotent: does nothing when promtool is already on PATH. Run it (do not source it):
#   bash .ci/install-prometheus.sh
#
# The package's maintainer scripts would start a system Prometheus on :9090 where an init
# system runs; the tests start their own Prometheus, so service starts are denied during
# the install (policy-rc.d) and any service that still came up is stopped and disabled.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-prometheus: promtool is missing and installing it needs root" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    added_policy=1
fi
cleanup() {
    if [ "$added_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends prometheus; then
    apt-get update
    apt-get install -y --no-install-recommends prometheus
fi

if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
    systemctl disable prometheus || true
fi
# Only the packaged service writes this pid file, so a test's own Prometheus is left alone.
if [ -x /etc/init.d/prometheus ] && [ -s /run/prometheus/prometheus.pid ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi

promtool --version
