#!/usr/bin/env python3
"""Two nodes against one: intake on PostgreSQL with one node or two nodes at once.

The workload of scripts/bench.py (requests, follow-ups threaded to them, some attachments), N
messages (default 10,000), split over two Maildirs by thread: a request and its follow-ups land
in the same Maildir, threads alternating between the two, so each Maildir holds about half.
Every case files them into a fresh data directory and a fresh database on one PostgreSQL 15
server (initdb under --workdir, its durability defaults), with `durable = true`:

  one      one node:   run --once --maildir md1 --maildir md2
  apart    two nodes (`[general] node` a and b, one data directory, one database) at once:
           a runs --once --maildir md1, b --maildir md2 (each Maildir has one reader)
  shared   two nodes at once, each draining both Maildirs, a md1 then md2, b md2 then md1:
           as two nodes that both watch every source (claims by rename keep them apart);
           each starts on its own half and helps with the other's rest

`apart` is the best two nodes can do on this workload; `shared` is how a site that wants
either node to carry every source configures them, and pays for the nodes meeting on the same
Maildir at the end. Both nodes of a case start together; the wall time runs from their start
to the end of the later one.

Measured per case: wall time, messages/s, CPU seconds of the postdesk processes (wait4 of each)
and of the PostgreSQL server (its postmaster's own and reaped children's time from /proc, plus
its live backends), both per message, and the other load on the machine meanwhile (busy CPU
time not spent by postdesk or PostgreSQL, in CPUs). Verified: the summary lines add up to N
messages, nothing failed, quarantined or counted as a duplicate, the index holds N articles
with N distinct Message-IDs, both Maildirs are empty, and no outbox mail is left queued. How
many were filed as requests and how many as follow-ups is shown: two nodes on one Maildir may
file a follow-up before the other node committed its request, which then opens a ticket.

Cases alternate within a round, the order turned each round (--rounds, default 2), after an
unmeasured warm-up (one node, 500 messages) on the fresh server. python3 stdlib only; imports
scripts/bench.py.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

CASES = ("one", "apart", "shared")


def header(raw, name):
    """A header's value from the head of a raw message (first line only), or None."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    m = re.search(rb"(?im)^" + name.encode() + rb":[ \t]*(.*)$", head)
    return m.group(1).strip().decode(errors="replace") if m else None


def split_by_thread(gen, dirs):
    """Moves the messages of Maildir `gen` into the Maildirs `dirs`, each thread (a request
    and what replies to it) into one of them, threads taking turns; returns the counts."""
    roots, counts, turn = {}, [0] * len(dirs), 0
    for d in dirs:
        bench.maildir(d)
    for name in sorted(os.listdir(gen / "new")):
        raw = (gen / "new" / name).read_bytes()
        mid = header(raw, "Message-ID")
        parent = header(raw, "In-Reply-To")
        if parent and parent in roots:
            k = roots[parent]
        else:
            k, turn = turn, (turn + 1) % len(dirs)
        roots[mid] = k
        os.rename(gen / "new" / name, dirs[k] / "new" / name)
        counts[k] += 1
    return counts


