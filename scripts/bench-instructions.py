#!/usr/bin/env python3
"""Instructions per message of intake, for comparing two builds exactly.

Wall-clock figures on a shared 2-core machine move by 10-20 % between runs; the number of
instructions a run executes does not (the same binary over the same input gives the same count
to within 0.1 %, whatever else the machine is doing). This script makes bench.py's workload once
(default 2,000 messages: 30 % follow-ups, 10 % with a 50-300 KB attachment), drains a copy of it
with each given binary under `valgrind --tool=callgrind`

    postdesk --config F --data-dir D run --once --maildir M --after delete

and prints instructions per message for each, and the change against the first binary.

    scripts/bench-instructions.py OLD_BINARY NEW_BINARY [-n 2000]

Needs valgrind (Debian package `valgrind`). Exits 1 when a run's summary line does not account
for every message, or with --max-increase P when a binary executes more than P % more
instructions than the first.
"""

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench", HERE / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

TOTAL_RE = re.compile(r"^(?:summary|totals): (\d+)", re.M)


def instructions(binary, maildir, work, n):
    case = Path(tempfile.mkdtemp(prefix="case-", dir=work))
    shutil.copytree(maildir, case / "md")
    (case / "postdesk.toml").write_text(bench.CONFIG)
    out = case / "callgrind.out"
    subprocess.run(["sync"], check=True)
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out, str(binary),
         "--config", str(case / "postdesk.toml"), "--data-dir", str(case / "var"),
         "run", "--once", "--maildir", str(case / "md"), "--after", "delete"],
        capture_output=True, text=True)
    summary = bench.SUMMARY_RE.search(run.stdout)
    if run.returncode != 0 or not summary or int(summary.group(1)) != n:
        sys.exit("%s: run failed or did not take every message (exit %d):\n%s%s"
                 % (binary, run.returncode, run.stdout[-2000:], run.stderr[-2000:]))
    total = TOTAL_RE.search(out.read_text(errors="replace"))
    if not total:
        sys.exit("%s: no instruction total in %s" % (binary, out))
    return int(total.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("binaries", nargs="+", help="postdesk binaries; the first is the baseline")
    ap.add_argument("-n", "--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", help="parent of the temp dir (default: system temp dir)")
    ap.add_argument("--max-increase", type=float, metavar="P",
                    help="exit 1 when a binary needs more than P %% more than the first")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="postdesk-instr-", dir=a.workdir))
    try:
        maildir = work / "md"
        bench.gen_workload(maildir, a.messages, a.seed, 0.3, 0.1)
        base = None
        worst = 0.0
        print("| binary | instructions | per message | change |")
        print("|---|---:|---:|---:|")
        for b in a.binaries:
            total = instructions(Path(b).resolve(), maildir, work, a.messages)
            base = base or total
            change = 100.0 * (total - base) / base
            worst = max(worst, change)
            print("| %s | %d | %.0f | %+.2f %% |" % (b, total, total / a.messages, change))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.max_increase is not None and worst > a.max_increase:
        sys.exit("instructions grew by %.2f %% (more than %.2f %%)" % (worst, a.max_increase))


if __name__ == "__main__":
    main()
