#!/usr/bin/env python3
"""Mail intake alongside call-ended requests: does a steady stream of phone articles with
recordings slow the daemon's mail intake? And with --memory, what large recordings cost the
daemon's memory.

On a fresh journaled ext4 image (sparse, loop-mounted under --workdir, removed at the end) each
run starts `postdesk run` with `[api]` on a free loopback port and a Maildir source, generates
--mails messages as scripts/bench.py does (its generator: requests and follow-ups, some with
attachments) into a staging folder of the same file system, then renames them all into the
source's `new/` and times until the mail log has a line for each (intake throughput, msg/s).
In a run "with calls", a client thread meanwhile sends `POST /v1/calls/{id}/end` every
--interval seconds (default 0.3: 200 a minute), each with a --recording-bytes (default 1 MB)
recording of random bytes as audio/mpeg, on one keep-alive connection, from before the mails
are dropped until intake is done. The recording goes as the streamed form by default
(multipart/form-data: a part `call` with the JSON, a part `recording`), or base64 inside the
JSON body with --form json. Each run has its own daemon and data directory. The modes alternate
(--rounds times each, default 2).

Prints per run the intake rate, the calls sent, their errors and p50/p99 latency (from when each
was due), and the daemon's peak RSS; then the ratio of the mean rates.

--memory N: no mail; after two small calls (the store and index opened: the daemon's baseline
peak RSS) N calls with a --recording-bytes recording each (e.g. --recording-bytes 52428800), from
--parallel clients at once (default 1: one after the other), max-recording-bytes and
intake.max-message-bytes raised to fit. Prints the baseline and the peak RSS after the calls,
for each form --form names (`both`: the streamed form and the JSON form, alternating, --rounds
times each).

Run as root (it mounts the image) after `cargo build --release --locked`. python3 stdlib only.
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


BOUNDARY = b"----postdesk-bench-5c0e9a4b7d2f41e6"


def call_json(seed, i):
    return {"direction": "in", "caller": "0541 9%07d" % i, "dialled": "0800 123456",
            "start": "2026-12-06T10:00:00+01:00", "duration_seconds": 60,
            "extension": "17", "note": "bench call %d-%d" % (seed, i)}


def request(form, call_id, call, audio):
    """The request of a call's end with its recording (bytes), as headers and body."""
    if form == "json":
        call = dict(call, recording={"content_type": "audio/mpeg",
                                     "data": base64.b64encode(audio).decode()})
        body = [json.dumps(call).encode()]
        ctype = b"application/json"
    else:
        head = (b"--%s\r\nContent-Disposition: form-data; name=\"call\"\r\n"
                b"Content-Type: application/json\r\n\r\n%s\r\n"
                b"--%s\r\nContent-Disposition: form-data; name=\"recording\"; "
                b"filename=\"call.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n"
                % (BOUNDARY, json.dumps(call).encode(), BOUNDARY))
        body = [head, audio, b"\r\n--%s--\r\n" % BOUNDARY]
        ctype = b"multipart/form-data; boundary=" + BOUNDARY
    length = sum(len(b) for b in body)
    headers = (b"POST /v1/calls/%s/end HTTP/1.1\r\nHost: b\r\n"
               b"Authorization: Bearer %s\r\nContent-Type: %s\r\n"
               b"Content-Length: %d\r\n\r\n" % (call_id.encode(), TOKEN.encode(), ctype, length))
    return [headers] + body


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile("rb")


def post(s, f, pieces):
    """Sends one request (its pieces as they are, not joined) and reads the answer; the error
    text, or None for a 201 with a ticket."""
    for p in pieces:
        s.sendall(p)
    status, payload = read_response(f)
    if b" 201 " not in status or b'"ticket":"' not in payload:
        return (status + payload)[:300]
    return None


class Caller(threading.Thread):
    """Sends call-ended requests with a recording every `interval` s until stopped."""

    def __init__(self, port, interval, size, seed, form):
        super().__init__(daemon=True)
        self.port, self.interval, self.size, self.seed = port, interval, size, seed
        self.form = form
        self.stop, self.lat, self.errors, self.first_error = threading.Event(), [], 0, None

    def run(self):
        s, f = connect(self.port)
        due = time.perf_counter()
        i = 0
        while not self.stop.is_set():
            now = time.perf_counter()
            if due > now:
                if self.stop.wait(due - now):
                    break
            pieces = request(self.form, "bench-%d-%d" % (self.seed, i),
                             call_json(self.seed, i), os.urandom(self.size))
            err = post(s, f, pieces)
            self.lat.append(time.perf_counter() - due)
            if err:
                self.errors += 1
                self.first_error = self.first_error or err
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


