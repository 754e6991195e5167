#!/usr/bin/env python3
"""Directory benchmark: a directory file of 1,000,000 persons and 100,000 organisations.

    scripts/bench_directory.py [--binary target/release/postdesk] [--persons 1000000]
                               [--organisations 100000] [--lookups 20000] [-n 5000] [--reps 2]

Measures, each in a fresh temp dir:

1. `postdesk directory sync`: the time and peak RSS of copying the file into the index.
2. `postdesk directory lookup --stdin` over --lookups terms (half persons' addresses in random
   case, a quarter persons' numbers in the ways people write them, a quarter addresses of
   organisations' mail domains), which times each lookup inside the process: p50, p99, max.
   Every term must be found.
3. Intake: bench.py's workload (-n messages, 30 % follow-ups, 10 % with an attachment) drained
   with `run --once` into a data dir without a directory and into one holding the synced
   directory (its persons include the workload's customers, so every new ticket is
   attributed), --reps times each, alternating; the best run of each is compared (msg/s and
   user CPU seconds per 1,000 messages). With --instructions N, also N messages each under
   callgrind: instructions do not move with the machine's load the way times do.

Exits 1 when a lookup finds nothing, a run does not take every message, or (with --check) a
lookup p99 is 1 ms or more or intake with the directory is more than 5 % slower in CPU time.
python3 stdlib only; everything is removed at the end unless --keep.
"""

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench", HERE / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

DIRECTORY_CONFIG = """
[directory]
file = "directory.toml"
country-code = "49"
area-code = "541"
"""


def directory_config(case):
    """[directory] naming the one file by its full path: every data dir copied from the synced
    one then finds its copy current (same size, inode and change time), as a daemon does."""
    return DIRECTORY_CONFIG.replace('"directory.toml"', '"%s"' % (case / "directory.toml"))


def config_for(case):
    return bench.config() + directory_config(case)


def person_number(i):
    """A person's phone number as the file writes it (E.164 +49541 2000000 + i)."""
    return "+49 541 %d" % (2000000 + i)


def write_directory(path, persons, organisations, customers):
    """The file: one service, `organisations` organisations (every tenth with an instance),
    `persons` persons, the first of them the workload's customers."""
    with open(path, "w", buffering=1 << 20) as f:
        f.write('[[service]]\nname = "Online"\nhotline = ["0800 123456"]\n\n')
        for k in range(organisations):
            f.write('[[organisation]]\nid = "o%d"\nname = "Organisation %d"\n'
                    'domains = ["org%d.example"]\nphone = ["+49 30 5%06d"]\n' % (k, k, k, k))
            if k % 10 == 0:
                f.write('service = [{ service = "Online", sla = "gold" }]\n')
            f.write("\n")
        for i in range(persons):
            if i < len(customers):
                name, mail = customers[i]
                first, _, last = name.partition(" ")
            else:
                first, last, mail = "P%d" % i, "Person", "p%d@org%d.example" % (i, i % organisations)
            f.write('[[person]]\nfirst-name = "%s"\nlast-name = "%s"\nmail = ["%s"]\n'
                    'phone = ["%s"]\norganisations = ["o%d"]\n\n'
                    % (first, last, mail, person_number(i), i % organisations))
    return path.stat().st_size


def written(i, rng):
    """Person i's number as someone might type it."""
    local = str(2000000 + i)
    return rng.choice([
        "0541 %s" % local,
        "+49 (0)541 %s-%s" % (local[:4], local[4:]),
        "(0541) %s" % local,
        "0049 541 %s" % local,
        local,
    ])


