#!/usr/bin/env python3
"""Scanning benchmark for postdesk: throughput with spamd and clamd on vs off, over the core
benchmark's corpus (scripts/bench.py's generator: 30 % follow-ups, 10 % with a 50-300 KB
attachment), and how close postdesk gets to spamd's own capacity.

Starts spamd (Debian's rules, --local, no Bayes, --max-children C) and clamd (a two-signature
EICAR database, no internet) as children on free loopback ports, generates N messages once, then
for each case drains them into a fresh data dir with

    postdesk --config F --data-dir D run --once --maildir M --after keep

and prints messages/s. Cases: scanning off; scanning on with [scan] concurrency 1, 2, 4, 8.
spamd's capacity is measured the same way postdesk uses it: SYMBOLS requests for the same N
messages from K client threads (K = 1, 2, 4), straight to spamd.

Needs root (spamd runs its children as nobody) and the Debian packages spamassassin, spamd and
clamav-daemon (scripts/install-test-deps.sh). python3 stdlib only.
"""

import argparse
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench", REPO / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, data, timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


def wait(pred, what, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not start")


def start_spamd(d, children):
    port = free_port()
    home = d / "sahome"
    home.mkdir()
    os.chown(home, 65534, 65534)
    p = subprocess.Popen(["spamd", f"--listen=127.0.0.1:{port}", "--local", "--nouser-config",
                          "--username=nobody", f"--max-children={children}",
                          f"--min-children={children}", f"--helper-home-dir={home}",
                          "--syslog=stderr", f"--pidfile={d / 'spamd.pid'}",
                          "--cf=use_bayes 0", "--cf=skip_rbl_checks 1"],
                         stdout=subprocess.DEVNULL, stderr=open(d / "spamd.log", "w"))
    wait(lambda: b"PONG" in exchange(port, b"PING SPAMC/1.5\r\n\r\n", 2), "spamd")
    return p, port


def start_clamd(d):
    port = free_port()
    db = d / "db"
    db.mkdir()
    (db / "test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Test.EICAR.HDB\n")
    (db / "test.ndb").write_text(f"Test.EICAR.NDB:0:*:{EICAR[:40].hex()}\n")
    conf = d / "clamd.conf"
    conf.write_text(f"Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n"
                    f"PidFile {d}/clamd.pid\nLogFile {d}/clamd.log\nMaxThreads 8\n"
                    f"StreamMaxLength 25M\n")
    p = subprocess.Popen(["clamd", "-c", str(conf)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait(lambda: exchange(port, b"zPING\0", 2).startswith(b"PONG"), "clamd")
    return p, port


CONFIG = """[general]
data-dir = "var"
durable = true
[autoresponse]
templates = "{repo}/templates"
[filters]
dir = "{repo}/filters"
{scan}
[[queue]]
name = "Support"
addresses = ["support@company.example"]
[[queue]]
name = "Billing"
addresses = ["billing@company.example"]
[[queue]]
name = "Junk"
"""


def scan_table(spamd, clamd, conc):
    return (f"[scan]\nconcurrency = {conc}\n[scan.spamd]\nenabled = true\n"
            f"address = \"127.0.0.1:{spamd}\"\n[scan.clamd]\nenabled = true\n"
            f"address = \"127.0.0.1:{clamd}\"\n")


def drain(binary, work, label, md, scan):
    case = work / label
    case.mkdir()
    (case / "postdesk.toml").write_text(CONFIG.format(repo=REPO, scan=scan))
    t0 = time.perf_counter()
    out = subprocess.run([binary, "--config", str(case / "postdesk.toml"), "--data-dir",
                          str(case / "data"), "run", "--once", "--maildir", str(md),
                          "--after", "keep"], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"{label}: {out.stderr}")
    return dt, out.stdout.splitlines()[0]


def spamd_capacity(port, files, threads):
    msgs = [f.read_bytes() for f in files]
    it = iter(range(len(msgs)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            m = msgs[i]
            req = (f"SYMBOLS SPAMC/1.5\r\nContent-length: {len(m)}\r\nUser: postdesk\r\n\r\n"
                   .encode() + m)
            exchange(port, req)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(msgs) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=600)
    ap.add_argument("--children", type=int, default=2, help="spamd --max-children")
    ap.add_argument("--concurrency", default="1,2,4,8")
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "postdesk"))
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pd-bench-scan-", dir=a.workdir))
    os.chmod(work, 0o755)
    procs = []
    try:
        sd, cd = work / "spamd", work / "clamd"
        sd.mkdir()
        cd.mkdir()
        sp, sport = start_spamd(sd, a.children)
        procs.append(sp)
        cp, cport = start_clamd(cd)
        procs.append(cp)
        md = work / "maildir"
        counts = bench.gen_workload(md, a.n, 20261122, 0.3, 0.1)
        files = sorted((md / "new").iterdir())
        print(f"corpus: {a.n} messages ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB), "
              f"spamd --max-children={a.children}, 2 CPUs", flush=True)
        dt, line = drain(a.binary, work, "off", md, "")
        print(f"scanning off:            {a.n / dt:8.1f} msg/s  ({line})", flush=True)
        for c in [int(x) for x in a.concurrency.split(",")]:
            dt, line = drain(a.binary, work, f"on{c}", md, scan_table(sport, cport, c))
            print(f"spamd+clamd, concurrency {c}: {a.n / dt:6.1f} msg/s  ({line})", flush=True)
        for k in (1, 2, 4):
            rate = spamd_capacity(sport, files, k)
            print(f"spamd alone, {k} client(s):  {rate:6.1f} msg/s", flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
