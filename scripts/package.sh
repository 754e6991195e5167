#!/usr/bin/env bash
# Builds the Debian package: the release binary, its man pages and shell completions
# (`postdesk generate-docs`), then cargo-deb (installed from crates.io when missing).
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
    cargo install --locked cargo-deb --version 3.8.0
fi
cargo build --release --locked
rm -rf target/assets
target/release/postdesk generate-docs target/assets
# The stripped binary goes into the package; --fast because a test builds it every run.
cargo deb --no-build --locked --strip --fast "$@" | tail -n 1
