#!/usr/bin/env bash
# README "Install (Debian 12)" on this machine, as a newcomer follows it: runs the section's ```sh
# blocks as they stand on Debian's stock Postfix and Dovecot, sends one mail by SMTP that Postfix
# hands to postdesk by LMTP and one by its pipe (their acknowledgements go back to Postfix), logs
# in to Dovecot as the agent, reads the ticket, closes and reopens it and checks that its
# UIDVALIDITY stays and nothing is unread again;
# then purges the package. Needs root on Debian 12 (scripts/install-test-deps.sh installed Postfix
# and Dovecot). /etc/postfix, /etc/dovecot and what Debian's postfix configuration writes are put
# back as they were, also when a step fails. Without systemd (a container), `systemctl` in the
# README's blocks starts the services as their units would: postdesk as its user with the one
# capability the unit grants, Postfix and Dovecot by their own commands.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
say() { echo "test-install: $*"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root"
if dpkg-query -W -f='${Status}' postdesk 2>/dev/null | grep -q 'install ok installed'; then
    fail "postdesk is installed on this machine; not replacing it"
fi
systemd=no
[ -d /run/systemd/system ] && systemd=yes
if [ "$systemd" = no ]; then
    # The services are ours to start and stop: nothing may be running on their ports.
    for port in 24 25 143 993; do
        if ss -Hltn "sport = :$port" | grep -q .; then fail "port $port is in use"; fi
    done
fi

work=$(mktemp -d /tmp/pd-install.XXXXXX)
chmod 755 "$work"
# What the README's steps change outside the package, kept to be put back.
saved=(/etc/postfix /etc/dovecot /etc/mailname /etc/aliases /etc/aliases.db)
present=()
for f in "${saved[@]}"; do [ -e "$f" ] && present+=("${f#/}"); done
tar -C / -cpf "$work/etc.tar" "${present[@]}"
mailer_type=$(debconf-show postfix 2>/dev/null | sed -n 's/^[* ] postfix\/main_mailer_type: //p')
was_active=()
if [ "$systemd" = yes ]; then
    for s in postfix dovecot; do systemctl -q is-active "$s" && was_active+=("$s"); done
fi

restore() {
    status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        echo "--- postdesk daemon log" >&2
        cat "$work/daemon.log" 2>/dev/null >&2
        [ "$systemd" = yes ] && journalctl -u postdesk --no-pager -n 50 >&2
        echo "--- postfix queue" >&2
        postqueue -p >&2
        echo "--- dovecot errors" >&2
        doveadm log errors >&2
    fi
    if [ "$systemd" = yes ]; then
        systemctl stop postdesk
    elif [ -s "$work/postdesk.pid" ]; then
        kill "$(cat "$work/postdesk.pid")" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$(cat "$work/postdesk.pid")" 2>/dev/null || break; sleep 0.1; done
    fi
    # Mail postdesk sent (acknowledgements to the test's customer) must not stay queued.
    postsuper -d ALL >/dev/null 2>&1
    if [ "$systemd" = no ]; then
        postfix status >/dev/null 2>&1 && postfix stop
        if [ -s /run/dovecot/master.pid ]; then
            doveadm stop
            for _ in $(seq 100); do [ -e /run/dovecot/master.pid ] || break; sleep 0.1; done
        fi
    fi
    dpkg --purge postdesk >/dev/null 2>&1
    rm -rf /var/lib/postdesk
    for f in "${saved[@]}"; do rm -rf "$f"; done
    tar -C / -xpf "$work/etc.tar"
    if [ -n "$mailer_type" ]; then
        echo "postfix postfix/main_mailer_type select $mailer_type" | debconf-set-selections
    fi
    if [ "$systemd" = yes ]; then
        for s in postfix dovecot; do
            if [[ " ${was_active[*]} " == *" $s "* ]]; then systemctl restart "$s"; else systemctl stop "$s"; fi
        done
    fi
    rm -rf "$work"
    [ "$status" -eq 0 ] && say ok
    exit "$status"
}
trap restore EXIT

if [ "$systemd" = no ]; then
    # What the units would do, for the README's `systemctl` lines.
    mkdir "$work/bin"
    cat >"$work/bin/systemctl" <<EOF
#!/usr/bin/env bash
set -euo pipefail
work=$work
EOF
    cat >>"$work/bin/systemctl" <<'EOF'
verb=$1; shift
if [ "$verb" = enable ]; then
    [ "${1:-}" = --now ] || exit 0
    shift; verb=start
fi
for unit in "$@"; do
    case "$verb:${unit%.service}" in
    start:postdesk|restart:postdesk)
        # postdesk.service: its user, CAP_NET_BIND_SERVICE for port 24, ExecStartPre's check.
        as() { setpriv --reuid=postdesk --regid=postdesk --init-groups \
            --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- "$@"; }
        [ -s "$work/postdesk.pid" ] && kill "$(cat "$work/postdesk.pid")" && sleep 1
        as /usr/bin/postdesk --config /etc/postdesk/postdesk.toml check
        (umask 0027; cd /; exec setpriv --reuid=postdesk --regid=postdesk --init-groups \
            --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- \
            /usr/bin/postdesk --config /etc/postdesk/postdesk.toml --data-dir /var/lib/postdesk run \
            >>"$work/daemon.log" 2>&1 </dev/null) &
        echo $! >"$work/postdesk.pid" ;;
    stop:postdesk)
        pid=$(cat "$work/postdesk.pid")
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        ! kill -0 "$pid" 2>/dev/null && rm "$work/postdesk.pid" ;;
    reload:postdesk) kill -HUP "$(cat "$work/postdesk.pid")" ;;
    start:postfix|restart:postfix|reload:postfix)
        /usr/lib/postfix/configure-instance.sh -
        if postfix status >/dev/null 2>&1; then postfix reload; else postfix start; fi ;;
    start:dovecot|restart:dovecot|reload:dovecot)
        if [ -s /run/dovecot/master.pid ]; then doveadm reload; else dovecot -c /etc/dovecot/dovecot.conf; fi ;;
    *) echo "systemctl (test-install): $verb $unit is not known here" >&2; exit 1 ;;
    esac