def proc_cpu(pid):
    """(own CPU seconds, reaped children's CPU seconds) of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick


def postgres_cpu(pg):
    """CPU seconds the PostgreSQL server has used so far: the postmaster, what it reaped
    (backends that ended), and its live children."""
    pid = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    own, reaped = proc_cpu(pid)
    live = 0.0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                live += proc_cpu(int(p))[0]
        except (OSError, ValueError, IndexError):
            pass
    return own + reaped + live


def psql(pg, url, sql):
    db = url.rsplit("/", 1)[1]
    return subprocess.run(["psql", "-q", "-At", "-h", str(pg.dir / "sock"), "-p", str(pg.port),
                           "-U", "postgres", "-d", db, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


class Case:
    def __init__(self, args, pg, kind, round_):
        self.args, self.pg, self.kind = args, pg, kind
        self.dir = Path(tempfile.mkdtemp(prefix="postdesk-nodes-%s-%d-" % (kind, round_),
                                         dir=args.workdir))
        self.url = pg.database()
        text = bench.config() + '\n[index]\nbackend = "postgres"\nurl = "%s"\n' % self.url
        for node in "ab":
            (self.dir / ("node-%s.toml" % node)).write_text(
                text.replace("[general]\n", '[general]\nnode = "%s"\n' % node, 1))

    def generate(self):
        a = self.args
        t0 = time.perf_counter()
        counts = bench.gen_workload(self.dir / "gen", a.messages, a.seed, a.followup_ratio,
                                    a.attach_ratio)
        self.md = [self.dir / "md1", self.dir / "md2"]
        halves = split_by_thread(self.dir / "gen", self.md)
        shutil.rmtree(self.dir / "gen")
        counts["halves"] = halves
        bench.log("  generated %d messages (%d requests, %d follow-ups, %.0f MB), %d + %d by "
                  "thread, in %.1f s" % (counts["messages"], counts["originals"],
                                         counts["follow_ups"], counts["bytes"] / 1e6,
                                         halves[0], halves[1], time.perf_counter() - t0))
        return counts

    def commands(self):
        md1, md2 = (str(m) for m in self.md)
        runs = {"one": [("a", [md1, md2])],
                "apart": [("a", [md1]), ("b", [md2])],
                "shared": [("a", [md1, md2]), ("b", [md2, md1])]}[self.kind]
        out = []
        for node, dirs in runs:
            cmd = [str(self.args.binary), "--config", str(self.dir / ("node-%s.toml" % node)),
                   "--data-dir", str(self.dir / "data"), "run", "--once"]
            for d in dirs:
                cmd += ["--maildir", d]
            out.append((node, cmd + ["--after", "delete"]))
        return out

    def run(self, counts):
        os.sync()
        busy0, pg0 = bench.busy_cpu_seconds(), postgres_cpu(self.pg)
        t0 = time.perf_counter()
        procs = []
        for node, cmd in self.commands():
            so = open(self.dir / ("%s.stdout" % node), "wb")
            se = open(self.dir / ("%s.stderr" % node), "wb")
            procs.append((node, subprocess.Popen(cmd, stdout=so, stderr=se), so, se))
        cpu, ends = 0.0, {}
        for node, p, so, se in procs:
            _, status, ru = os.wait4(p.pid, 0)
            ends[node] = time.perf_counter() - t0
            so.close()
            se.close()
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                raise bench.Mismatch("%s node %s exited %d: %s" % (
                    self.kind, node, code,
                    (self.dir / ("%s.stderr" % node)).read_text(errors="replace")[-3000:]))
            cpu += ru.ru_utime + ru.ru_stime
        wall = time.perf_counter() - t0
        pg_cpu = postgres_cpu(self.pg) - pg0
        others = max(0.0, bench.busy_cpu_seconds() - busy0 - cpu - pg_cpu) / wall
        summaries = {}
        for node, _, _, _ in procs:
            out = (self.dir / ("%s.stdout" % node)).read_text(errors="replace")
            m = bench.SUMMARY_RE.search(out)
            if not m:
                raise bench.Mismatch("%s node %s: no summary line: %s" % (self.kind, node, out))
            summaries[node] = dict(zip(("processed", "new", "follow_ups", "duplicates",
                                        "quarantined", "failed"), map(int, m.groups())))
        total = {k: sum(s[k] for s in summaries.values()) for k in summaries["a"]}
        n = counts["messages"]
        bad = []
        if total["processed"] != n:
            bad.append("processed %d" % total["processed"])
        for k in ("duplicates", "quarantined", "failed"):
            if total[k]:
                bad.append("%s %d" % (k, total[k]))
        rows = psql(self.pg, self.url,
                    "SELECT count(*), count(DISTINCT message_id) FROM articles "
                    "WHERE direction = 'in'").split("|")
        if rows != [str(n), str(n)]:
            bad.append("articles in the index (all, distinct Message-IDs): %s" % rows)
        queued = int(psql(self.pg, self.url,
                          "SELECT count(*) FROM outbox WHERE state = 'queued'"))
        if queued:
            bad.append("%d outbox mail(s) still queued" % queued)
        left = sum(len(os.listdir(m / "new")) for m in self.md)
        if left:
            bad.append("%d message(s) left in the Maildirs" % left)
        if bad:
            raise bench.Mismatch("MISMATCH in %s: %s" % (self.kind, "; ".join(bad)))
        return {"case": self.kind, "n": n, "wall": wall, "ends": ends, "cpu": cpu,
                "pg_cpu": pg_cpu, "others": others, "summaries": summaries, "total": total,
                "counts": counts}


def line(r):
    n = r["n"]
    t = r["total"]
    return ("%-6s wall %6.1f s, %5.0f msg/s, CPU ms/msg postdesk %.2f + PostgreSQL %.2f; "
            "other load %.2f CPUs; filed %d requests + %d follow-ups; ends %s"
            % (r["case"], r["wall"], n / r["wall"], r["cpu"] * 1000 / n, r["pg_cpu"] * 1000 / n,
               r["others"], t["new"], t["follow_ups"],
               ", ".join("%s %.1f s" % kv for kv in sorted(r["ends"].items()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-n", "--messages", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES), help="of %s" % ", ".join(CASES))
    ap.add_argument("--followup-ratio", type=float, default=0.3)
    ap.add_argument("--attach-ratio", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--binary", default=str(bench.DEFAULT_BINARY))
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--keep", action="store_true", help="keep the cases' directories")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    a = ap.parse_args()
    a.binary = Path(a.binary).resolve()
    cases = a.cases.split(",")
    if not set(cases) <= set(CASES):
        ap.error("--cases: of %s" % ", ".join(CASES))
    bench.log(bench.machine(a.workdir, a.binary))
    pg = bench.PgServer(Path(a.workdir))
    results, dirs = [], []
    try:
        bench.log("warm-up (not measured):")
        warm = argparse.Namespace(**vars(a))
        warm.messages = min(500, a.messages)
        c = Case(warm, pg, "one", 0)
        dirs.append(c.dir)
        c.run(c.generate())
        for rnd in range(a.rounds):
            order = cases if rnd % 2 == 0 else cases[::-1]
            for kind in order:
                bench.log("round %d, %s:" % (rnd + 1, kind))
                c = Case(a, pg, kind, rnd + 1)
                dirs.append(c.dir)
                counts = c.generate()
                r = c.run(counts)
                r["round"] = rnd + 1
                results.append(r)
                bench.log("  " + line(r))
    except bench.Mismatch as e:
        bench.log(str(e))
        return 1
    finally:
        pg.stop()
        if a.keep:
            bench.log("kept %s" % ", ".join(map(str, dirs)))
        else:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
    print("| round | case | wall s | msg/s | postdesk CPU ms/msg | PostgreSQL CPU ms/msg | "
          "other load (CPUs) | requests + follow-ups |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        n = r["n"]
        print("| %d | %s | %.1f | %.0f | %.2f | %.2f | %.2f | %d + %d |"
              % (r["round"], r["case"], r["wall"], n / r["wall"], r["cpu"] * 1000 / n,
                 r["pg_cpu"] * 1000 / n, r["others"], r["total"]["new"],
                 r["total"]["follow_ups"]))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
