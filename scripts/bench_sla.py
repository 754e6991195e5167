#!/usr/bin/env python3
"""Service-level round benchmark for postdesk: what one round of the daemon's timer costs with
a large number of open tickets of which few are due.

Creates an index with `postdesk run --once` (which also stores the service levels'
fingerprint), then adds N open tickets (default 1,000,000) straight into it with sqlite3, each
with a stored due time a day ahead, and --due of them (default 10) due now; each due ticket has
an incoming article, so its first-response deadline (1 h, long passed) gives a warning and a
breach. Then times `postdesk run --once` rounds as the daemon runs them: the first acts on the
due tickets (warnings, breaches, notices queued), the next finds nothing due. Prints the
round's own time as postdesk reports it ("service levels: ... in X ms") and the process's wall
time, for N open tickets and, with --compare, for a small index too.

Run after `cargo build --release`. python3 stdlib only; everything lives in a temp dir removed
at the end unless --keep.
"""

import argparse
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFIG = """[general]
data-dir = "var"
durable = false
mail-log = "-"
[outgoing]
transport = "maildir"
[[queue]]
name = "Support"
addresses = ["support@company.example"]
sla = "standard"
[[agent]]
name = "Alice Agent"
address = "alice@company.example"
queues = ["Support"]
[[sla]]
name = "standard"
first-response = "1h"
solution = "40h"
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_once(binary, config):
    t = time.monotonic()
    p = subprocess.run([binary, "--config", str(config), "run", "--once"],
                       capture_output=True, text=True, env={"RUST_LOG": "info"})
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("run --once failed:\n" + p.stderr)
    m = re.search(r"service levels: (\d+) due, (\d+) warning\(s\), (\d+) breach\(es\).* in "
                  r"([0-9.]+) ms", p.stderr)
    if not m:
        sys.exit("no round reported:\n" + p.stderr)
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4)), wall


def fill(index, n, due, now):
    db = sqlite3.connect(index)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 7200))
    rows = (("2026%012d" % i, "Support", "open", "Ticket %d" % i, "c%d@example.org" % i,
             created, created) for i in range(n))
    db.executemany("INSERT INTO tickets(number, queue, state, subject, customer, created, "
                   "updated) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    # The insert trigger marks new open tickets due; as the round would have left them: a day
    # ahead, and `due` of them now, each with the customer's message.
    db.execute("UPDATE tickets SET due_at = ?", (now + 86400,))
    for i in range(due):
        number = "2026%012d" % (i * (n // max(due, 1)))
        db.execute("UPDATE tickets SET due_at = ? WHERE number = ?", (now - 1, number))
        db.execute("INSERT INTO articles(ticket, file, digest, from_addr, to_addrs, cc_addrs, "
                   "subject, received, direction, classification, event, stranger, size, "
                   "attachments, seq) VALUES (?, ?, ?, ?, '', '', 's', ?, 'in', 'normal', "
                   "'created', 0, 1, '[]', 1)",
                   (number, "bench-%d" % i, "digest-%d" % i, "c@example.org", created))
    db.commit()
    db.execute("ANALYZE")
    db.close()


def bench(binary, n, due, keep):
    work = Path(tempfile.mkdtemp(prefix="pd-bench-sla-"))
    try:
        config = work / "postdesk.toml"
        config.write_text(CONFIG)
        shutil.copytree(REPO / "templates", work / "templates")
        run_once(binary, config)
        now = int(time.time())
        t = time.monotonic()
        fill(work / "var" / "index.sqlite", n, due, now)
        log("%d open tickets written in %.1f s" % (n, time.monotonic() - t))
        first = run_once(binary, config)
        second = run_once(binary, config)
        third = run_once(binary, config)
        return first, second, third
    finally:
        if keep:
            log("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--due", type=int, default=10)
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "postdesk"))
    ap.add_argument("--compare", action="store_true",
                    help="also measure an index of --due tickets only")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    sizes = [a.tickets] + ([a.due] if a.compare else [])
    for n in sizes:
        (d1, w1, b1, ms1, wall1), (d2, _, _, ms2, wall2), (_, _, _, ms3, wall3) = \
            bench(a.binary, n, a.due, a.keep)
        print("%9d open, %d due: round %.2f ms (%d warnings, %d breaches; run --once %.2f s); "
              "nothing due: %.2f ms, %.2f ms (run --once %.2f s, %.2f s)"
              % (n, d1, ms1, w1, b1, wall1, ms2, ms3, wall2, wall3))
        if d1 != a.due or w1 != a.due or b1 != a.due:
            sys.exit("expected %d due tickets with a warning and a breach each" % a.due)


if __name__ == "__main__":
    main()
