#!/usr/bin/env bash
# The whole test suite: installs the real services the integration tests talk to (Dovecot,
# spamd, clamd, an SMTP sink; Debian packages, needs root), then runs every test and closes with
# one line counting them all.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
    scripts/install-test-deps.sh
else
    echo "test.sh: not root, assuming the test services are installed (scripts/install-test-deps.sh)" >&2
fi
# Every crate's licence must be one AGPL-3.0-only may be combined with.
scripts/check-licences.py --self-test
scripts/check-licences.py
# No two top-level modules import each other, directly or around a circle.
scripts/check-module-cycles.py --self-test
scripts/check-module-cycles.py
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
# The integration tests again with every desk's index on PostgreSQL (started by the harness as
# the postgres user, so as root only); tests of SQLite's own file return at once there.
if [ "$(id -u)" -eq 0 ]; then
    POSTDESK_TEST_INDEX=postgres cargo test --locked --test it "$@" 2>&1 | tee -a "$log" || status=$?
else
    echo "test.sh: not root, the integration tests on PostgreSQL are left out" >&2
fi
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# The Debian package: build, install, check, deliver as the postdesk user, purge (root only);
# then the README's install steps with the system's Postfix and Dovecot.
if [ "$(id -u)" -eq 0 ] && [ "$status" -eq 0 ]; then
    if scripts/test-package.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
    # README's install section on this machine: Postfix by LMTP and pipe, Dovecot, an agent.
    if scripts/test-install.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi
echo
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