done
EOF
    chmod 755 "$work/bin/systemctl"
    export PATH="$work/bin:$PATH"
fi

# The README's install section, its ```sh blocks in order.
awk -v dir="$work" '
    /^## / { inside = ($0 == "## Install (Debian 12)") }
    inside && /^```sh$/ { n++; out = dir "/step" n ".sh"; next }
    out && /^```$/ { close(out); out = ""; next }
    out { print > out }
' README.md
steps=$(ls "$work"/step*.sh 2>/dev/null | wc -l)
[ "$steps" -eq 5 ] || fail "README's install section has $steps sh blocks, expected 5"
step() {
    say "README step $1"
    sed 's/^/  | /' "$work/step$1.sh"
    (cd "$repo" && bash -euo pipefail "$work/step$1.sh") || fail "README step $1"
}

as_postdesk() { runuser -u postdesk -- "$@"; }
wait_port() {
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    fail "nothing listens on 127.0.0.1:$1"
}
# Sends a customer's mail by SMTP to the system Postfix and waits for ticket number N to exist.
send_and_wait() {
    python3 - "$1" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "customer@example.org"
m["To"] = "support@company.example"
m["Subject"] = sys.argv[1]
m["Message-ID"] = "<%s@example.org>" % sys.argv[1].replace(" ", "-")
m.set_content("Hello,\n\nplease help.\n")
with smtplib.SMTP("127.0.0.1", 25, timeout=30) as s:
    s.send_message(m)
PY
    for _ in $(seq 300); do
        if as_postdesk postdesk ticket list --json | python3 -c '
import json, sys
sys.exit(0 if any(t.get("subject") == sys.argv[1] for t in json.load(sys.stdin)) else 1)' "$1"; then
            return 0
        fi
        sleep 0.2
    done
    fail "no ticket for \"$1\""
}