def write_config(case, port, src=None, max_recording=None):
    (case / "pbx.token").write_text(TOKEN + "\n")
    text = config()
    if src:
        text += '\n[[source]]\nname = "inbox"\nmaildir = "%s"\nafter = "delete"\n' % src
    if max_recording:
        # The article carries the recording base64 (4 bytes for 3, lines of 76 and CRLF), and
        # intake counts it.
        text += "\n[intake]\nmax-message-bytes = %d\n" % max(
            64 * 2**20, max_recording * 7 // 5 + 2**20)
    text += ('\n[api]\nlisten = "127.0.0.1:%d"\n' % port)
    if max_recording:
        text += "max-recording-bytes = %d\n" % max_recording
    text += '[[api.client]]\nname = "bench"\ntoken-file = "pbx.token"\n'
    (case / "postdesk.toml").write_text(text)


def start(binary, case):
    daemon = subprocess.Popen(
        [str(binary), "--config", str(case / "postdesk.toml"), "--data-dir", str(case / "data"),
         "run"], stdout=subprocess.DEVNULL, stderr=open(case / "daemon.log", "w"))
    return daemon, PeakWatcher(daemon.pid)


def vm_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def one(a, binary, mnt, tag, with_calls, seed):
    case = mnt / tag
    case.mkdir()
    port = free_port()
    src = case / "inbox"
    for d in ("new", "cur", "tmp"):
        (src / d).mkdir(parents=True)
    write_config(case, port, src)
    counts = gen_workload(case / "stage", a.mails, seed, 0.3, 0.1)
    staged = sorted(os.listdir(case / "stage" / "new"))
    data = case / "data"
    daemon, hwm = start(binary, case)
    caller = None
    try:
        wait_for_api(port, case / "daemon.log")
        os.sync()
        if with_calls:
            caller = Caller(port, a.interval, a.recording_bytes, seed, a.form)
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


def memory(a, binary, mnt, tag, form, seed):
    """--memory: the daemon's peak RSS before and while it receives large recordings."""
    case = mnt / tag
    case.mkdir()
    port = free_port()
    write_config(case, port, max_recording=max(a.recording_bytes, 20 * 2**20))
    daemon, hwm = start(binary, case)
    lat, errors = [], []
    try:
        wait_for_api(port, case / "daemon.log")
        s, f = connect(port)
        for i in range(2):  # the store, the index and the engine opened, a recording spooled
            err = post(s, f, request(form, "warm-%d-%d" % (seed, i), call_json(seed, i),
                                     os.urandom(10_000)))
            if err:
                sys.exit("warm-up call: %r" % err)
        s.close()
        time.sleep(0.2)
        base_hwm, base_rss = vm_kib(daemon.pid, "VmHWM"), vm_kib(daemon.pid, "VmRSS")
        barrier = threading.Barrier(a.parallel)

        def client(k):
            s, f = connect(port)
            barrier.wait()
            for i in range(k, a.memory, a.parallel):
                audio = os.urandom(a.recording_bytes)
                pieces = request(form, "big-%d-%d" % (seed, i), call_json(seed, 100 + i), audio)
                t = time.perf_counter()
                err = post(s, f, pieces)
                lat.append(time.perf_counter() - t)
                if err:
                    errors.append(err)
            s.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(a.parallel)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        peak = max(hwm.peak_kib, vm_kib(daemon.pid, "VmHWM"))
    finally:
        daemon.terminate()
        daemon.wait()
        hwm.stop()
    lat.sort()
    shutil.rmtree(case, ignore_errors=True)
    return {"tag": tag, "form": form, "base_hwm": base_hwm / 1024, "base_rss": base_rss / 1024,
            "peak": peak / 1024, "wall": wall, "sent": len(lat), "errors": len(errors),
            "p50": lat[len(lat) // 2] * 1000, "max": lat[-1] * 1000,
            "first_error": errors[0] if errors else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mails", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=0.3)
    ap.add_argument("--recording-bytes", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--image-gb", type=float, default=2)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--form", choices=("multipart", "json", "both"), default="multipart",
                    help="how a recording is sent: streamed (multipart/form-data) or base64 in "
                    "the JSON body; both: the two alternating (with --memory)")
    ap.add_argument("--memory", type=int, default=0, metavar="N",
                    help="no mail: N calls with --recording-bytes recordings, the peak RSS")
    ap.add_argument("--parallel", type=int, default=1,
                    help="with --memory, clients sending at once")
    ap.add_argument("--binary", default=str(REPO / "target/release/postdesk"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it mounts an ext4 image")
    binary = Path(a.binary).resolve()
    if not binary.is_file():
        sys.exit("%s: build it first (cargo build --release --locked)" % binary)
    if a.form == "both" and not a.memory:
        sys.exit("--form both is for --memory")
    forms = ("multipart", "json") if a.form == "both" else (a.form,)
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
            if a.memory:
                for form in forms:
                    tag = "r%d-%s" % (r, form)
                    res = memory(a, binary, mnt, tag, form, 1000 + r)
                    results.append(res)
                    mib = a.recording_bytes / 2**20
                    print("%-12s %d calls with %.0f MiB recordings (%d at once) in %.1f s, errors "
                          "%d, p50 %.0f ms, max %.0f ms: peak RSS %.0f MiB after warm-up, %.0f "
                          "MiB with the recordings (+%.0f MiB, %.2f times a recording)" % (
                              tag, res["sent"], mib, a.parallel, res["wall"], res["errors"],
                              res["p50"], res["max"], res["base_hwm"], res["peak"],
                              res["peak"] - res["base_hwm"],
                              (res["peak"] - res["base_hwm"]) / mib), flush=True)
                    if res["first_error"]:
                        print("  first error: %r" % res["first_error"], flush=True)
                continue
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
    alone = [r["rate"] for r in results if "calls" in r and not r["calls"]]
    calls = [r["rate"] for r in results if r.get("calls")]
    if alone and calls:
        ratio = (sum(calls) / len(calls)) / (sum(alone) / len(alone))
        print("mean intake alone %.0f msg/s, with calls %.0f msg/s: ratio %.2f (target >= 0.90)"
              % (sum(alone) / len(alone), sum(calls) / len(calls), ratio))
    if any(r.get("errors") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
