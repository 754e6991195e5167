#!/usr/bin/python3
"""Outgoing-mail benchmark for postdesk: from a message landing in the source Maildir to the SMTP
server accepting its acknowledgement.

An aiosmtpd server runs inside this process (Debian: python3-aiosmtpd; hence /usr/bin/python3)
and timestamps each DATA before it answers 250; the daemon (`postdesk run`, durable, inotify)
watches a Maildir this script writes into (tmp/ then rename into new/, as an MDA does). Both
times come from this process's clock.

  latency     -n 1000 messages, one every --interval seconds (an idle machine: each message
              is filed and answered before the next arrives); p50/p90/p99/max of drop -> 250.
  burst       --burst 2000 messages dropped at once; acknowledgements per second end to end
              (intake + outbox), and the latency distribution under that load.
  outbox      --outbox 2000 acknowledgements queued while the SMTP server is down (`run --once`),
              then `postdesk outbox flush` against the server: mails/s of the sender alone.

Prints one line per phase. Temp dirs are removed unless --keep.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
BINARY = REPO / "target" / "release" / "postdesk"


class Sink:
    def __init__(self):
        self.accepted = {}  # In-Reply-To -> time
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        irt = None
        for line in envelope.original_content.split(b"\r\n"):
            if not line:
                break
            if line.lower().startswith(b"in-reply-to:"):
                irt = line.split(b":", 1)[1].strip().decode()
        with self.lock:
            self.count += 1
            if irt:
                self.accepted[irt] = now
        return "250 2.0.0 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port):
    return f"""[general]
data-dir = "var"
mail-log = "mail.log"
[intake]
rescan-seconds = 30
[outgoing]
transport = "smtp"
[outgoing.smtp]
port = {port}
[autoresponse]
templates = "{REPO / 'templates'}"
per-recipient-per-day = 1000000
circuit-breaker-per-minute = 1000000
[[source]]
name = "in"
maildir = "in"
after = "delete"
[[queue]]
name = "Support"
addresses = ["support@company.example"]
"""


def message(i, tag):
    return (
        f"From: Customer {i} <c{i}@example.org>\r\nTo: support@company.example\r\n"
        f"Subject: Question {i} about my account\r\nMessage-ID: <{tag}.{i}@example.org>\r\n"
        f"Date: Sun, 22 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello,\r\nI have a question about my account number {i}.\r\nRegards\r\n"
    ).encode()


def drop(md, i, tag):
    name = f"{time.time_ns()}.{i}.bench"
    tmp = md / "tmp" / name
    tmp.write_bytes(message(i, tag))
    t = time.time()
    os.rename(tmp, md / "new" / name)
    return f"<{tag}.{i}@example.org>", t


def wait_for(sink, ids, timeout):
    end = time.time() + timeout
    while time.time() < end:
        with sink.lock:
            if all(i in sink.accepted for i in ids):
                return True
        time.sleep(0.005)
    return False


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def summary(name, lat):
    ms = [x * 1000 for x in lat]
    return (f"{name}: n={len(ms)} p50={pct(ms, 50):.1f} ms p90={pct(ms, 90):.1f} ms "
            f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--burst", type=int, default=2000)
    ap.add_argument("--outbox", type=int, default=2000)
    ap.add_argument("--binary", default=str(BINARY))
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pd-bench-out-", dir=a.workdir))
    sink = Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        cfgf = work / "postdesk.toml"
        cfgf.write_text(config(port))
        md = work / "in"
        for d in ("tmp", "new", "cur"):
            (md / d).mkdir(parents=True)
        daemon = subprocess.Popen([a.binary, "--config", str(cfgf), "run"],
                                  stderr=open(work / "daemon.log", "w"))
        try:
            ids = [drop(md, 0, "warm")[0]]
            if not wait_for(sink, ids, 30):
                sys.exit("no acknowledgement for the warm-up message; see " + str(work / "daemon.log"))

            if a.n:
                lat = []
                for i in range(a.n):
                    mid, t0 = drop(md, i, "lat")
                    if not wait_for(sink, [mid], 30):
                        sys.exit(f"message {i} not answered")
                    lat.append(sink.accepted[mid] - t0)
                    time.sleep(a.interval)
                print(summary(f"latency (one message every {a.interval * 1000:.0f} ms)", lat))

            if a.burst:
                t0 = time.time()
                sent = [drop(md, i, "burst") for i in range(a.burst)]
                if not wait_for(sink, [m for m, _ in sent], 600):
                    sys.exit("burst not answered in 600 s")
                last = max(sink.accepted[m] for m, _ in sent)
                print(f"burst: {a.burst} messages dropped at once, all acknowledged in "
                      f"{last - t0:.2f} s = {a.burst / (last - t0):.0f} acks/s end to end")
                print(summary("burst latency", [sink.accepted[m] - t for m, t in sent]))
        finally:
            daemon.terminate()
            daemon.wait()

        if a.outbox:
            dead = free_port()
            cfg2 = work / "outbox.toml"
            (work / "in2" / "new").mkdir(parents=True)
            (work / "in2" / "tmp").mkdir()
            (work / "in2" / "cur").mkdir()
            cfg2.write_text(config(dead).replace('data-dir = "var"', 'data-dir = "var2"').replace('maildir = "in"', 'maildir = "in2"'))
            for i in range(a.outbox):
                drop(work / "in2", i, "ob")
            subprocess.run([a.binary, "--config", str(cfg2), "run", "--once"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            text = cfg2.read_text().replace(f"port = {dead}", f"port = {port}")
            cfg2.write_text(text)
            before = sink.count
            t0 = time.time()
            out = subprocess.run([a.binary, "--config", str(cfg2), "outbox", "flush"], check=True,
                                 capture_output=True, text=True).stdout.strip()
            dt = time.time() - t0
            print(f"outbox: {sink.count - before} queued mails sent by `outbox flush` in {dt:.2f} s "
                  f"= {(sink.count - before) / dt:.0f} mails/s ({out})")
    finally:
        ctl.stop()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    main()