# EXPR, a Python expression over `t`, the ticket with this subject (`ticket show --json`).
ticket_field() {
    local n
    n=$(as_postdesk postdesk ticket list --json | python3 -c '
import json, sys
print(next(t["number"] for t in json.load(sys.stdin) if t["subject"] == sys.argv[1]))' "$1")
    as_postdesk postdesk ticket show --json "$n" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}

step 1                      # Postfix, Dovecot, the package
step 2                      # postdesk: agent, LMTP; daemon started
wait_port 24
step 3                      # Postfix hands support@ to postdesk by LMTP
wait_port 25
send_and_wait "Printer on fire"
step 4                      # by pipe instead
send_and_wait "Scanner jammed"
# Each article names its way in (X-Postdesk-Source): the daemon's LMTP, the pipe's --source.
for s in "Printer on fire:lmtp" "Scanner jammed:postfix"; do
    path=$(ticket_field "${s%%:*}" 't["articles"][0]["path"]')
    grep -qE "^X-Postdesk-Source: ${s##*:}(/|$)" "$path" || fail "\"${s%%:*}\" did not come by ${s##*:}: $(head -n 12 "$path")"
done
# The acknowledgements left through Postfix on 127.0.0.1:25 (the package's [outgoing]).
for _ in $(seq 150); do
    sent=$(as_postdesk postdesk outbox list --json | python3 -c '
import json, sys
print(sum(1 for m in json.load(sys.stdin) if m["state"] == "sent"))')
    [ "$sent" -ge 2 ] && break
    sleep 0.2
done
[ "$sent" -ge 2 ] || fail "Postfix took $sent acknowledgements of 2: $(as_postdesk postdesk outbox list)"
say "acknowledgements handed to Postfix: $sent"
step 5                      # Dovecot serves the tickets
wait_port 143

number=$(ticket_field "Printer on fire" 't["number"]')
say "ticket $number: agent reads it, close, reopen"
# The agent, as README step 2 set them up, reads everything in the ticket's folder; prints
# UIDVALIDITY and the UIDs, or checks them against earlier ones, and that nothing is unseen.
imap() {
    python3 - "$@" <<'PY'
import imaplib, re, sys
folder, mode = sys.argv[1], sys.argv[2]
c = imaplib.IMAP4("127.0.0.1", 143)
c.login("alice@company.example", "agent-password")
typ, _ = c.select('"%s"' % folder)
assert typ == "OK", "SELECT %s: %s" % (folder, _)
uidvalidity = c.response("UIDVALIDITY")[1][0].decode()
uids = c.uid("SEARCH", "ALL")[1][0].decode().split()
assert uids, "no messages in " + folder
unseen = c.uid("SEARCH", "UNSEEN")[1][0].decode().split()
if mode == "read":
    c.uid("FETCH", ",".join(uids), "(BODY[])")
elif unseen:
    sys.exit("unseen again in %s: %s" % (folder, unseen))
c.logout()
print(uidvalidity, " ".join(uids))
PY
}
folder="Tickets/Support/$number"
before=$(imap "$folder" read) || fail "agent cannot read $folder"
say "  $folder: UIDVALIDITY and UIDs $before"
closed=$(as_postdesk postdesk ticket close "$number" | sed -n 's/.* now //p')
[ "$(ticket_field "Printer on fire" 't["state"]')" = closed ] || fail "ticket $number is not closed"
# In the archive the agent still finds it read, under the same UIDVALIDITY.
in_archive=$(imap "$closed" check) || fail "in the archive: $in_archive"
[ "$before" = "$in_archive" ] || fail "in the archive ($closed): $in_archive, before: $before"
say "  closed: $closed, same UIDVALIDITY and UIDs, nothing unseen"
as_postdesk postdesk ticket reopen "$number"
after=$(imap "$folder" check) || fail "after close and reopen: $after"
[ "$before" = "$after" ] || fail "after close and reopen: $after, before: $before"
say "  reopened: same UIDVALIDITY and UIDs, nothing unseen"

# The unit's exposure as systemd rates it (offline: no running systemd needed).
score=$(systemd-analyze security --offline=true /usr/lib/systemd/system/postdesk.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
say "systemd-analyze security: ${score:-unknown}"
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure ${score:-unknown} > 2.0"

systemctl stop postdesk
dpkg --purge postdesk
[ ! -e /usr/bin/postdesk ] || fail "/usr/bin/postdesk left after purge"
[ ! -e /etc/postdesk ] || fail "/etc/postdesk left after purge"
