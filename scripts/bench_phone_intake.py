#!/usr/bin/env python3
"""Mail intake alongside call-ended requests: does a steady stream of phone articles with
recordings slow the daemon's mail intake?

On a fresh journaled ext4 image (sparse, loop-mounted under --workdir, removed at the end) each
run starts `postdesk run` with `[api]` on a free loopback port and a Maildir source, generates
--mails messages as scripts/bench.py does (its generator: requests and follow-ups, some with
attachments) into a staging folder of the same file system, then renames them all into the
source's `new/` and times until the mail log has a line for each (intake throughput, msg/s).
In a run "with calls", a client thread meanwhile sends `POST /v1/calls/{id}/end` every
--interval seconds (default 0.3: 200 a minute), each with a --recording-bytes (default 1 MB)
recording of random bytes as audio/mpeg, on one keep-alive connection, from before the mails
are dropped until intake is done. Each run has its own daemon and data directory. The modes
alternate (--rounds times each, default 2).

Prints per run the intake rate, the calls sent, their errors and p50/p99 latency (from when each
was due), and the daemon's peak RSS; then the ratio of the mean rates. Run as root (it mounts
the image) after `cargo build --release --locked`. python3 stdlib only.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import REPO, PeakWatcher, config, gen_workload  # noqa: E402
from bench_phone import TOKEN, read_response, wait_for_api  # noqa: E402
from bench_tree import free_port, log  # noqa: E402

def sh(*cmd):
    subprocess.run(cmd, check=True)


class Caller(threading.Thread):
    """Sends call-ended requests with a recording every `interval` s until stopped."""

    def __init__(self, port, interval, size, seed):
        super().__init__(daemon=True)
        self.port, self.interval, self.size, self.seed = port, interval, size, seed
        self.stop, self.lat, self.errors, self.first_error = threading.Event(), [], 0, None

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        due = time.perf_counter()
        i = 0
        while not self.stop.is_set():
            now = time.perf_counter()
            if due > now:
                if self.stop.wait(due - now):
                    break
            audio = base64.b64encode(os.urandom(self.size)).decode()
            body = json.dumps({
                "direction": "in", "caller": "0541 9%07d" % i, "dialled": "0800 123456",
                "start": "2026-12-06T10:00:00+01:00", "duration_seconds": 60,
                "extension": "17", "note": "bench call %d" % i,
                "recording": {"content_type": "audio/mpeg", "data": audio}}).encode()
            s.sendall(b"POST /v1/calls/bench-%d-%d/end HTTP/1.1\r\nHost: b\r\n"
                      b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % (self.seed, i, TOKEN.encode(), len(body))
                      + body)
            status, payload = read_response(f)
            self.lat.append(time.perf_counter() - due)
            if b" 201 " not in status or b'"ticket":"' not in payload:
                self.errors += 1
                self.first_error = self.first_error or (status + payload)[:300]
            i += 1
            due += self.interval
        s.close()


def mail_lines(log_path):
    """The mail log's lines of the Maildir source's messages (phone articles say source=api)."""
    try:
        with open(log_path, "rb") as f:
            return sum(1 for line in f if b" source=inbox" in line)
    except OSError:
        return 0


def one(a, binary, mnt, tag, with_calls, seed):
    case = mnt / tag
    case.mkdir()
    port = free_port()
    (case / "pbx.token").write_text(TOKEN + "\n")
    src = case / "inbox"
    for d in ("new", "cur", "tmp"):
        (src / d).mkdir(parents=True)
    (case / "postdesk.toml").write_text(
        config() + '\n[[source]]\nname = "inbox"\nmaildir = "%s"\nafter = "delete"\n'
        '[api]\nlisten = "127.0.0.1:%d"\n[[api.client]]\nname = "bench"\n'
        'token-file = "pbx.token"\n' % (src, port))
    counts = gen_workload(case / "stage", a.mails, seed, 0.3, 0.1)
    staged = sorted(os.listdir(case / "stage" / "new"))
    data = case / "data"
    daemon = subprocess.Popen(
        [str(binary), "--config", str(case / "postdesk.toml"), "--data-dir", str(data), "run"],
        stdout=subprocess.DEVNULL, stderr=open(case / "daemon.log", "w"))
    hwm = PeakWatcher(daemon.pid)
    caller = None
    try:
        wait_for_api(port, case / "daemon.log")
        os.sync()
        if with_calls:
            caller = Caller(port, a.interval, a.recording_bytes, seed)
            caller.start()
            time.sleep(2.0)  # the calls are under way before the mail arrives
        log_path = data / "mail.log"
        before = mail_lines(log_path)
        t0 = time.perf_counter()
        for name in staged:
            os.rename(case / "stage" / "new" / name, src / "new" / name)
        deadline = t0 + a.timeout
        while mail_lines(log_path) - before < a.mails:
            if time.perf_counter() > deadline:
                sys.exit("intake did not finish in %d s" % a.timeout)
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        if caller:
            caller.stop.set()
            caller.join()
    finally:
        daemon.terminate()
        daemon.wait()
        hwm.stop()
    res = {"tag": tag, "calls": with_calls, "mails": counts["messages"],
           "mail_mb": counts["bytes"] / 1e6, "wall": wall, "rate": a.mails / wall,
           "rss_mib": hwm.peak_kib / 1024}
    if caller:
        lat = sorted(caller.lat)
        res.update(sent=len(lat), errors=caller.errors,
                   p50=lat[len(lat) // 2] * 1000 if lat else float("nan"),
                   p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan"),
                   first_error=caller.first_error)
    shutil.rmtree(case, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mails", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=0.3)
    ap.add_argument("--recording-bytes", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--image-gb", type=float, default=2)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--binary", default=str(REPO / "target/release/postdesk"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it mounts an ext4 image")
    binary = Path(a.binary).resolve()
    if not binary.is_file():
        sys.exit("%s: build it first (cargo build --release --locked)" % binary)
    work = Path(os.path.realpath(a.workdir)) / ("pd-bench-phone-intake-%d" % os.getpid())
    work.mkdir()
    img, mnt = work / "intake.img", work / "mnt"
    mounted = False
    results = []
    try:
        sh("truncate", "-s", str(int(a.image_gb * 2**30)), str(img))
        sh("mkfs.ext4", "-q", "-F", str(img))
        mnt.mkdir()
        sh("mount", "-o", "loop", str(img), str(mnt))
        mounted = True
        for r in range(a.rounds):
            for with_calls in (False, True):
                tag = "r%d-%s" % (r, "calls" if with_calls else "alone")
                res = one(a, binary, mnt, tag, with_calls, 1000 + r)
                results.append(res)
                line = "%-9s %d mails (%.0f MB) in %.1f s: %.0f msg/s, peak RSS %.0f MiB" % (
                    tag, res["mails"], res["mail_mb"], res["wall"], res["rate"], res["rss_mib"])
                if with_calls:
                    line += "; calls %d, errors %d, p50 %.0f ms, p99 %.0f ms" % (
                        res["sent"], res["errors"], res["p50"], res["p99"])
                    if res["first_error"]:
                        line += "\n  first error: %r" % res["first_error"]
                print(line, flush=True)
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)])
        shutil.rmtree(work, ignore_errors=True)
    alone = [r["rate"] for r in results if not r["calls"]]
    calls = [r["rate"] for r in results if r["calls"]]
    if alone and calls:
        ratio = (sum(calls) / len(calls)) / (sum(alone) / len(alone))
        print("mean intake alone %.0f msg/s, with calls %.0f msg/s: ratio %.2f (target >= 0.90)"
              % (sum(alone) / len(alone), sum(calls) / len(calls), ratio))
    if any(r.get("errors") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
