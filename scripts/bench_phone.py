#!/usr/bin/env python3
"""Telephone API benchmark for postdesk: the caller prefill (`POST /v1/calls`) at a fixed rate
against a large directory.

Generates a directory of N persons (default 1,000,000, as a people CSV file; each with a mail
address and a phone number, every tenth in two organisations), N/1000 organisations with a
switchboard number and an instance of the one service, and the service with its hotline,
default instance and greeting (in the directory file);
copies it into the index with `postdesk directory sync` (timed); starts `postdesk run` with
`[api]` on a free loopback port; then sends prefill requests open-loop at --rate per second
(default 1,000) for --seconds (default 30, after 3 s of warm-up) from --workers processes
(default 8), each on one keep-alive HTTP/1.1 connection. 90 % of the callers are random persons
of the directory (in the national spelling, as a PBX passes them), 10 % unknown numbers.

Each request's latency is measured from the moment it was due (not when it was sent), so a
server that falls behind shows it instead of slowing the load (no coordinated omission).
Prints the rate reached, errors, and latency percentiles; exit 1 if any request failed or the
rate was not reached. The target is p99 < 5 ms at 1,000 requests/s.

Run after `cargo build --release`. python3 stdlib only; everything lives in a temp dir removed
at the end unless --keep.
"""

import argparse
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tree import free_port, log  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123456789"


def generate(folder, n):
    """directory.toml (the service, the organisations) and people.csv (the persons)."""
    orgs = max(1, n // 1000)
    with open(folder / "directory.toml", "w") as f:
        f.write('[[service]]\nname = "Online"\nhotline = ["0800 123456"]\n'
                'greeting = "Guten Tag, {{ person.last_name }}, Sie sprechen mit dem '
                '{{ service.name }}-Service"\ndefault-instance = { sla = "standard" }\n\n')
        for o in range(orgs):
            f.write('[[organisation]]\nid = "o%d"\nname = "Org %d"\nphone = ["+49 30 %07d"]\n'
                    'service = [{ service = "Online", sla = "gold" }]\n\n' % (o, o, o))
    with open(folder / "people.csv", "w") as f:
        f.write("id,last-name,mail,phone,organisations\n")
        for i in range(n):
            org = i % orgs
            extra = "|o%d" % ((org + 1) % orgs) if i % 10 == 0 and orgs > 1 else ""
            f.write("p%d,Person %d,p%d@example.test,+49 541 %07d,o%d%s\n"
                    % (i, i, i, i, org, extra))


def read_response(f):
    """The status line and the body of one HTTP/1.1 response (with a Content-Length)."""
    status = f.readline()
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, f.read(length)


def wait_for_api(port, daemon_log):
    """Returns once the daemon accepts connections on `port`; exits with its log if it never does."""
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("the API did not come up: %s" % daemon_log.read_text())


def worker(port, rate, start, seconds, n, seed, out):
    rnd = random.Random(seed)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    lat, errors = [], 0
    interval = 1.0 / rate
    due = start
    end = start + seconds
    while due < end:
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        if rnd.random() < 0.9:
            caller = "0541 %07d" % rnd.randrange(n)
        else:
            caller = "0541 9%07d" % rnd.randrange(10_000_000)
        body = json.dumps({"caller": caller, "dialled": "0800 123456", "call_id": "c",
                           "extension": "17"}).encode()
        s.sendall(b"POST /v1/calls HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer " + TOKEN.encode()
                  + b"\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, payload = read_response(f)
        done = time.perf_counter()
        if b" 200 " not in status or b'"rule"' not in payload:
            errors += 1
        lat.append(done - due)
        due += interval
    out.put((lat, errors))


def percentile(sorted_v, p):
    return sorted_v[min(len(sorted_v) - 1, int(len(sorted_v) * p))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--binary", default=str(Path(__file__).resolve().parent.parent
                                            / "target/release/postdesk"))
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pd-bench-phone-"))
    daemon = None
    try:
        port = free_port()
        (tmp / "pbx.token").write_text(TOKEN + "\n")
        (tmp / "postdesk.toml").write_text(
            '[general]\ndata-dir = "var"\n[directory]\nfile = "directory.toml"\n'
            'people = ["people.csv"]\n'
            'country-code = "49"\narea-code = "541"\n'
            '[api]\nlisten = "127.0.0.1:%d"\n[[api.client]]\nname = "bench"\n'
            'token-file = "pbx.token"\n[[queue]]\nname = "Support"\n'
            'addresses = ["support@company.example"]\n' % port)
        shutil.copytree(Path(a.binary).resolve().parent.parent.parent / "templates",
                        tmp / "templates")
        log("generating %d persons ..." % a.persons)
        generate(tmp, a.persons)
        cmd = [a.binary, "--config", str(tmp / "postdesk.toml")]
        t0 = time.perf_counter()
        subprocess.run(cmd + ["directory", "sync"], check=True, stdout=subprocess.DEVNULL)
        log("directory sync: %.1f s" % (time.perf_counter() - t0))
        daemon = subprocess.Popen(cmd + ["run"], stdout=subprocess.DEVNULL,
                                  stderr=open(tmp / "daemon.log", "w"))
        wait_for_api(port, tmp / "daemon.log")
        q = multiprocessing.Queue()
        warm = 3
        start = time.perf_counter() + 1.0
        procs = [multiprocessing.Process(
            target=worker, args=(port, a.rate / a.workers, start + i / a.rate,
                                 warm + a.seconds, a.persons, i, q)) for i in range(a.workers)]
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        for p in procs:
            p.join()
        per = int(warm * a.rate / a.workers)
        lat = sorted(x for r in results for x in r[0][per:])
        errors = sum(r[1] for r in results)
        reached = len(lat) / a.seconds
        ms = lambda v: "%.2f" % (v * 1000)
        print("persons %d, rate %d/s asked, %.0f/s reached, %d requests, %d errors"
              % (a.persons, a.rate, reached, len(lat), errors))
        print("latency ms: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s" % (
            ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 0.99)),
            ms(percentile(lat, 0.999)), ms(lat[-1])))
        if errors or reached < a.rate * 0.98:
            sys.exit(1)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait()
        if a.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
