#!/usr/bin/env python3
"""Mail intake alongside call-ended requests: does a steady stream of phone articles with
recordings slow the daemon's mail intake? And with --memory, what large recordings cost the
daemon's memory.

On a fresh journaled ext4 image (sparse, loop-mounted under --workdir, removed at the end) each
run starts `postdesk run` with `[api]` on a free loopback port and a Maildir source, generates
--mails messages as scripts/bench.py does (its generator: requests and follow-ups, some with
attachments) into a staging folder of the same file system, then renames them all into the
source's `new/` and times until the mail log has a line for each (intake throughput, msg/s).
In a run "with calls", `POST /v1/calls/{id}/end` requests are meanwhile offered open-loop, from
2 s before the mails are dropped until intake is done: call i is due at t0 + i * --interval
(default 0.3 s: 200 a minute) and goes at once to a free one of --workers clients (default 64,
each with its own keep-alive connection), so a slow answer does not delay the calls after it.
Each carries a --recording-bytes (default 1 MB) recording of random bytes as audio/mpeg, in the
streamed form by default (multipart/form-data: a part `call` with the JSON, a part
`recording`), or base64 inside the JSON body with --form json. Each run has its own daemon and
data directory. The modes alternate (--rounds times each, default 2).

Prints per run the intake rate and the daemon's peak RSS, and with calls, against the time mail
was being filed: the calls offered (due) and answered (201) in it, each a minute; of the calls
due in it the latency from when each was due (p50, p95, max); the longest a call waited for a
free client (0 unless every client was busy) and the most in flight; the run's errors and calls
left unanswered. Then the ratio of the mean rates, each pair's ratio and the calls' ranges.

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
import queue
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


def pct(sorted_values, q):
    """The q-th percentile (nearest rank) of sorted values; nan when there are none."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * q // 100) - 1))
    return sorted_values[int(k)]


