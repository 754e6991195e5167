#!/usr/bin/env python3
"""Tree benchmark: what agents' mail clients and intake cost in a store of many tickets, most of
them closed (root; Debian's dovecot-imapd; python3 stdlib only).

On a fresh journaled ext4 file system (a loop-mounted image under --workdir; 1 KiB blocks and
inline data unless --no-compact, so that a million tickets take about 6 GB of disk, not 25) it

1. files -n tickets (default 1,000,000) through postdesk itself: generated new requests in
   Maildir chunks of --chunk messages, each drained with `postdesk run --once --after delete`
   (autoresponses off, so the store holds the tickets and nothing else);
2. closes all but --open of them (default 5,000) as an agent's mail client does in the layout
   from before the archive, a RENAME to `Tickets/Support/Closed/N` (`.Support.Closed.N`), with
   the folders' times spread over --months months, then `postdesk reindex` (which reads that
   layout) and `postdesk migrate-layout`, which moves them into the archive
   (`archive/Support/YYYY-MM/N`) with `--no-compact`, and `postdesk fsck` (unless --no-fsck);
   then (unless --no-compact-listed-tree) `postdesk compact-tree`, which moves the listed tree
   into a directory of its size (ext4 does not shrink the one that held every ticket; a plain
   `migrate-layout` does this itself at its end);
3. starts Dovecot with only what `postdesk dovecot-config` wrote (included from a file that
   sets listeners, paths and logs, and the INBOX namespace as Debian's stock configuration does) and measures, as an agent with `lrwsti` on Support: LIST of
   the queue (`Tickets/Support/*`) and of the whole tree (`*`), and SELECT of archived tickets
   by name (`Archive/Support/YYYY-MM/N`, names from `postdesk ticket find`), cold (Dovecot
   restarted; with --drop-caches the page cache dropped too) and warm (the median of --repeat runs);
4. measures intake throughput (--intake new requests, `run --once`) into that store and into a
   fresh store on the same file system, --rounds times taking turns, and reports the medians.

Each step's time is printed as it ends, so a run at -n 100000 gives the schedule of a run at
1,000,000. The figures are printed as a table and as JSON (--json FILE too). Everything is
removed at the end unless --keep.
"""

import argparse
import imaplib
import json
import os
import pathlib
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
UID = 65534  # Dovecot's mail processes and postdesk run as nobody on the store


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def chown_r(path):
    sh("chown", "-R", f"{UID}:{UID}", path)