def timed(cmd, stdin=None):
    """Runs cmd; returns (wall seconds, peak RSS MiB, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch = bench.PeakWatcher(p.pid)
    out, err = p.communicate(stdin)
    watch.stop()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd[-3:]), p.returncode, err.decode()[-2000:]))
    return wall, watch.peak_kib / 1024, out


def intake(binary, case, data_from, maildir, label):
    """Drains a copy of `maildir` into a data dir copied from `data_from` (or a new one)."""
    d = case / label
    d.mkdir()
    (d / "postdesk.toml").write_text(config_for(case))
    if data_from:
        shutil.copytree(data_from, d / "data")
    shutil.copytree(maildir, d / "md")
    if not data_from:
        # The same configuration without the directory.
        text = (d / "postdesk.toml").read_text().replace(directory_config(case), "")
        (d / "postdesk.toml").write_text(text)
    subprocess.run(["sync"], check=True)
    return bench.run_postdesk(binary, d, d / "md", label)


def instructions(binary, case, data_from, maildir, label):
    """Instructions of `run --once` under callgrind (exact, unlike times on a shared machine)."""
    d = case / label
    d.mkdir()
    text = config_for(case)
    if not data_from:
        text = text.replace(directory_config(case), "")
    (d / "postdesk.toml").write_text(text)
    if data_from:
        shutil.copytree(data_from, d / "data")
    shutil.copytree(maildir, d / "md")
    out = d / "callgrind.out"
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out, str(binary),
         "--config", str(d / "postdesk.toml"), "--data-dir", str(d / "data"),
         "run", "--once", "--maildir", str(d / "md"), "--after", "delete"],
        capture_output=True, text=True)
    total = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
    if run.returncode != 0 or not total:
        sys.exit("%s: callgrind run failed: %s" % (label, run.stderr[-2000:]))
    return int(total.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--binary", default=str(bench.DEFAULT_BINARY))
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--organisations", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=20_000)
    ap.add_argument("-n", "--messages", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--instructions", type=int, metavar="N", default=0,
                    help="also count intake's instructions under callgrind for N messages")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when lookup p99 >= 1 ms or intake CPU grows more than 5 %%")
    a = ap.parse_args()
    binary = Path(a.binary).resolve()
    case = Path(tempfile.mkdtemp(prefix="postdesk-dir-", dir=a.workdir))
    failed, slow = [], []
    try:
        gen = bench.Generator(a.seed)
        t = time.perf_counter()
        size = write_directory(case / "directory.toml", a.persons, a.organisations,
                               gen.customers)
        print("directory file: %d persons, %d organisations, %.0f MB (written in %.1f s)"
              % (a.persons, a.organisations, size / 1e6, time.perf_counter() - t))
        (case / "postdesk.toml").write_text(config_for(case))
        base = [str(binary), "--config", str(case / "postdesk.toml"), "--data-dir",
                str(case / "data")]

        wall, rss, out = timed(base + ["directory", "sync"])
        print("directory sync: %.1f s, peak RSS %.0f MiB (%s)"
              % (wall, rss, out.decode().strip()))
        wall, rss, out = timed(base + ["directory", "sync"])
        print("directory sync again, file unchanged: %.3f s" % wall)

        rng = random.Random(a.seed)
        terms = []
        for _ in range(a.lookups):
            kind = rng.random()
            i = rng.randrange(a.persons)
            if kind < 0.5:
                mail = (gen.customers[i][1] if i < len(gen.customers)
                        else "p%d@org%d.example" % (i, i % a.organisations))
                terms.append("".join(c.upper() if rng.random() < 0.2 else c for c in mail))
            elif kind < 0.75:
                terms.append(written(i, rng))
            else:
                terms.append("someone%d@org%d.example" % (i, rng.randrange(a.organisations)))
        wall, rss, out = timed(base + ["directory", "lookup", "--stdin"],
                               stdin=("\n".join(terms) + "\n").encode())
        rows = [json.loads(line) for line in out.decode().splitlines()]
        missing = [r["term"] for r in rows if not r.get("found")]
        if len(rows) != len(terms) or missing:
            failed.append("lookups: %d of %d found nothing, e.g. %s"
                          % (len(missing), len(terms), missing[:3]))
        for label, pick in (("address", lambda r: "@" in r["term"] and r["found"]["person"]),
                            ("phone", lambda r: "@" not in r["term"]),
                            ("domain", lambda r: "@" in r["term"] and not r["found"]["person"]),
                            ("all", lambda r: True)):
            us = sorted(r["micros"] for r in rows if r.get("found") and pick(r))
            p99 = bench.pct(us, 0.99)
            print("lookup by %-7s %6d: p50 %4d µs, p99 %4d µs, max %5d µs"
                  % (label, len(us), bench.pct(us, 0.5), p99, us[-1] if us else 0))
            if p99 >= 1000:
                slow.append("lookup by %s: p99 %d µs" % (label, p99))
        print("  (%d lookups in one process, %.2f s with its start)" % (len(rows), wall))

        md = case / "workload"
        counts = bench.gen_workload(md, a.messages, a.seed, 0.3, 0.1)
        runs = {"without": [], "with": []}
        for rep in range(a.reps):
            for label, data in (("without", None), ("with", case / "data")):
                r = intake(binary, case, data, md, "%s-%d" % (label, rep))
                if r["summary"]["processed"] != counts["messages"] or r["left_in_maildir"]:
                    failed.append("%s: %s" % (r["label"], r["summary_line"]))
                runs[label].append(r)
        best = {}
        for label, rs in runs.items():
            # User CPU: system time moves with the file system's state (ext4's
            # recently-deleted inode scan after earlier runs' deletions), not with postdesk.
            cpu = min(r["utime"] for r in rs)
            wall = min(r["wall"] for r in rs)
            best[label] = (cpu, wall)
            print("intake %-7s directory: best of %d: %.0f msg/s, %.2f user CPU s per 1,000 "
                  "messages (walls %s)" % (label, len(rs), a.messages / wall,
                                           1000 * cpu / a.messages,
                                           ", ".join("%.2f s" % r["wall"] for r in rs)))
        cpu_change = 100 * (best["with"][0] / best["without"][0] - 1)
        wall_change = 100 * (best["with"][1] / best["without"][1] - 1)
        print("intake with the directory: user CPU %+.1f %%, wall %+.1f %%"
              % (cpu_change, wall_change))
        if a.instructions:
            md2 = case / "workload-instructions"
            bench.gen_workload(md2, a.instructions, a.seed, 0.3, 0.1)
            counted = {label: instructions(binary, case, data, md2, "instr-" + label)
                       for label, data in (("without", None), ("with", case / "data"))}
            change = 100 * (counted["with"] / counted["without"] - 1)
            print("intake instructions per message (callgrind, %d messages): without %d, "
                  "with the directory %d (%+.2f %%)"
                  % (a.instructions, counted["without"] / a.instructions,
                     counted["with"] / a.instructions, change))
            if change > 5:
                slow.append("intake instructions %+.2f %% with the directory" % change)
        if cpu_change > 5:
            slow.append("intake CPU %+.1f %% with the directory" % cpu_change)
    finally:
        if a.keep:
            print("kept %s" % case)
        else:
            shutil.rmtree(case, ignore_errors=True)
    if slow:
        print("over target: " + "; ".join(slow))
    if failed:
        print("FAILED: " + "; ".join(failed))
    if failed or (a.check and slow):
        sys.exit(1)


if __name__ == "__main__":
    main()