class Caller:
    """Offers call-ended requests open-loop: call i is due at t0 + i * interval and goes to the
    first free one of `workers` clients (each its own keep-alive connection, opened when first
    needed), so a slow answer does not hold back the calls after it. Stopping ends the schedule;
    join() waits for the calls in flight."""

    def __init__(self, port, interval, size, seed, form, workers):
        self.port, self.interval, self.size, self.seed = port, interval, size, seed
        self.form, self.workers = form, workers
        self.stop = threading.Event()
        self.jobs = queue.Queue()
        self.lock = threading.Lock()
        # One record a call: (due, started, done, error or None).
        self.calls, self.in_flight, self.peak_in_flight = [], 0, 0
        self.ready = threading.Barrier(workers + 1)
        self.threads = [threading.Thread(target=self.client, daemon=True)
                        for _ in range(workers)]

    def start(self):
        for t in self.threads:
            t.start()
        self.ready.wait()  # every client has its first recording made
        self.t0 = time.perf_counter()
        self.threads.append(threading.Thread(target=self.schedule, daemon=True))
        self.threads[-1].start()

    def join(self, timeout):
        deadline = time.perf_counter() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.perf_counter()))
        return not any(t.is_alive() for t in self.threads)

    def schedule(self):
        i = 0
        while True:
            due = self.t0 + i * self.interval
            wait = due - time.perf_counter()
            if wait > 0 and self.stop.wait(wait) or self.stop.is_set():
                break
            self.jobs.put((i, due))
            i += 1
        self.dispatched = i
        for _ in range(self.workers):
            self.jobs.put(None)

    def client(self):
        conn = None
        audio = os.urandom(self.size)  # each made before its call is due, not after
        self.ready.wait()
        while True:
            job = self.jobs.get()
            if job is None:
                break
            i, due = job
            pieces = request(self.form, "bench-%d-%d" % (self.seed, i), call_json(self.seed, i),
                             audio)
            with self.lock:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            started = time.perf_counter()
            try:
                conn = conn or connect(self.port)
                err = post(*conn, pieces)
            except OSError as e:
                err = "%s: %s" % (type(e).__name__, e)
            done = time.perf_counter()
            if err and conn:  # the connection's state is unknown: a fresh one for the next
                conn[0].close()
                conn = None
            with self.lock:
                self.in_flight -= 1
                self.calls.append((due, started, done, err))
            audio = os.urandom(self.size)
        if conn:
            conn[0].close()

    def figures(self, t_from, t_to):
        """The calls against the mail run from t_from to t_to: offered (due in it) and achieved
        (answered 201 in it) a minute, and of the calls due in it their latency from when each was
        due (p50, p95, max, ms) and the longest a call waited for a free client (ms); errors over
        all the run's calls."""
        span = t_to - t_from
        due_in = [c for c in self.calls if t_from <= c[0] < t_to]
        offered = sum(1 for k in range(int((t_to - self.t0) / self.interval) + 2)
                      if t_from <= self.t0 + k * self.interval < t_to)
        achieved = sum(1 for c in self.calls if c[3] is None and t_from <= c[2] < t_to)
        lat = sorted((c[2] - c[0]) * 1000 for c in due_in)
        errors = [c[3] for c in self.calls if c[3] is not None]
        return {"sent": len(self.calls), "unanswered": self.dispatched - len(self.calls),
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
                "offered": offered, "offered_pm": offered * 60 / span,
                "achieved": achieved, "achieved_pm": achieved * 60 / span,
                "p50": pct(lat, 50), "p95": pct(lat, 95), "max": lat[-1] if lat else float("nan"),
                "wait_max": max(((c[1] - c[0]) * 1000 for c in self.calls), default=0.0),
                "peak_in_flight": self.peak_in_flight}


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
            caller = Caller(port, a.interval, a.recording_bytes, seed, a.form, a.workers)
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
        t1 = time.perf_counter()
        wall = t1 - t0
        if caller:
            caller.stop.set()
            caller.join(60)
    finally:
        daemon.terminate()
        daemon.wait()
        hwm.stop()
    res = {"tag": tag, "calls": with_calls, "mails": counts["messages"],
           "mail_mb": counts["bytes"] / 1e6, "wall": wall, "rate": a.mails / wall,
           "rss_mib": hwm.peak_kib / 1024}
    if caller:
        res.update(caller.figures(t0, t1))
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
    ap.add_argument("--workers", type=int, default=64,
                    help="clients the calls are offered from (each call goes to a free one)")
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
                    line += ("\n  calls while mail was filed: offered %d (%.0f a minute), answered "
                             "%d (%.0f a minute); latency p50 %.0f ms, p95 %.0f ms, max %.0f ms; "
                             "longest wait for a client %.0f ms, at most %d in flight; calls "
                             "in the run %d, errors %d, unanswered %d" % (
                                 res["offered"], res["offered_pm"], res["achieved"],
                                 res["achieved_pm"], res["p50"], res["p95"], res["max"],
                                 res["wait_max"], res["peak_in_flight"], res["sent"],
                                 res["errors"], res["unanswered"]))
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
        pairs = ", ".join("%.2f" % (c / m) for m, c in zip(alone, calls))
        print("mean intake alone %.0f msg/s, with calls %.0f msg/s: ratio %.2f (the pairs %s; "
              "target >= 0.90)" % (sum(alone) / len(alone), sum(calls) / len(calls), ratio, pairs))
        with_calls = [r for r in results if r.get("calls")]
        print("calls while mail was filed: offered %.0f-%.0f a minute, answered %.0f-%.0f a "
              "minute; latency p50 %.0f-%.0f ms, p95 %.0f-%.0f ms, max %.0f ms; errors %d, "
              "unanswered %d" % (
                  min(r["offered_pm"] for r in with_calls), max(r["offered_pm"] for r in with_calls),
                  min(r["achieved_pm"] for r in with_calls),
                  max(r["achieved_pm"] for r in with_calls),
                  min(r["p50"] for r in with_calls), max(r["p50"] for r in with_calls),
                  min(r["p95"] for r in with_calls), max(r["p95"] for r in with_calls),
                  max(r["max"] for r in with_calls), sum(r["errors"] for r in with_calls),
                  sum(r["unanswered"] for r in with_calls)))
    if any(r.get("errors") or r.get("unanswered") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
