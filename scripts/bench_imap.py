#!/usr/bin/env python3
"""IMAP intake benchmark for postdesk against a Dovecot on loopback (root; Debian's dovecot-imapd).

Starts Dovecot with one user (its INBOX is the source), then for each mode (IDLE, polling every
--poll seconds):
  throughput  -n messages appended while no postdesk runs, then the daemon started: messages/s
              from start until the last one is in the mail log (fetch, file, commit, move to
              Processed);
  latency     --latency messages appended one by one, --interval apart, while the daemon runs:
              from the APPEND's OK to the message's line in the mail log (p50, p99).
Mail-log times come from postdesk's own clock (millisecond timestamps), the APPEND times from
this script's: the same machine's clock.

python3 stdlib only.
"""

import argparse
import datetime
import imaplib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dovecot(d):
    port = free_port()
    for sub in ("run", "state", "mail", "home"):
        (d / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(d / sub, 65534, 65534)
    (d / "users").write_text("bench:{PLAIN}pw::::::\n")
    conf = d / "dovecot.conf"
    conf.write_text(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
mail_location = maildir:{d}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
  default_fields = uid=65534 gid=65534 home={d}/home/%u
}}
""")
    p = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return p, port
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("dovecot did not start")


def message(i, tag):
    return (f"From: Customer {i} <c{i}@example.org>\r\nTo: support@company.example\r\n"
            f"Subject: {tag} question {i}\r\nMessage-ID: <{tag}.{i}@example.org>\r\n"
            f"Date: Sun, 22 Nov 2026 10:00:00 +0100\r\n\r\nHello, question {i}.\r\n").encode()


CONFIG = """[general]
data-dir = "var"
[intake]
rescan-seconds = 3600
[autoresponse]
templates = "{repo}/templates"
[filters]
dir = "{repo}/filters"
[[imap]]
name = "mbox"
host = "127.0.0.1"
port = {port}
tls = "none"
user = "bench"
password-env = "BENCH_PW"
idle = {idle}
poll-seconds = {poll}
[[queue]]
name = "Support"
addresses = ["support@company.example"]
[[queue]]
name = "Junk"
"""

LINE = re.compile(r"^(\S+) msgid=<([^>]+)>")


def logged(mail_log):
    out = {}
    if mail_log.exists():
        for line in mail_log.read_text().splitlines():
            m = LINE.match(line)
            if m:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
                out[m.group(2)] = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return out


def wait_logged(mail_log, ids, timeout):
    end = time.time() + timeout
    while time.time() < end:
        got = logged(mail_log)
        if all(i in got for i in ids):
            return got
        time.sleep(0.05)
    sys.exit(f"not all filed within {timeout} s")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_mode(binary, work, port, idle, poll, n, lat_n, interval):
    name = "idle" if idle else f"poll{poll}"
    case = work / name
    case.mkdir()
    (case / "postdesk.toml").write_text(CONFIG.format(repo=REPO, port=port, idle=str(idle).lower(),
                                                       poll=poll))
    env = dict(os.environ, BENCH_PW="pw")
    M = imaplib.IMAP4("127.0.0.1", port)
    M.login("bench", "pw")
    ids = []
    for i in range(n):
        M.append("INBOX", None, None, message(i, name))
        ids.append(f"{name}.{i}@example.org")
    mail_log = case / "var" / "mail.log"
    t0 = time.time()
    d = subprocess.Popen([binary, "--config", str(case / "postdesk.toml"), "run"], env=env,
                         stdout=subprocess.DEVNULL, stderr=open(case / "daemon.log", "w"))
    try:
        got = wait_logged(mail_log, ids, 600)
        last = max(got[i] for i in ids)
        print(f"{name}: {n} messages waiting at start, all filed in {last - t0:.2f} s = "
              f"{n / (last - t0):.0f} msg/s (daemon start included)", flush=True)
        lats = []
        for i in range(lat_n):
            mid = f"{name}-lat.{i}@example.org"
            M.append("INBOX", None, None, message(i, f"{name}-lat"))
            t = time.time()
            got = wait_logged(mail_log, [mid], 60)
            lats.append(got[mid] - t)
            time.sleep(interval)
        ms = [x * 1000 for x in lats]
        print(f"{name}: APPEND -> filed, {lat_n} messages one every {interval * 1000:.0f} ms: "
              f"p50 {pct(ms, 50):.0f} ms, p99 {pct(ms, 99):.0f} ms, max {max(ms):.0f} ms", flush=True)
    finally:
        d.terminate()
        d.wait()
        M.logout()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--latency", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--poll", type=int, default=5)
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "postdesk"))
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pd-bench-imap-", dir=a.workdir))
    os.chmod(work, 0o755)
    dv = None
    try:
        (work / "dovecot").mkdir()
        dv, port = start_dovecot(work / "dovecot")
        run_mode(a.binary, work, port, True, a.poll, a.n, a.latency, a.interval)
        run_mode(a.binary, work, port, False, a.poll, a.n, a.latency, a.interval)
    finally:
        if dv:
            dv.terminate()
            dv.wait()
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
