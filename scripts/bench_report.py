#!/usr/bin/env python3
"""Report benchmark for postdesk: `postdesk report` over a year of N tickets (default 1,000,000).

Builds an index quickly: postdesk creates the schema (`postdesk run --once` on an empty data
dir), then this script inserts tickets and their history with direct SQL, as intake records
them: each ticket is created (with its autoresponse queued and sent), 90 % get an agent's answer
(queued and sent) after minutes to days, 85 % are closed, 4 % of those reopened by a follow-up
and closed again; five queues, 20 agents, 2,000 organisations. About eight history rows per
ticket, and its articles as far as service levels read them: the customer's message and the
agent's answer.

Then runs `postdesk report` for the whole year in each format (--formats, default all four;
--sla gives every queue a service level, so that the report works out each ticket's deadlines),
and prints each run's wall time and peak RSS (of the postdesk process). The target is < 10 s and
< 300 MB for a year of 1,000,000 tickets. Exit 1 if a run fails or misses the target.

Run after `cargo build --release`. python3 stdlib only; everything lives in a temp dir removed
at the end unless --keep (or --dir reuses an index built before).
"""

import argparse
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUEUES = ["Support", "Billing", "Sales", "Phone", "Technik"]
SLA = """
[[calendar]]
name = "office"
time-zone = "Europe/Berlin"
monday = ["08:00-17:00"]
tuesday = ["08:00-17:00"]
wednesday = ["08:00-17:00"]
thursday = ["08:00-17:00"]
friday = ["08:00-17:00"]

[[sla]]
name = "standard"
calendar = "office"
first-response = "4h"
update = "8h"
solution = "40h"
"""


