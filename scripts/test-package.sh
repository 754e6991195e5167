#!/usr/bin/env bash
# The Debian package, installed as an admin would (README, "Install"): build it, dpkg -i, check
# what it installed, `postdesk check` and one delivery as the postdesk user, the unit's
# `systemd-analyze security` exposure (at most 2.0), then purge. Needs root on Debian 12.
# It refuses to touch a machine where postdesk is installed and this test did not install it.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=/var/lib/postdesk/.installed-by-package-test
if dpkg-query -W -f='${Status}' postdesk 2>/dev/null | grep -q 'install ok installed' && [ ! -e "$marker" ]; then
    echo "test-package: postdesk is installed on this machine; not replacing it" >&2
    exit 1
fi
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }

deb=$(scripts/package.sh)
echo "test-package: installing $deb"
dpkg -i "$deb"
touch "$marker"
trap 'dpkg --purge postdesk >/dev/null 2>&1 || true; rm -rf /var/lib/postdesk' EXIT

# What the package put in place.
getent passwd postdesk >/dev/null || fail "no postdesk user"
getent group postdesk >/dev/null || fail "no postdesk group"
[ "$(stat -c %U:%G:%a /var/lib/postdesk)" = postdesk:postdesk:750 ] || fail "/var/lib/postdesk: $(stat -c %U:%G:%a /var/lib/postdesk)"
[ "$(stat -c %G:%a /etc/postdesk/postdesk.toml)" = postdesk:640 ] || fail "postdesk.toml: $(stat -c %G:%a /etc/postdesk/postdesk.toml)"
! readelf -S /usr/bin/postdesk | grep -qE '\.(symtab|debug_info)' || fail "/usr/bin/postdesk is not stripped"
for f in /etc/postdesk/templates/en/new-ticket.txt /etc/postdesk/filters/10-spam-virus.sieve; do
    grep -qx "$f" /var/lib/dpkg/info/postdesk.conffiles || fail "$f is not a conffile"
done
for f in /usr/share/doc/postdesk/README.md /usr/share/doc/postdesk/postdesk.example.toml \
    /usr/share/doc/postdesk/copyright /usr/share/man/man1/postdesk-deliver.1.gz \
    /usr/share/man/man1/postdesk-ticket-list.1.gz /usr/share/bash-completion/completions/postdesk \
    /usr/lib/systemd/system/postdesk.service; do
    [ -s "$f" ] || fail "missing $f"
done
grep -q 'GNU AFFERO GENERAL PUBLIC LICENSE' /usr/share/doc/postdesk/copyright || fail "copyright lacks the AGPL"

# The installed configuration, as the daemon's user, from a directory with a postdesk.toml of
# its own (the repository): the installed one is what counts.
as_postdesk() { runuser -u postdesk -- "$@"; }
as_postdesk postdesk check
msg=maildir-fixtures/new/1763700001.M001P1.fixtures
out=$(as_postdesk postdesk deliver --source package-test < "$msg")
echo "$out"
case "$out" in "stored: new ticket "*) ;; *) fail "deliver said: $out" ;; esac
as_postdesk postdesk ticket list | grep -q Support || fail "no ticket in the list"
[ -n "$(find /var/lib/postdesk/store -path '*/new/*' -type f -user postdesk | head -n 1)" ] \
    || fail "no article owned by postdesk in /var/lib/postdesk/store"

# The unit's exposure as systemd rates it (offline: no running systemd needed).
score=$(systemd-analyze security --offline=true /usr/lib/systemd/system/postdesk.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "test-package: systemd-analyze security: ${score:-unknown}"
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure ${score:-unknown} > 2.0"

dpkg --purge postdesk
[ ! -e /usr/bin/postdesk ] || fail "/usr/bin/postdesk left after purge"
[ ! -e /etc/postdesk ] || fail "/etc/postdesk left after purge"
[ -d /var/lib/postdesk/store ] || fail "purge removed the ticket store"
echo "test-package: ok"
