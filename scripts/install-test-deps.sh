#!/usr/bin/env bash
# Install the system packages that postdesk's integration tests need (Debian 12, run as root).
# Idempotent: packages already installed are skipped, `apt-get update` runs only when something is missing.
# No system service is started: while installing, /usr/sbin/policy-rc.d answers 101 ("action forbidden")
# unless one already exists (then it is left alone).
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd spamassassin spamd spamc clamav-daemon python3-aiosmtpd openssl ca-certificates
    systemd binutils dpkg-dev postfix slapd ldap-utils poppler-utils chromium fonts-dejavu-core libtiff-tools
    postgresql-15)

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps.sh: must run as root" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-test-deps.sh: all test packages already installed"
    exit 0
fi
echo "install-test-deps.sh: installing ${missing[*]}"

POLICY=/usr/sbin/policy-rc.d
created_policy=no
cleanup() {
    if [ "$created_policy" = yes ]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from postdesk scripts/install-test-deps.sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    created_policy=yes
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix unconfigured: the integration tests run private instances of it; test-install.sh
# configures the system's as README's install section says and puts /etc/postfix back after.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# slapd without a database of its own: the LDAP tests start one with a throw-away configuration.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-test-deps.sh: done"
