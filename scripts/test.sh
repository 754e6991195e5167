#!/usr/bin/env bash
# The whole test suite: installs the real services the integration tests talk to (Dovecot,
# spamd, clamd, an SMTP sink; Debian packages, needs root), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
    scripts/install-test-deps.sh
else
    echo "test.sh: not root, assuming the test services are installed (scripts/install-test-deps.sh)" >&2
fi
cargo test --locked "$@"