class Desk:
    def __init__(self, binary, base, name, existing=False):
        self.binary = binary
        self.dir = base / name
        self.data = self.dir / "var"
        self.config = self.dir / "postdesk.toml"
        self.drains = []  # (wall s, CPU s, MiB written) of each drain
        if existing:  # a store an earlier run kept (--reuse)
            return
        self.dir.mkdir()
        shutil.copytree(ROOT / "templates", self.dir / "templates")
        shutil.copytree(ROOT / "filters", self.dir / "filters")
        self.config.write_text(
            f"""[general]
data-dir = "var"
loop-value = "postdesk@company.example"

[autoresponse]
new-ticket = false
agent-notify = false

[dovecot]
admins = ["admin"]
mail-uid = {UID}
mail-gid = {UID}

[[queue]]
name = "Support"
addresses = ["support@company.example"]

[[agent]]
name = "Carol"
address = "carol@company.example"
login = "carol"
password-hash = "{{PLAIN}}carolpw"
queues = ["Support"]

[[agent]]
name = "Admin"
address = "admin@company.example"
login = "admin"
password-hash = "{{PLAIN}}adminpw"
queues = ["Support"]
"""
        )
        self.data.mkdir()
        chown_r(self.dir)

    def run(self, *args, check=True):
        r = subprocess.run(
            [self.binary, "--config", self.config, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if check and r.returncode != 0:
            sys.exit(f"postdesk {' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def drain(self, count, tag):
        """Files `count` generated new requests; returns the wall time of the drain."""
        md = self.dir / f"in-{tag}"
        for sub in ("new", "cur", "tmp"):
            (md / sub).mkdir(parents=True)
        host = socket.gethostname()
        for i in range(count):
            mid = f"{tag}.{i}@bench.example"
            body = (
                f"From: Customer {i} <c{i % 50000}@example.org>\r\n"
                f"To: support@company.example\r\n"
                f"Subject: Case {tag}-{i}: the printer jams again\r\n"
                f"Message-ID: <{mid}>\r\n"
                f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Hello,\r\n\r\nthe printer on floor {i % 7} jams again.\r\n\r\nRegards\r\n"
            ).encode()
            (md / "new" / f"{1763900000 + i}.M{i}P1.{host}").write_bytes(body)
        chown_r(md)
        os.sync()
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        t = time.monotonic()
        p = subprocess.Popen([self.binary, "--config", self.config, "run", "--once", "--maildir",
                              md, "--after", "delete"], stdout=out, stderr=err)
        # wait4: the CPU time and the blocks written (512 bytes each: the index's WAL and
        # checkpoints, the store's files) of exactly this child.
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if f"processed {count}," not in stdout or "failed 0" not in stdout:
            sys.exit(f"drain {tag}: {stdout}{err.read()}")
        self.drains.append((wall, ru.ru_utime + ru.ru_stime, ru.ru_oublock * 512 / 2**20))
        shutil.rmtree(md)
        return wall


class Dovecot:
    def __init__(self, work, generated):
        self.dir = work / "dovecot-run"
        self.generated = generated
        self.port = free_port()
        self.proc = None

    def start(self):
        d = self.dir
        if d.exists():
            shutil.rmtree(d)
        for sub in ("run", "state"):
            (d / sub).mkdir(parents=True)
        conf = d / "dovecot.conf"
        conf.write_text(
            f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
namespace inbox {{
  inbox = yes
}}
!include {self.generated}/postdesk.conf
"""
        )
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        log((d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else "")
        sys.exit("dovecot did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=120)
        m.login("carol", "carolpw")
        return m


def timed(f):
    t = time.monotonic()
    r = f()
    return time.monotonic() - t, r


def imap_ok(typ, data, what):
    if typ != "OK":
        sys.exit(f"{what}: {typ} {data}")
    return data


def drop_caches():
    os.sync()
    pathlib.Path("/proc/sys/vm/drop_caches").write_text("3\n")


def measure_imap(dv, archived, repeat, drop):
    """Cold (Dovecot restarted; with `drop` the page cache dropped too) and warm figures for
    LIST and SELECT."""
    out = {}

    def lists(m):
        q = timed(lambda: imap_ok(*m.list('""', '"Tickets/Support/*"'), "LIST queue"))
        a = timed(lambda: imap_ok(*m.list('""', '"*"'), "LIST *"))
        return q, a

    dv.stop()
    if drop:
        drop_caches()
    dv.start()
    m = dv.login()
    (tq, q), (ta, a) = lists(m)
    out["list_queue_cold_s"], out["list_all_cold_s"] = tq, ta
    out["listed_queue"], out["listed_all"] = len(q), len(a)
    if any(b"Archive" in x for x in a if isinstance(x, bytes)):
        sys.exit("an archived folder was listed")
    warm_q, warm_a = [], []
    for _ in range(repeat):
        (tq, _), (ta, _) = lists(m)
        warm_q.append(tq)
        warm_a.append(ta)
    out["list_queue_warm_s"] = statistics.median(warm_q)
    out["list_all_warm_s"] = statistics.median(warm_a)
    m.logout()

    dv.stop()
    if drop:
        drop_caches()
    dv.start()
    m = dv.login()
    cold, warm = [], []
    for name in archived:
        try:
            t, data = timed(lambda: imap_ok(*m.select(f'"{name}"', readonly=True), f"SELECT {name}"))
        except (TimeoutError, imaplib.IMAP4.abort) as e:
            out["select_archived_error"] = f"SELECT {name}: {e!r} after {m.sock.gettimeout()} s"
            log(out["select_archived_error"])
            return out
        if int(data[0]) < 1:
            sys.exit(f"SELECT {name}: empty")
        cold.append(t)
        warm.append(timed(lambda: m.select(f'"{name}"', readonly=True))[0])
    out["select_archived_cold_s"] = statistics.median(cold)
    out["select_archived_cold_max_s"] = max(cold)
    out["select_archived_warm_s"] = statistics.median(warm)
    m.logout()
    return out


def compare_intake(binary, desk, mnt, a):
    """Intake into this store and into a fresh one, same file system, same messages, taking
    turns (which one goes first alternates) so that other work on the machine and the file
    system's state weigh on both alike; the median of the rounds' ratios, and each side's CPU
    and bytes written per message."""
    fresh = Desk(binary, mnt, f"fresh-{os.getpid()}")
    big, new, ratios = [], [], []
    for r in range(a.rounds):
        order = [(desk, big), (fresh, new)]
        for d, out in order if r % 2 == 0 else reversed(order):
            os.sync()
            out.append(a.intake / d.drain(a.intake, f"in{os.getpid()}-{r}"))
        ratios.append(big[-1] / new[-1])
        log(f"intake round {r + 1}: this store {big[-1]:,.0f} msg/s "
            f"({per_message(desk.drains[-1], a.intake)}), fresh {new[-1]:,.0f} msg/s "
            f"({per_message(fresh.drains[-1], a.intake)}) ({ratios[-1]:.3f}x)")
    figures = {"intake_big_msg_s": statistics.median(big),
               "intake_fresh_msg_s": statistics.median(new),
               "intake_ratios": ratios, "intake_ratio": statistics.median(ratios)}
    for name, d in (("big", desk), ("fresh", fresh)):
        runs = d.drains[-a.rounds:]
        figures[f"intake_{name}_cpu_ms_msg"] = statistics.median(c for _, c, _ in runs) * 1000 / a.intake
        figures[f"intake_{name}_written_kib_msg"] = statistics.median(w for _, _, w in runs) * 1024 / a.intake
    return figures


def per_message(drain, count):
    _, cpu, written = drain
    return f"CPU {cpu * 1000 / count:.2f} ms, written {written * 1024 / count:.1f} KiB a message"


def intake_rows(figures):
    return [
        ("intake: this store / fresh (medians)", f"{figures['intake_big_msg_s']:,.0f} / {figures['intake_fresh_msg_s']:,.0f} msg/s (ratio {figures['intake_ratio']:.3f}x, rounds {', '.join(f'{x:.2f}' for x in figures['intake_ratios'])})"),
        ("intake CPU ms / KiB written a message", f"this store {figures['intake_big_cpu_ms_msg']:.3f} / {figures['intake_big_written_kib_msg']:.1f}, fresh {figures['intake_fresh_cpu_ms_msg']:.3f} / {figures['intake_fresh_written_kib_msg']:.1f}"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1_000_000, help="tickets in the store")
    ap.add_argument("--open", type=int, default=5000, help="of which open")
    ap.add_argument("--chunk", type=int, default=100_000, help="messages per intake run while building")
    ap.add_argument("--months", type=int, default=48, help="months the closed tickets spread over")
    ap.add_argument("--intake", type=int, default=5000, help="messages for the throughput comparison")
    ap.add_argument("--repeat", type=int, default=5, help="warm measurements (median)")
    ap.add_argument("--selects", type=int, default=20, help="archived tickets to SELECT")
    ap.add_argument("--binary", default=str(ROOT / "target/release/postdesk"))
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--image-gb", type=float, default=0, help="size of the ext4 image (default: from -n)")
    ap.add_argument("--compact", action=argparse.BooleanOptionalAction, default=True,
                    help="1 KiB blocks, 256-byte inodes, inline data (--no-compact: mkfs.ext4 defaults)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="intake comparisons, this store and a fresh one taking turns (median ratio)")
    ap.add_argument("--compact-listed-tree", action=argparse.BooleanOptionalAction, default=True,
                    help="after migrate-layout, run `postdesk compact-tree` (--no-compact-listed-tree: leave the directory as migrate-layout --no-compact left it)")
    ap.add_argument("--no-fsck", action="store_true")
    ap.add_argument("--drop-caches", action="store_true",
                    help="cold also means the page cache dropped (Dovecot's binaries are read from disk again)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", metavar="WORKDIR",
                    help="only the intake comparison (--rounds of --intake), with --binary, into the "
                         "store a run with --keep left in WORKDIR (still mounted), and a fresh one beside it")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it mounts an ext4 image and starts Dovecot")
    binary = pathlib.Path(a.binary).resolve()
    if not binary.is_file():
        sys.exit(f"{binary}: build it first (cargo build --release --locked)")
    if a.reuse:
        mnt = pathlib.Path(a.reuse) / "mnt"
        desk = Desk(binary, mnt, "desk", existing=True)
        figures = compare_intake(binary, desk, mnt, a)
        for k, v in intake_rows(figures):
            print(f"{k:<45} {v}")
        print(json.dumps(figures, indent=1))
        if a.json:
            pathlib.Path(a.json).write_text(json.dumps(figures, indent=1) + "\n")
        sys.exit(0 if figures["intake_ratio"] > 0.95 else 1)

    work = pathlib.Path(os.path.realpath(a.workdir)) / f"pd-bench-tree-{os.getpid()}"
    work.mkdir()
    img, mnt = work / "tree.img", work / "mnt"
    # A ticket takes 5 inodes (its folder, cur/ new/ tmp/, an article) and its source file one
    # more while it waits. With mkfs.ext4's defaults (4 KiB blocks, an inode per 16 KiB) that is
    # about 25 KiB of disk a ticket, 25 GB at a million. --compact (the default) makes 1 KiB
    # blocks, 256-byte inodes and inline data, which keeps a folder of a few entries inside its
    # inode: about 5 KiB a ticket with the index. The image is sparse either way.
    inodes = int(a.n * 6.5) + 200_000
    if a.compact:
        gb = a.image_gb or a.n * (6.5 * 256 + 5 * 1024) / 2**30 + 3
        # large_dir: with 1 KiB blocks a two-level directory index ends at a few hundred
        # thousand entries, and while building, every ticket is open in the one listed tree.
        mkfs = ["-b", "1024", "-I", "256", "-O", "inline_data,large_dir", "-N", str(inodes)]
    else:
        gb = a.image_gb or a.n * 6 * 16 * 1024 * 1.2 / 2**30 + 4
        mkfs = []
    figures = {"tickets": a.n, "open": a.open}
    dv = None
    try:
        sh("truncate", "-s", f"{int(gb * 2**30)}", img)
        sh("mkfs.ext4", "-q", "-F", *mkfs, img)
        mnt.mkdir()
        sh("mount", "-o", "loop", img, mnt)
        os.chmod(work, 0o755)
        os.chmod(mnt, 0o755)
        log(f"ext4 image {gb:.1f} GiB at {mnt}")
        desk = Desk(binary, mnt, "desk")

        t0 = time.monotonic()
        done = 0
        while done < a.n:
            k = min(a.chunk, a.n - done)
            wall = desk.drain(k, f"b{done}")
            done += k
            log(f"built {done}/{a.n} tickets: this chunk {k / wall:,.0f} msg/s, "
                f"{time.monotonic() - t0:,.0f} s so far")
        figures["build_s"] = time.monotonic() - t0

        store = desk.data / "store"
        numbers = sorted(n.split(".")[2] for n in os.listdir(store)
                         if n.startswith(".Support.") and n.count(".") == 2)
        random.seed(7)
        closed = set(random.sample(numbers, len(numbers) - a.open))
        now = time.time()
        t = time.monotonic()
        for i, n in enumerate(sorted(closed)):
            dst = store / f".Support.Closed.{n}"
            os.rename(store / f".Support.{n}", dst)
            when = now - (i % a.months) * 31 * 86400
            os.utime(dst, (when, when))
        figures["close_renames_s"] = time.monotonic() - t
        log(f"closed {len(closed)} in the old layout in {figures['close_renames_s']:.0f} s")
        for step in ("reindex", "migrate-layout"):
            t = time.monotonic()
            r = desk.run(step) if step == "reindex" else desk.run(step, "--no-compact")
            figures[step.replace("-", "_") + "_s"] = time.monotonic() - t
            log(f"{step}: {r.stdout.strip()} ({figures[step.replace('-', '_') + '_s']:.0f} s)")
        if not a.no_fsck:
            t = time.monotonic()
            r = desk.run("fsck", check=False)
            figures["fsck_s"] = time.monotonic() - t
            figures["fsck_clean"] = r.returncode == 0
            log(f"fsck: {r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr} "
                f"({figures['fsck_s']:.0f} s)")
        entries = lambda d: len(os.listdir(d))
        archive = desk.data / "archive" / "Support"
        figures["listed_tree_entries"] = entries(store)
        figures["largest_archive_month"] = max(entries(archive / m) for m in os.listdir(archive))
        figures["listed_tree_dir_bytes"] = os.stat(store).st_size
        if a.compact_listed_tree:
            t = time.monotonic()
            r = desk.run("compact-tree")
            figures["compact_listed_tree_s"] = time.monotonic() - t
            log(f"compact-tree: {r.stdout.strip()} ({figures['compact_listed_tree_s']:.1f} s)")
            figures["listed_tree_dir_bytes_compacted"] = os.stat(store).st_size
            log(f"listed tree's directory {figures['listed_tree_dir_bytes']:,} bytes, "
                f"compacted to {figures['listed_tree_dir_bytes_compacted']:,}")
        st = os.statvfs(mnt)
        figures["fs_used_gib"] = (st.f_blocks - st.f_bfree) * st.f_frsize / 2**30
        figures["fs_inodes_used"] = st.f_files - st.f_ffree
        log(f"file system: {figures['fs_used_gib']:.1f} GiB, {figures['fs_inodes_used']:,} inodes used")

        r = desk.run("dovecot-config")
        generated = desk.data / "dovecot"
        gid = int(next(l.split(":")[2] for l in open("/etc/group") if l.startswith("dovecot:")))
        for p in (generated, generated / "passwd"):
            os.chown(p, -1, gid)
        # postdesk ran as the data directory's owner throughout; only what was written as root
        # here needs handing over (a chown -R of a million tickets takes minutes).
        chown_r(generated)
        sample = random.sample(sorted(closed), min(a.selects, len(closed)))
        archived = []
        for n in sample:
            found = json.loads(desk.run("ticket", "find", n, "--json").stdout)
            archived.append(found[0]["folder"])
        dv = Dovecot(work, generated)
        figures.update(measure_imap(dv, archived, a.repeat, a.drop_caches))
        dv.stop()

        figures.update(compare_intake(binary, desk, mnt, a))
    finally:
        if dv:
            dv.stop()
        if not a.keep:
            for _ in range(20):  # Dovecot's imap processes may still be leaving
                if subprocess.run(["umount", str(mnt)], stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.5)
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work} (mounted at {mnt})")

    rows = [
        ("tickets / open", f"{a.n:,} / {a.open:,}"),
        ("build through postdesk", f"{figures['build_s']:,.0f} s ({a.n / figures['build_s']:,.0f} tickets/s)"),
        ("reindex (old layout)", f"{figures['reindex_s']:,.0f} s"),
        ("migrate-layout", f"{figures['migrate_layout_s']:,.0f} s ({(a.n - a.open) / figures['migrate_layout_s']:,.0f} folders/s)"),
        ("fsck", "skipped" if a.no_fsck else f"{figures['fsck_s']:,.0f} s, clean: {figures['fsck_clean']}"),
        ("file system used (GiB / inodes)", f"{figures['fs_used_gib']:.1f} / {figures['fs_inodes_used']:,}"),
        ("listed tree's directory (bytes)", f"{figures['listed_tree_dir_bytes']:,}" + (f", compacted {figures['listed_tree_dir_bytes_compacted']:,}" if a.compact_listed_tree else "")),
        ("entries: listed tree / largest archive month", f"{figures['listed_tree_entries']:,} / {figures['largest_archive_month']:,}"),
        ("LIST queue cold / warm", f"{figures['list_queue_cold_s']:.3f} s / {figures['list_queue_warm_s']:.3f} s ({figures['listed_queue']:,} folders)"),
        ("LIST * cold / warm", f"{figures['list_all_cold_s']:.3f} s / {figures['list_all_warm_s']:.3f} s ({figures['listed_all']:,} folders)"),
        ("SELECT archived cold (median, max) / warm", figures.get("select_archived_error") or f"{figures['select_archived_cold_s']:.4f} s, {figures['select_archived_cold_max_s']:.4f} s / {figures['select_archived_warm_s']:.4f} s"),
    ] + intake_rows(figures)
    for k, v in rows:
        print(f"{k:<45} {v}")
    print(json.dumps(figures, indent=1))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(figures, indent=1) + "\n")
    ok = (figures["list_queue_cold_s"] < 1 and figures["list_all_cold_s"] < 1
          and figures["list_queue_warm_s"] < 0.1 and figures["list_all_warm_s"] < 0.1
          and figures.get("select_archived_warm_s", 1) < 0.1 and figures["intake_ratio"] > 0.95
          and figures.get("fsck_clean", True))
    print("targets met" if ok else "TARGETS NOT MET")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