def config(sla):
    """Five queues; with `sla`, each has the service level above (business hours in Berlin)."""
    head = '[general]\ndata-dir = "var"\ndurable = false\n\n[outgoing]\ntransport = "maildir"\n'
    queues = "".join('\n[[queue]]\nname = "%s"\naddresses = ["%s@company.example"]\n%s'
                     % (q, q.lower(), 'sla = "standard"\n' if sla else "") for q in QUEUES)
    return head + (SLA if sla else "") + queues


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def build(folder, n, binary, seed=1):
    (folder / "postdesk.toml").write_text(config(False))
    shutil.copytree(REPO / "templates", folder / "templates")
    subprocess.run([binary, "--config", str(folder / "postdesk.toml"), "run", "--once"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = folder / "var" / "index.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA journal_mode = MEMORY")
    rnd = random.Random(seed)
    year = datetime(2025, 1, 1, tzinfo=timezone.utc)
    span = 365 * 86400
    started = time.perf_counter()
    tickets, history, articles = [], [], []

    def flush():
        con.executemany(
            "INSERT INTO tickets(number, queue, state, subject, customer, created, updated,"
            " organisation) VALUES (?,?,?,?,?,?,?,?)", tickets)
        con.executemany("INSERT INTO history(ticket, at, event, detail) VALUES (?,?,?,?)",
                        history)
        con.executemany(
            "INSERT INTO articles(ticket, file, message_id, digest, from_addr, to_addrs,"
            " cc_addrs, subject, received, direction, classification, event, stranger, size,"
            " attachments, seq) VALUES (?,?,?,?,?,?,'',?,?,?,'normal',?,0,?,'[]',?)", articles)
        tickets.clear()
        history.clear()
        articles.clear()

    def article(number, seq, at, sender, to, direction, event):
        file = "%d.M%sP%d.bench,S=2000" % (int(at.timestamp()), number, seq)
        articles.append((number, file, "<%s.%d@bench.example>" % (number, seq),
                         "%064x" % rnd.getrandbits(256), sender, to,
                         "Question number %d" % i, stamp(at), direction, event, 2000, seq))

    for i in range(n):
        created = year + timedelta(seconds=span * i / n + rnd.random())
        number = "%s1%07d" % (created.strftime("%Y%m%d"), i)
        queue = QUEUES[rnd.randrange(len(QUEUES))]
        customer = "c%d@example.test" % rnd.randrange(200_000)
        c = stamp(created)
        h = [(number, c, "created", "from " + customer),
             (number, c, "autoresponse", "auto-reply to %s queued" % customer),
             (number, stamp(created + timedelta(seconds=2)), "sent", "autoresponse to " + customer)]
        # What the service levels count: the customer's message and an agent's answer.
        article(number, 1, created, customer, "support@company.example", "in", "created")
        state, updated = "open", created
        if rnd.random() < 0.9:
            t = created + timedelta(seconds=int(rnd.expovariate(1 / 14400)) + 60)
            agent = "agent%d@company.example" % rnd.randrange(20)
            h += [(number, stamp(t), "answer", "by " + agent),
                  (number, stamp(t), "answer-queued", "to " + customer),
                  (number, stamp(t + timedelta(seconds=3)), "sent", "answer to " + customer)]
            article(number, 2, t, agent, customer, "agent", "answer")
            updated = t
            if rnd.random() < 0.85 / 0.9:
                t = t + timedelta(seconds=int(rnd.expovariate(1 / 86400)) + 60)
                h.append((number, stamp(t), "closed", "by " + agent))
                state, updated = "closed", t
                if rnd.random() < 0.04:
                    t = t + timedelta(seconds=int(rnd.expovariate(1 / 172800)) + 60)
                    h.append((number, stamp(t), "reopened", "by a follow-up from " + customer))
                    t = t + timedelta(seconds=int(rnd.expovariate(1 / 86400)) + 60)
                    h.append((number, stamp(t), "closed", "by cli"))
                    updated = t
        tickets.append((number, queue, state, "Question number %d" % i, customer, c,
                        stamp(updated), "org%d" % rnd.randrange(2000)))
        history.extend(h)
        if len(tickets) >= 50_000:
            flush()
    flush()
    con.commit()
    # Back to the write-ahead log postdesk keeps its index in.
    con.execute("PRAGMA journal_mode = WAL")
    rows = con.execute("SELECT count(*) FROM history").fetchone()[0]
    rows += con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    return time.perf_counter() - started, rows


def run_report(folder, binary, fmt, out):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    p = subprocess.run([binary, "--config", str(folder / "postdesk.toml"), "report",
                        "--from", "2025-01-01", "--to", "2025-12-31", "--format", fmt,
                        "--out", str(out)], capture_output=True, text=True)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
    # ru_maxrss of the children is the largest of any; earlier runs were smaller or equal.
    return p.returncode, took, max(peak, before) / 1024, out.stat().st_size if out.exists() else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "postdesk"))
    ap.add_argument("--formats", default="json,csv,html,pdf")
    ap.add_argument("--dir", help="build the index here, or reuse the one built here before")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--sla", action="store_true",
                    help="give every queue a service level, so reports work out every ticket's "
                         "deadlines (the compliance section)")
    args = ap.parse_args()
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="pd-bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        if not (folder / "var" / "index.sqlite").exists():
            took, rows = build(folder, args.tickets, args.binary)
            size = (folder / "var" / "index.sqlite").stat().st_size
            print("index: %d tickets, %d history and article rows, %.0f MB, built in %.1f s"
                  % (args.tickets, rows, size / 1e6, took))
        (folder / "postdesk.toml").write_text(config(args.sla))
        for fmt in args.formats.split(","):
            # Each run in a process of its own, so that the peak RSS is this run's.
            code = subprocess.run(
                [sys.executable, __file__, "--one", fmt, str(folder), args.binary],
                capture_output=True, text=True)
            print(code.stdout.strip())
            if code.returncode != 0:
                print(code.stderr.strip(), file=sys.stderr)
                ok = False
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


def one(fmt, folder, binary):
    folder = Path(folder)
    out = folder / ("report." + fmt)
    code, took, peak, size = run_report(folder, binary, fmt, out)
    print("report --format %-4s  %6.2f s  peak RSS %5.0f MB  %8d bytes%s"
          % (fmt, took, peak, size, "" if code == 0 else "  FAILED (exit %d)" % code))
    sys.exit(0 if code == 0 and took < 10 and peak < 300 else 1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
