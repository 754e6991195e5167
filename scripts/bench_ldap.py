#!/usr/bin/env python3
"""LDAP directory benchmark for postdesk: a full read of a large directory from OpenLDAP's slapd
on this machine, then incremental refreshes.

Generates N inetOrgPerson entries (default 100,000; each with two mail addresses, a phone, a
mobile and a fax number, one or two organisations), N/1000 organisations with a domain and a
switchboard number, and 20 groupOfNames of 50 members, loads them with `slapadd -q` into a
throw-away mdb database, starts slapd on 127.0.0.1 (as the openldap user, plain ldap://: the
bench measures the directory's path, not TLS), and runs

    postdesk --config F directory sync

three times: into an empty index (the full read), after `ldapmodify` changed the phone number of
--changes entries (default 100), and once more with nothing changed. For each run: wall time,
CPU time, peak RSS (the child's VmHWM, polled: see bench.py), what postdesk says it wrote and
removed, and the blocks the child wrote (wait4's ru_oublock, 512 bytes each; the index's WAL
and checkpoints). Checks: the full read finds every entry and writes each once, the refresh
after the changes writes exactly those, the unchanged refresh writes nothing; exit 1 otherwise.
The full read's target is under 60 s.

Run as root (slapd runs as openldap) with slapd and ldap-utils installed, after
`cargo build --release`. python3 stdlib only; everything lives in a temp dir removed at the end
unless --keep.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import PeakWatcher  # noqa: E402
from bench_tree import free_port, log  # noqa: E402

SUFFIX = "dc=example,dc=test"
ADMIN = "cn=admin," + SUFFIX
PASSWORD = "bench-admin-pw"
READ_RE = re.compile(
    r"read in ([0-9.]+) s: (\d+) persons?, (\d+) organisations?, (\d+) groups?; "
    r"(\d+) written \(new or changed\), (\d+) removed")


def person_dn(i):
    return "uid=p%06d,ou=people,%s" % (i, SUFFIX)


def generate(path, n, orgs, groups, members):
    """The LDIF: suffix, containers, organisations, persons, groups."""
    with open(path, "w") as f:
        f.write("dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
                "o: Example Test\ndc: example\n\n" % SUFFIX)
        for ou in ("people", "organisations", "groups"):
            f.write("dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n" % (ou, SUFFIX, ou))
        for o in range(orgs):
            f.write("dn: o=Org %04d,ou=organisations,%s\nobjectClass: organization\n"
                    "objectClass: domainRelatedObject\no: Org %04d\n"
                    "associatedDomain: org%04d.example\ntelephoneNumber: +49 30 %04d0\n\n"
                    % (o, SUFFIX, o, o, o))
        for i in range(n):
            o = i % orgs
            f.write("dn: %s\nobjectClass: inetOrgPerson\nuid: p%06d\ncn: Person %06d\n"
                    "givenName: Person\nsn: Number %06d\nmail: p%06d@org%04d.example\n"
                    "mail: person.%06d@home.example\ntelephoneNumber: 0541 %07d\n"
                    "mobile: 0170 %07d\nfacsimileTelephoneNumber: 0541 %07d-9\no: Org %04d\n"
                    % (person_dn(i), i, i, i, i, o, i, i, i, i, o))
            if i % 10 == 0:
                f.write("o: Org %04d\n" % ((o + 1) % orgs))
            f.write("\n")
        for g in range(groups):
            f.write("dn: cn=group%02d,ou=groups,%s\nobjectClass: groupOfNames\ncn: group%02d\n"
                    % (g, SUFFIX, g))
            for m in range(members):
                f.write("member: %s\n" % person_dn((g * members + m) % n))
            f.write("\n")


def start_slapd(work):
    ldap = work / "ldap"
    (ldap / "db").mkdir(parents=True)
    (ldap / "run").mkdir()
    pw_hash = subprocess.run(["slappasswd", "-s", PASSWORD], check=True, capture_output=True,
                             text=True).stdout.strip()
    (ldap / "slapd.conf").write_text(
        "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n"
        "include /etc/ldap/schema/inetorgperson.schema\ninclude /etc/ldap/schema/nis.schema\n"
        "pidfile %(d)s/run/slapd.pid\nargsfile %(d)s/run/slapd.args\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\nloglevel none\n\n"
        "database mdb\nmaxsize 4294967296\nsuffix \"%(s)s\"\nrootdn \"%(a)s\"\nrootpw %(h)s\n"
        "directory %(d)s/db\nlimits * size.prtotal=unlimited\nindex objectClass eq\n"
        "index uid,mail,cn eq\naccess to * by * read\n"
        % {"d": ldap, "s": SUFFIX, "a": ADMIN, "h": pw_hash})
    return ldap


def run_sync(binary, work, label):
    """One `directory sync`, measured."""
    cmd = [str(binary), "--config", str(work / "postdesk.toml"), "directory", "sync"]
    out_p, err_p = work / ("%s.stdout" % label), work / ("%s.stderr" % label)
    with open(out_p, "wb") as so, open(err_p, "wb") as se:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=so, stderr=se)
        hwm = PeakWatcher(p.pid)
        _, status, ru = os.wait4(p.pid, 0)
        hwm.stop()
        wall = time.perf_counter() - t0
    out = out_p.read_text(errors="replace")
    m = READ_RE.search(out)
    if os.waitstatus_to_exitcode(status) != 0 or not m:
        raise SystemExit("%s: postdesk failed\nstdout: %s\nstderr: %s"
                         % (label, out, err_p.read_text(errors="replace")[-3000:]))
    persons, orgs, groups, written, removed = map(int, m.groups()[1:])
    return {"label": label, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
            "rss_mib": hwm.peak_kib / 1024, "persons": persons, "organisations": orgs,
            "groups": groups, "written": written, "removed": removed,
            "written_mib": ru.ru_oublock * 512 / 2**20}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100_000, help="persons (default 100000)")
    ap.add_argument("--changes", type=int, default=100, help="entries changed (default 100)")
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--binary", default=str(Path(__file__).resolve().parent.parent
                                             / "target/release/postdesk"))
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_ldap.py: run as root (slapd runs as the openldap user)")
    binary = Path(a.binary)
    if not binary.exists():
        raise SystemExit("%s: build it first (cargo build --release)" % binary)
    work = Path(tempfile.mkdtemp(prefix="pd-bench-ldap-", dir=a.workdir))
    os.chmod(work, 0o755)
    slapd = None
    try:
        orgs, groups, members = max(1, a.n // 1000), 20, 50
        ldap = start_slapd(work)
        t = time.perf_counter()
        generate(ldap / "data.ldif", a.n, orgs, groups, members)
        log("generated %d persons, %d organisations, %d groups in %.1f s"
            % (a.n, orgs, groups, time.perf_counter() - t))
        t = time.perf_counter()
        subprocess.run(["slapadd", "-q", "-f", str(ldap / "slapd.conf"), "-l",
                        str(ldap / "data.ldif")], check=True)
        log("slapadd -q: %.1f s" % (time.perf_counter() - t))
        subprocess.run(["chown", "-R", "openldap:openldap", str(ldap)], check=True)
        port = free_port()
        url = "ldap://127.0.0.1:%d" % port
        slapd = subprocess.Popen(
            ["setpriv", "--reuid=openldap", "--regid=openldap", "--init-groups", "slapd", "-d",
             "0", "-f", str(ldap / "slapd.conf"), "-h", url + "/"],
            stdout=subprocess.DEVNULL, stderr=open(ldap / "slapd.log", "wb"))
        for _ in range(500):
            if subprocess.run(["ldapsearch", "-x", "-H", url, "-s", "base", "-b", "",
                               "namingContexts"], capture_output=True).returncode == 0:
                break
            time.sleep(0.02)
        else:
            raise SystemExit("slapd did not answer")
        (work / "ldap.pw").write_text(PASSWORD + "\n")
        (work / "postdesk.toml").write_text(
            "[general]\ndata-dir = \"data\"\n\n[directory]\ncountry-code = \"49\"\n"
            "area-code = \"541\"\n\n[directory.ldap]\nurl = \"%s\"\nstarttls = false\n"
            "bind-dn = \"%s\"\npassword-file = \"ldap.pw\"\npeople-base = \"ou=people,%s\"\n"
            "organisations-base = \"ou=organisations,%s\"\ngroups-base = \"ou=groups,%s\"\n"
            "page-size = %d\n\n[[queue]]\nname = \"Support\"\naddresses = [\"support@desk.example\"]\n"
            % (url, ADMIN, SUFFIX, SUFFIX, SUFFIX, a.page_size))
        entries = a.n + orgs + groups
        rows = [run_sync(binary, work, "full")]
        step = max(1, a.n // a.changes)
        changed = [i * step for i in range(a.changes)]
        (work / "change.ldif").write_text("".join(
            "dn: %s\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: 0541 9%06d\n\n"
            % (person_dn(i), i) for i in changed))
        subprocess.run(["ldapmodify", "-x", "-H", url, "-D", ADMIN, "-w", PASSWORD, "-f",
                        str(work / "change.ldif")], check=True, stdout=subprocess.DEVNULL)
        rows.append(run_sync(binary, work, "changed"))
        rows.append(run_sync(binary, work, "unchanged"))
        print("%-10s %8s %7s %9s %8s %8s %8s %11s" % ("run", "wall s", "cpu s", "peak RSS",
                                                      "entries", "written", "removed",
                                                      "disk writes"))
        for r in rows:
            print("%-10s %8.1f %7.1f %6.0f MiB %8d %8d %8d %7.1f MiB"
                  % (r["label"], r["wall"], r["cpu"], r["rss_mib"],
                     r["persons"] + r["organisations"] + r["groups"], r["written"],
                     r["removed"], r["written_mib"]))
        full, changed_run, same = rows
        bad = []
        if full["persons"] + full["organisations"] + full["groups"] != entries:
            bad.append("the full read found %d entries, not %d"
                       % (full["persons"] + full["organisations"] + full["groups"], entries))
        if full["written"] != entries:
            bad.append("the full read wrote %d entries, not %d" % (full["written"], entries))
        if changed_run["written"] != a.changes:
            bad.append("the refresh after %d changes wrote %d" % (a.changes, changed_run["written"]))
        if same["written"] or same["removed"]:
            bad.append("the unchanged refresh wrote %d, removed %d"
                       % (same["written"], same["removed"]))
        print("full read of %d entries: %.1f s (target < 60 s: %s), peak RSS %.0f MiB"
              % (entries, full["wall"], "met" if full["wall"] < 60 else "MISSED", full["rss_mib"]))
        for b in bad:
            print("MISMATCH: " + b)
        return 1 if bad else 0
    finally:
        if slapd:
            slapd.terminate()
            slapd.wait()
        if a.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
