#!/usr/bin/env python3
"""Intake benchmark for postdesk: Maildir in, tickets out, durability on.

Generates a realistic Maildir (about 70 % new requests, 30 % follow-ups threaded by
In-Reply-To/References to an earlier request of the same customer, about 10 % of all messages
with a 50-300 KB PDF/TIFF attachment), drains it with

    postdesk --config F --data-dir D run --once --maildir M --after delete

and measures wall time, messages/s, CPU time and peak RSS of that one child, and the per-message
latency (`ms=` of the mail log: read at the source -> batch durable). The summary line is checked
against what was generated; any difference prints MISMATCH and exits 1. For the committing
thread and the outbox's it prints the scheduler's account (/proc/PID/task/TID/schedstat): time
on a CPU, time runnable but waiting for a CPU, and the rest of the wall time, blocked.

How the child is measured: the bench starts postdesk with subprocess.Popen and reaps it itself
with os.wait4(pid), which returns the CPU time of exactly that child (ru_utime/ru_stime), without
mixing in other children of this script (the preload run, `ticket list`). Peak RSS is the child's
VmHWM from /proc, polled while it runs: wait4's ru_maxrss would include this Python process's
memory from before exec, which after a large preload is hundreds of MiB.

Before every measured run the bench calls sync(2), so the run's group commits (syncfs) do not
pay for flushing the generator's own writes.

Modes:
  (default)            one run with -n N messages (default 20000)
  --preload K          first files K small new requests in an unmeasured run into the same
                       data dir; then some follow-ups of the measured run (--tag-share of them)
                       go to those tickets: subject tag [Ticket#N] + References to the ticket's
                       first Message-ID + From its customer. The rest thread by References only
                       to requests of the measured run (their numbers are not known in advance).
  --sizes 5000,20000   the plain benchmark at several N, to show peak RSS staying flat
  --hostile            20 hostile messages (thousands of tiny or empty MIME parts, multiparts
                       nested to the depth limit and far beyond it, tens of thousands of header
                       lines, one large attachment), generated here; prints the peak RSS of the
                       `run --once` that files them against the bound 10 x the largest message
                       + 150 MB, and exits 1 when it is passed
  --callgrind          the measured run under `valgrind --tool=callgrind`: prints the instructions
                       it ran in user space, which do not vary between runs (three runs of one
                       binary agree within 0.1 %), unlike wall and CPU time on a shared machine;
                       for comparing two builds on a small N (1000 takes about half a minute).
                       Its times mean nothing; SHA-256 runs without the CPU's SHA instructions
                       there (apt-get install valgrind)
  --smtp               mail sent by SMTP to a sink on 127.0.0.1 (tests/it/smtp_sink.py, aiosmtpd,
                       writing under the system's temp dir), not into the local Maildir outbox:
                       the outbox hands over 8 mails at a time, as to a relay
  --postgres           the index on PostgreSQL 15 instead of SQLite: a server is made with
                       initdb under --workdir (its defaults: fsync and synchronous commit on),
                       one database per case, stopped at the end (as root: the server runs as
                       the postgres user)
  --against B          compare the binary with another, B, in alternating runs (--pairs K,
                       default 3; the order flips each pair, so a drift of the machine's speed
                       falls on both): each run's msg/s, CPU and the committing thread's
                       account, each pair's ratio and the ratio of the means. On a shared
                       machine one run of each says nothing: the same binary's CPU time for the
                       same messages varies by a fifth or more from one minute to the next
  --scaling            the same M-message workload (--scaling-messages, default 5000) after
                       preloads of 1000 and 200000 tickets (--scaling-preloads), in separate
                       data dirs; prints cost-per-message ratios (wall and CPU)

Everything lives in fresh temp dirs (under --workdir, default /tmp), all removed at the end
unless --keep; removal is deferred to the end on purpose:

ext4 without a journal (e.g. some VM images; check `ls /proc/fs/jbd2/`): the inode allocator
skips inodes freed in the last 1-6 minutes (fs/ext4/ialloc.c, recently_deleted()), and it
scans past every one of them on each create/mkdir. After deleting many files (a previous
case's data dir, a preload Maildir) every create in the same block groups gets slow; perf
shows ext4_create/ext4_mkdir -> find_inode_bit -> recently_deleted on top. The window is 60 s
for an inode whose inode-table block is clean, 360 s while that block is dirty -- and new
allocations keep dirtying it, so count on 6 minutes. Hence nothing is deleted between cases,
the unmeasured preload uses `--after seen`, and `--settle 370` waits out the deletions of an
earlier case's measured run (or an earlier invocation's cleanup). The measured run itself
uses `--after delete` (as a daemon draining a Maildir would) and so also pays for its own
deletions on such a file system; `--after seen` shows the difference.

python3 stdlib only.
"""

import argparse
import base64
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO / "target" / "release" / "postdesk"

SUPPORT = "support@company.example"
BILLING = "billing@company.example"

CONFIG = """\
[general]
data-dir = "var"
durable = true
[autoresponse]
templates = "%s"
# A benchmark opens thousands of tickets a minute, which the default circuit breaker (60
# autoresponses a minute) takes for a loop: all but the first 60 acknowledgements would be
# paused. Out of reach here, so that every new ticket gets its acknowledgement as described.
circuit-breaker-per-minute = 100000000
[filters]
dir = "%s"
[[queue]]
name = "Support"
addresses = ["support@company.example"]
[[queue]]
name = "Billing"
addresses = ["billing@company.example"]
[[queue]]
name = "Junk"
""" % (REPO / "templates", REPO / "filters")

# The repository's agents (postdesk.toml): two agents of the Support queue, one of Billing.
AGENTS = """
[[agent]]
name = "Alice Agent"
address = "alice@company.example"
queues = ["Support", "Billing"]
[[agent]]
name = "Bob Agent"
address = "bob@company.example"
queues = ["Support"]
"""


def config(agents=False, notice=None, smtp_port=None):
    """The benchmark's configuration; with `agents`, the repository's agents get notices; with
    `smtp_port`, mail goes out by SMTP to 127.0.0.1 on that port."""
    text = CONFIG
    if notice:
        text = text.replace("[filters]", 'agent-notice = "%s"\n[filters]' % notice, 1)
    if smtp_port:
        text += '[outgoing]\ntransport = "smtp"\n[outgoing.smtp]\nport = %d\n' % smtp_port
    return text + (AGENTS if agents else "")


SUMMARY_RE = re.compile(
    r"processed (\d+), new tickets (\d+), follow-ups (\d+), duplicates (\d+), "
    r"quarantined (\d+), failed (\d+)"
)
MS_RE = re.compile(r" ms=([0-9.]+)")
TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")
VERDICT_RE = re.compile(r" verdict=(\S+)")
SENT_RE = re.compile(r"outbox=sent ticket=\S* kind=([a-z-]+)")

# --------------------------------------------------------------------------------------------
# Text material
# --------------------------------------------------------------------------------------------

FIRST = [
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Ian", "Julia",
    "Karl", "Laura", "Marco", "Nina", "Oscar", "Paula", "Quentin", "Rosa", "Stefan", "Tina",
    "Ulrich", "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Jürgen", "Åsa", "Zoë", "José",
    "François", "Małgorzata", "Søren", "Chloé", "Mehmet", "Priya", "Wei", "Kenji", "Olga",
    "Fatima", "Liam", "Noah", "Mia", "Elif", "Tomasz", "Ingrid", "Pedro", "Sofia", "Aiko",
]
LAST = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Bernard", "Dubois", "Rossi",
    "Russo", "García", "Fernández", "López", "Nowak", "Kowalski", "Jensen", "Nielsen",
    "Andersson", "Johansson", "Virtanen", "Yılmaz", "Kaya", "Tanaka", "Suzuki", "Chen",
    "Wang", "Singh", "Patel", "O'Brien", "Murphy", "van Dijk", "de Vries", "Novák",
]
DOMAINS = [
    "example.org", "example.net", "mail.example.com", "acme-industries.example",
    "globex.example", "initech.example", "umbrella-corp.example", "stark.example",
    "wayne-enterprises.example", "hooli.example", "piedpiper.example", "soylent.example",
    "tyrell.example", "cyberdyne.example", "wonka.example", "gringotts.example",
]
MAILERS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.4.0",
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.200.91.1.1)",
    "Roundcube Webmail/1.6.9",
    "K-9 Mail for Android",
    "Evolution 3.52.4",
]

SUPPORT_SUBJECTS = [
    "Cannot log in since the last update",
    "Password reset link does not arrive",
    "Error 500 when saving the project settings",
    "Export to CSV stops at 10,000 rows",
    "Question about the API rate limits",
    "Two-factor authentication codes rejected",
    "Dashboard very slow this morning",
    "How do I add a second administrator?",
    "Sync with the mobile app fails",
    "Webhook deliveries are missing",
    "Feature request: dark mode for reports",
    "Order #{order}: wrong item in the parcel",
    "Order #{order} still not shipped",
    "Tracking number {track} shows no progress",
    "Printer driver crashes on Windows 11",
    "Data import from Excel garbles umlauts",
    "SSO with Azure AD: redirect loop",
    "Our account {acct} is locked",
    "Problem mit der Anmeldung seit gestern",
    "Frage zur Datenschutzerklärung",
    "Problème de connexion à l'espace client",
    "Licence key for workstation {host} invalid",
    "Calendar invitations arrive twice",
    "Attachment upload fails above 20 MB",
    "Search returns no results for customer {acct}",
    "Need help configuring SMTP relay",
    "Mobile app crashes on start (Android 15)",
    "Permissions of user {user} reset after update",
]
BILLING_SUBJECTS = [
    "Invoice {inv} charged twice",
    "Please send a copy of invoice {inv}",
    "VAT ID missing on invoice {inv}",
    "Refund for order #{order}",
    "Change of billing address",
    "Question about the annual plan price",
    "Credit card declined, how to update it?",
    "Cancel subscription for account {acct}",
    "Rechnung {inv} – falscher Betrag",
    "SEPA mandate for account {acct}",
    "Purchase order {po} for renewal",
    "Discount for non-profit organisations?",
]
GREETINGS = ["Hello,", "Hi,", "Dear support team,", "Good morning,", "Hello support,",
             "Hallo zusammen,", "Bonjour,", "Hi there,", "Dear Sir or Madam,"]
SENTENCES = [
    "Since yesterday afternoon the problem occurs every time we try it.",
    "We have already restarted the application and cleared the browser cache.",
    "The error message says that the request could not be completed.",
    "This affects about twenty colleagues in our Berlin office.",
    "Could you please look into this as soon as possible?",
    "It worked fine until the update last week.",
    "I attached a screenshot of the dialog, in case it helps.",
    "Our IT department checked the firewall and found nothing unusual.",
    "We use the professional plan with 45 seats.",
    "The same happens in Firefox, Chrome and Edge.",
    "Please let me know if you need any further information from our side.",
    "The deadline for our quarterly report is on Friday, so this is rather urgent.",
    "I tried the steps from your knowledge base article, without success.",
    "When I click on 'Save', nothing happens for about a minute and then the page reloads.",
    "Our accounting department needs the corrected document for the audit.",
    "The amount on the statement does not match the quote we received.",
    "We were charged on the 3rd and again on the 5th of this month.",
    "Could you confirm that the cancellation takes effect at the end of the term?",
    "Ich habe das Problem auch auf einem zweiten Rechner nachvollziehen können.",
    "Les utilisateurs concernés ne reçoivent aucun message d'erreur.",
    "The log file shows a timeout after exactly thirty seconds.",
    "We would also like to know whether this is a known issue.",
    "Kind regards from the whole team — and thanks for the quick help last time.",
    "Is there a workaround we can use in the meantime?",
    "Our contract number is in the signature below.",
    "The customer portal shows the status 'pending' for three days now.",
    "I'm not sure whether this is a bug or a configuration problem on our side.",
    "Please call me back, my number is in the signature.",
]
REPLY_SENTENCES = [
    "Thank you for your answer.",
    "Unfortunately the problem is still there.",
    "I tried what you suggested, but it did not help.",
    "That solved it, thanks a lot!",
    "Here is the additional information you asked for.",
    "Any news on this? We are still waiting.",
    "Our colleague has the same problem now.",
    "Please find the requested document attached.",
    "Danke für die schnelle Rückmeldung.",
    "Merci pour votre réponse rapide.",
    "The error code is E-{code} this time.",
    "It happened again this morning at 9:14.",
]
CLOSINGS = ["Best regards,", "Kind regards,", "Thanks,", "Cheers,", "Mit freundlichen Grüßen,",
            "Cordialement,", "Regards,"]
HTML_HEAD = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
             "charset=utf-8\"></head><body style=\"font-family: Calibri, sans-serif\">")

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rfc2822(ts):
    t = time.gmtime(ts)
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (
        DAYS[t.tm_wday], t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min,
        t.tm_sec)


def encode_word(s):
    """RFC 2047 B-encoding when s is not ASCII."""
    if s.isascii():
        return s
    return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="


def display(name, addr):
    if name.isascii():
        if any(c in name for c in "'\",.()"):
            return '"%s" <%s>' % (name.replace('"', ""), addr)
        return "%s <%s>" % (name, addr)
    return "%s <%s>" % (encode_word(name), addr)


def ascii_local(s):
    table = str.maketrans("äöüßåøéèçłñıëóáí", "aousaoeeclnieoai")
    s = s.lower().translate(table)
    return re.sub(r"[^a-z]", "", s)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

class Generator:
    """Builds messages. One instance per Maildir; `rng` seeds everything."""

    LINE_RAW = 57  # bytes per 76-character base64 line

    def __init__(self, seed, customers=5000):
        self.rng = random.Random(seed)
        rng = self.rng
        self.customers = []
        seen = set()
        while len(self.customers) < customers:
            f, l, d = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
            addr = "%s.%s%d@%s" % (ascii_local(f), ascii_local(l), rng.randrange(1000), d)
            if addr in seen:
                continue
            seen.add(addr)
            self.customers.append(("%s %s" % (f, l), addr))
        # Attachment material: random bytes, base64-encoded once into 76-char lines; each
        # attachment is a slice of these lines after a type-specific first line.
        pool_raw = os.urandom(400 * 1024 - 400 * 1024 % self.LINE_RAW)
        enc = base64.b64encode(pool_raw).decode()
        self.pool_lines = [enc[i:i + 76] for i in range(0, len(enc), 76)]
        self.heads = {
            "application/pdf": base64.b64encode(
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n"
                .ljust(self.LINE_RAW, b" ")
            ).decode(),
            "image/tiff": base64.b64encode(
                b"II*\x00\x08\x00\x00\x00\x10\x00\xfe\x00\x04\x00\x01\x00\x00\x00\x00\x00\x00"
                .ljust(self.LINE_RAW, b"\x00")
            ).decode(),
        }
        assert all(len(h) == 76 for h in self.heads.values())
        self.t = 1767225600  # 2026-01-01, advances per message
        self.counter = 0

    # -- pieces ------------------------------------------------------------------------------

    def fill(self, subject_tpl):
        r = self.rng
        return subject_tpl.format(
            order=r.randrange(100000, 999999),
            track="1Z%06dDE%04d" % (r.randrange(10 ** 6), r.randrange(10 ** 4)),
            acct="C-%05d" % r.randrange(10 ** 5),
            host="WS-%03d" % r.randrange(1000),
            user="%s.%s" % (ascii_local(r.choice(FIRST)), ascii_local(r.choice(LAST))),
            inv="INV-2026-%05d" % r.randrange(10 ** 5),
            po="PO%07d" % r.randrange(10 ** 7),
        )

    def new_mid(self, addr):
        self.counter += 1
        dom = addr.rsplit("@", 1)[1]
        return "%d.%08x%04x@%s" % (self.t, self.rng.getrandbits(32), self.counter % 65536,
                                   "mail." + dom if not dom.startswith("mail.") else dom)

    def text(self, target, name, uniq, reply=False):
        """A plain-text body of about `target` bytes (UTF-8), unique through `uniq`."""
        r = self.rng
        out = [r.choice(GREETINGS), ""]
        size = 40
        pool = REPLY_SENTENCES if reply else SENTENCES
        para = []
        while size < target:
            s = r.choice(pool).replace("{code}", str(r.randrange(1000, 9999)))
            if r.random() < 0.25:
                s = r.choice(SENTENCES)
            para.append(s)
            size += len(s) + 1
            if len(para) >= r.randrange(2, 6):
                out.append(" ".join(para))
                out.append("")
                para = []
        if para:
            out.append(" ".join(para))
            out.append("")
        out += [r.choice(CLOSINGS), name, "Ref %s / phone +49 30 %07d" % (uniq, r.randrange(10 ** 7))]
        return "\n".join(out) + "\n"

    def attachment(self, boundary):
        r = self.rng
        ctype = r.choice(("application/pdf", "image/tiff"))
        raw = r.randrange(50 * 1024, 300 * 1024)
        nlines = raw // self.LINE_RAW
        start = r.randrange(0, len(self.pool_lines) - nlines)
        if ctype == "application/pdf":
            fname = r.choice(("invoice", "scan", "contract", "statement", "report")) + "-%05d.pdf" % r.randrange(10 ** 5)
        else:
            fname = "fax-%05d.tif" % r.randrange(10 ** 5)
        return (
            "--%s\nContent-Type: %s; name=\"%s\"\nContent-Disposition: attachment; "
            "filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s\n%s\n"
            % (boundary, ctype, fname, fname, self.heads[ctype],
               "\n".join(self.pool_lines[start:start + nlines]))
        )

    # -- whole messages ----------------------------------------------------------------------

    def message(self, cust, to, subject, mid, body_target, attach, parent=None, refs=(),
                reply=False, uniq=""):
        """Returns the bytes of one message."""
        r = self.rng
        name, addr = cust
        self.t += r.randrange(1, 4)
        date = rfc2822(self.t)
        dom = addr.rsplit("@", 1)[1]
        hdr = [
            "Return-Path: <%s>" % addr,
            "Delivered-To: %s" % to,
            "Received: from mail.%s (mail.%s [203.0.113.%d])\n\tby mx.company.example "
            "(Postfix) with ESMTPS id %X\n\tfor <%s>; %s"
            % (dom, dom, r.randrange(1, 255), r.getrandbits(40), to, date),
            "From: %s" % display(name, addr),
            "To: %s" % (display("Company Support", to) if r.random() < 0.5 else to),
        ]
        if r.random() < 0.1:
            cn, ca = r.choice(self.customers)
            hdr.append("Cc: %s" % display(cn, ca))
        hdr += ["Subject: %s" % encode_word(subject), "Date: %s" % date,
                "Message-ID: <%s>" % mid]
        if parent:
            hdr.append("In-Reply-To: <%s>" % parent)
            hdr.append("References: %s" % " ".join("<%s>" % x for x in refs))
        hdr += ["MIME-Version: 1.0", "User-Agent: %s" % r.choice(MAILERS)]
        if r.random() < 0.3:
            hdr.append("Content-Language: %s" % r.choice(("en-US", "de-DE", "fr-FR", "en-GB")))

        alt = r.random() < 0.3  # multipart/alternative: the HTML part takes about as much again
        text = self.text(body_target // 2 if alt else body_target, name, uniq or mid, reply)
        if reply:
            text += "\nOn %s, Company Support <%s> wrote:\n> Thank you for contacting us.\n" \
                    "> We are looking into it.\n" % (rfc2822(self.t - 3600), to)
        if alt:
            html = HTML_HEAD + "".join("<p>%s</p>" % p.replace("\n", "<br>")
                                       for p in text.split("\n\n")) + "</body></html>\n"
        b1 = "----=_Part_%d_%d" % (self.counter, r.getrandbits(30))
        b2 = "----=_Alt_%d_%d" % (self.counter, r.getrandbits(30))
        plain_hdr = "Content-Type: text/plain; charset=utf-8; format=flowed\n" \
                    "Content-Transfer-Encoding: 8bit\n"
        if alt:
            altpart = ("Content-Type: multipart/alternative; boundary=\"%s\"\n\n"
                       "--%s\n%s\n%s\n--%s\nContent-Type: text/html; charset=utf-8\n"
                       "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n"
                       % (b2, b2, plain_hdr, text, b2, html, b2))
        if attach:
            inner = altpart if alt else plain_hdr + "\n" + text
            body = ("Content-Type: multipart/mixed; boundary=\"%s\"\n\nThis is a multi-part "
                    "message in MIME format.\n--%s\n%s\n%s--%s--\n"
                    % (b1, b1, inner, self.attachment(b1), b1))
        elif alt:
            body = altpart
        else:
            body = plain_hdr + "\n" + text
        return ("\n".join(hdr) + "\n" + body).encode()

    def request(self, i, attach):
        """A new request: (bytes, info) where info describes the thread for follow-ups."""
        r = self.rng
        cust = r.choice(self.customers)
        billing = r.random() < 0.3
        subj = self.fill(r.choice(BILLING_SUBJECTS if billing else SUPPORT_SUBJECTS))
        to = BILLING if billing else SUPPORT
        mid = self.new_mid(cust[1])
        raw = self.message(cust, to, subj, mid, r.randrange(700, 3200), attach, uniq="R%07d" % i)
        return raw, {"cust": cust, "to": to, "subject": subj, "mid": mid}

    def follow_up(self, i, thread, attach, tag=None):
        r = self.rng
        subj = "Re: " + ("%s %s" % (tag, thread["subject"]) if tag else thread["subject"])
        mid = self.new_mid(thread["cust"][1])
        return self.message(thread["cust"], thread["to"], subj, mid, r.randrange(400, 2200),
                            attach, parent=thread["mid"], refs=(thread["mid"],), reply=True,
                            uniq="F%07d" % i)


def maildir(path):
    for d in ("new", "cur", "tmp"):
        (path / d).mkdir(parents=True, exist_ok=True)
    return path / "new"


def fname(i, t0=1767225600):
    # Maildir-style names: time, then a zero-padded counter: lexical order == generation order.
    return "%010d.M%07dP%d.bench.example" % (t0 + i // 64, i, os.getpid())


def gen_preload(path, k, seed):
    """K small new requests, fast. Returns their thread infos (index = preload number)."""
    rng = random.Random(seed ^ 0x5EED)
    custs = Generator(seed ^ 0xC0DE, customers=2000).customers
    new = maildir(path)
    threads = []
    t = 1767225600 - 86400
    for k_ in range(k):
        name, addr = rng.choice(custs)
        to = BILLING if rng.random() < 0.3 else SUPPORT
        subj = "Request P%07d: %s" % (k_, re.sub(r"\{\w+\}", str(rng.randrange(10 ** 5, 10 ** 6)),
                                                 rng.choice(SUPPORT_SUBJECTS)))
        mid = "pl%07d.%08x@%s" % (k_, rng.getrandbits(32), addr.rsplit("@", 1)[1])
        t += 1
        body = "Hello,\n\n%s %s\n\nRegards,\n%s\nPreload %d\n" % (
            rng.choice(SENTENCES), rng.choice(SENTENCES), name, k_)
        raw = ("Return-Path: <%s>\nDelivered-To: %s\nFrom: %s\nTo: %s\nSubject: %s\n"
               "Date: %s\nMessage-ID: <%s>\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s"
               % (addr, to, display(name, addr), to, encode_word(subj), rfc2822(t), mid, body))
        with open(new / fname(k_, t0=1767225600 - 86400), "wb") as f:
            f.write(raw.encode())
        threads.append({"cust": (name, addr), "to": to, "subject": subj, "mid": mid})
    return threads


def gen_workload(path, n, seed, followup_ratio, attach_ratio, preload_threads=None,
                 tag_share=0.5):
    """The measured Maildir. Returns counts of what it holds."""
    g = Generator(seed)
    r = g.rng
    new = maildir(path)
    n_fu = int(round(n * followup_ratio))
    n_orig = n - n_fu
    n_att = int(round(n * attach_ratio))
    kinds = ["o"] * n_orig + ["f"] * n_fu
    r.shuffle(kinds)
    if kinds and kinds[0] == "f":  # a follow-up needs an earlier request
        j = kinds.index("o")
        kinds[0], kinds[j] = "o", "f"
    attach = set(r.sample(range(n), n_att))
    originals = []
    counts = {"messages": n, "originals": n_orig, "follow_ups": n_fu, "tagged_follow_ups": 0,
              "attachments": n_att, "bytes": 0}
    for i, kind in enumerate(kinds):
        if kind == "o":
            raw, info = g.request(i, i in attach)
            originals.append(info)
        elif preload_threads and r.random() < tag_share:
            info = r.choice(preload_threads)
            raw = g.follow_up(i, info, i in attach, tag="[Ticket#%s]" % info["number"])
            counts["tagged_follow_ups"] += 1
        else:
            # Mostly recent threads, sometimes older ones.
            if r.random() < 0.7:
                info = originals[r.randrange(max(0, len(originals) - 500), len(originals))]
            else:
                info = r.choice(originals)
            raw = g.follow_up(i, info, i in attach)
        counts["bytes"] += len(raw)
        with open(new / fname(i), "wb") as f:
            f.write(raw)
    return counts


# --------------------------------------------------------------------------------------------
# Running postdesk
# --------------------------------------------------------------------------------------------

class PeakWatcher:
    """Peak RSS of a child from /proc/PID/status VmHWM, polled until it exits.

    ru_maxrss from wait4 is not usable here: the child is forked from this Python process, and
    the high-water mark it reports includes the parent's memory from before exec (large after a
    big preload). VmHWM belongs to the address space exec creates, so it is postdesk's alone.


    It also keeps the scheduler's account (/proc/PID/task/TID/schedstat: time on a CPU, time
    runnable but waiting for one) of the two long-lived threads of a drain: the committing
    thread (the main one, where `run --once` files) and the outbox's. The rest of the wall time
    a thread was blocked: on the disk (syncfs, reads), on another thread, on a lock.
    """

    def __init__(self, pid):
        import threading
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()
        # Thread name -> (seconds on a CPU, seconds runnable and waiting for a CPU).
        self.sched = {}
        self.outbox_tid = None
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self):
        path = "/proc/%d/status" % self.pid
        tick = 0
        while not self.done.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except OSError:
                return
            if self.outbox_tid is None and tick % 10 == 0:
                self.outbox_tid = self.find_thread("outbox")
            for name, tid in (("committing", self.pid), ("outbox", self.outbox_tid)):
                if tid is not None:
                    account = self.schedstat(tid)
                    if account:
                        self.sched[name] = account
            tick += 1
            self.done.wait(0.005)

    def find_thread(self, comm):
        try:
            for tid in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/comm" % (self.pid, tid)) as f:
                    if f.read().strip() == comm:
                        return int(tid)
        except OSError:
            pass
        return None

    def schedstat(self, tid):
        try:
            with open("/proc/%d/task/%d/schedstat" % (self.pid, tid)) as f:
                run, wait = f.read().split()[:2]
            return int(run) / 1e9, int(wait) / 1e9
        except (OSError, ValueError):
            return None

    def stop(self):
        self.done.set()
        self.thread.join()


class Mismatch(Exception):
    pass


CALLGRIND_RE = re.compile(r"==\d+== Collected : (\d+)")


def run_postdesk(binary, case, maildir_path, label, after="delete", callgrind=False):
    """Drains `maildir_path` into case/data once; returns measurements of that child."""
    data = case / "data"
    log = data / "mail.log"
    offset = log.stat().st_size if log.exists() else 0
    cmd = [str(binary), "--config", str(case / "postdesk.toml"), "--data-dir", str(data),
           "run", "--once", "--maildir", str(maildir_path), "--after", after]
    if callgrind:
        cmd = ["valgrind", "--tool=callgrind",
               "--callgrind-out-file=%s" % (case / ("%s.callgrind" % label))] + cmd
    out_p, err_p = case / ("%s.stdout" % label), case / ("%s.stderr" % label)
    with open(out_p, "wb") as so, open(err_p, "wb") as se:
        busy0 = busy_cpu_seconds()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=so, stderr=se)
        hwm = PeakWatcher(p.pid)
        _, status, ru = os.wait4(p.pid, 0)
        hwm.stop()
        wall = time.perf_counter() - t0
        busy1 = busy_cpu_seconds()
        p.returncode = os.waitstatus_to_exitcode(status)
    # CPU time the whole machine spent on anything but this child during the run, in CPUs:
    # other work on the box (builds, tests) that competes with the measurement.
    others = max(0.0, (busy1 - busy0) - (ru.ru_utime + ru.ru_stime)) / wall
    out = out_p.read_text(errors="replace")
    err = err_p.read_text(errors="replace")
    m = SUMMARY_RE.search(out)
    if p.returncode != 0 or not m:
        raise Mismatch("%s: postdesk exited %d\nstdout: %s\nstderr (tail): %s"
                       % (label, p.returncode, out.strip(), err[-3000:]))
    summary = dict(zip(("processed", "new", "follow_ups", "duplicates", "quarantined",
                        "failed"), map(int, m.groups())))
    lat, verdicts = [], {}
    # When intake filed its last message, and when each mail went out (the mail log's times).
    filed_last, sent_at = None, []
    with open(log, "rb") as f:
        f.seek(offset)
        for line in f.read().decode(errors="replace").splitlines():
            mt = TS_RE.match(line)
            at = mt and time.mktime(time.strptime(mt.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) \
                + float("0" + mt.group(1)[19:])
            if at and " outbox=sent " in line:
                sent_at.append(at)
            mm = MS_RE.search(line)
            if mm:
                lat.append(float(mm.group(1)))
                if at:
                    filed_last = max(filed_last or at, at)
            mv = VERDICT_RE.search(line)
            if mv:
                verdicts[mv.group(1)] = verdicts.get(mv.group(1), 0) + 1
    sent_kinds = {}
    with open(log, "rb") as f:
        f.seek(offset)
        for mk in SENT_RE.finditer(f.read().decode(errors="replace")):
            sent_kinds[mk.group(1)] = sent_kinds.get(mk.group(1), 0) + 1
    left = len(os.listdir(maildir_path / "new"))
    if after == "seen" and len(os.listdir(maildir_path / "cur")) != len(lat):
        left += 1
    return {"label": label, "summary_line": m.group(0), "summary": summary, "wall": wall,
            "utime": ru.ru_utime, "stime": ru.ru_stime, "maxrss_kib": hwm.peak_kib or ru.ru_maxrss,
            "inblock": ru.ru_inblock, "oublock": ru.ru_oublock, "nvcsw": ru.ru_nvcsw,
            "latencies": sorted(lat), "verdicts": verdicts, "left_in_maildir": left,
            "stderr_lines": len(err.splitlines()), "others_cpus": others,
            "sent_kinds": sent_kinds, "sched": hwm.sched,
            "instructions": int(CALLGRIND_RE.search(err).group(1))
            if callgrind and CALLGRIND_RE.search(err) else None,
            "sent_while_filing": sum(1 for t in sent_at if filed_last and t <= filed_last),
            "outbox_tail": (max(sent_at) - filed_last) if sent_at and filed_last else 0.0}


def busy_cpu_seconds():
    """Non-idle CPU time of the whole machine so far (from /proc/stat), in seconds."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    busy = sum(v[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 1)) - 1))  # nearest rank
    return sorted_vals[k]


def verify(res, counts):
    s = res["summary"]
    want = {"processed": counts["messages"], "new": counts["originals"],
            "follow_ups": counts["follow_ups"], "duplicates": 0, "quarantined": 0, "failed": 0}
    bad = ["%s=%d (expected %d)" % (k, s[k], v) for k, v in want.items() if s[k] != v]
    if len(res["latencies"]) != counts["messages"]:
        bad.append("mail.log lines of this run=%d (expected %d)"
                   % (len(res["latencies"]), counts["messages"]))
    if res["left_in_maildir"]:
        bad.append("%d messages left in the Maildir" % res["left_in_maildir"])
    if bad:
        print("\n" + "!" * 78, file=sys.stderr)
        print("MISMATCH in %s: %s" % (res["label"], "; ".join(bad)), file=sys.stderr)
        print("summary: %s\nverdicts in mail.log: %s" % (res["summary_line"], res["verdicts"]),
              file=sys.stderr)
        print("!" * 78, file=sys.stderr)
        raise Mismatch("MISMATCH")


def ticket_numbers(binary, case, k):
    """Maps preload number -> ticket number, from `ticket list --json`."""
    out = subprocess.run([str(binary), "--config", str(case / "postdesk.toml"), "--data-dir",
                          str(case / "data"), "ticket", "list", "--json"],
                         check=True, capture_output=True).stdout
    by = {}
    for t in json.loads(out):
        m = re.match(r"Request P(\d{7}):", t["subject"])
        if m:
            by[int(m.group(1))] = t["number"]
    if len(by) != k:
        raise Mismatch("MISMATCH: ticket list shows %d preload tickets, expected %d"
                       % (len(by), k))
    return by


# --------------------------------------------------------------------------------------------
# Hostile messages (--hostile)
# --------------------------------------------------------------------------------------------

def hostile_message(i):
    """The i-th hostile message (bytes): five kinds, each at four sizes."""
    kind, step = i % 5, i // 5 + 1
    head = ("From: Mallory <mallory@example.net>\r\nTo: %s\r\nSubject: hostile %02d\r\n"
            "Message-ID: <hostile-%02d@example.net>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n" % (SUPPORT, i, i))
    if kind == 0:
        # Just within the part limit: every part is parsed, each empty.
        n = 9990
        parts = "".join("--b\r\n\r\n" if k % 2 else "--b\r\nContent-Type: text/plain\r\n\r\n"
                        for k in range(n))
        body = "Content-Type: multipart/mixed; boundary=b\r\n\r\n%s--b--\r\n" % parts
    elif kind == 1:
        # Far past the part limit: 250,000 empty parts per step (1.75 MB each).
        n = 250_000 * step
        body = "Content-Type: multipart/mixed; boundary=b\r\n\r\n%s--b--\r\n" % ("--b\r\n\r\n" * n)
    elif kind == 2:
        # Multiparts nested to just within the depth limit, a small text at the bottom.
        levels = 99
        open_ = "".join("Content-Type: multipart/mixed; boundary=l%d\r\n\r\n--l%d\r\n" % (k, k)
                        for k in range(levels))
        close = "".join("\r\n--l%d--\r\n" % k for k in reversed(range(levels)))
        body = open_ + "Content-Type: text/plain\r\n\r\ndeep\r\n" + close
    elif kind == 3:
        # Nested messages far past the depth limit (100,000 levels per step).
        levels = 100_000 * step
        body = ("Content-Type: message/rfc822\r\n\r\n" * levels) + "\r\nbottom\r\n"
    else:
        # Tens of thousands of header lines, then a large base64 attachment.
        headers = "".join("X-Filler-%d: %s\r\n" % (k, "v" * 60) for k in range(20_000 * step))
        data = base64.encodebytes(os.urandom(1_000_000 * step)).decode().replace("\n", "\r\n")
        body = (headers + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                "Content-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n"
                "Content-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64"
                "\r\n\r\n" + data + "--b--\r\n")
    return (head + body).encode()


def gen_hostile(path, count=20):
    """Writes `count` hostile messages into a Maildir; returns (count, largest, total bytes)."""
    maildir(path)
    largest = total = 0
    for i in range(count):
        raw = hostile_message(i)
        largest, total = max(largest, len(raw)), total + len(raw)
        (path / "new" / fname(i)).write_bytes(raw)
    return count, largest, total


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

PGBIN = Path("/usr/lib/postgresql/15/bin")


class PgServer:
    """A PostgreSQL server for the index, on the benchmark's file system, with its durability
    defaults; one database per case."""

    def __init__(self, base):
        if not (PGBIN / "initdb").exists():
            raise SystemExit("no %s: apt-get install postgresql-15" % (PGBIN / "initdb"))
        self.dir = Path(tempfile.mkdtemp(prefix="postdesk-bench-pg-", dir=base))
        os.chmod(self.dir, 0o755)
        subprocess.run(["chown", "postgres:postgres", str(self.dir)], check=True)
        self.port = free_port()
        self.cases = 0
        pg = ["runuser", "-u", "postgres", "--"]
        subprocess.run(pg + [str(PGBIN / "initdb"), "-D", str(self.dir / "data"), "-U",
                             "postgres", "--auth-local=trust", "--auth-host=trust", "-E", "UTF8",
                             "--locale=C.UTF-8", "--no-instructions"],
                       check=True, stdout=subprocess.DEVNULL)
        (self.dir / "sock").mkdir()
        subprocess.run(["chown", "postgres:postgres", str(self.dir / "sock")], check=True)
        self.proc = subprocess.Popen(
            pg + [str(PGBIN / "postgres"), "-D", str(self.dir / "data"), "-k",
                  str(self.dir / "sock"), "-p", str(self.port), "-c",
                  "listen_addresses=127.0.0.1", "-c",
                  "shared_preload_libraries=pg_stat_statements"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "pg.log", "wb"))
        for _ in range(600):
            if subprocess.run([str(PGBIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                               str(self.port)]).returncode == 0:
                self.sql("CREATE EXTENSION pg_stat_statements")
                return
            time.sleep(0.05)
        raise SystemExit("postgres did not start: see %s" % (self.dir / "pg.log"))

    def sql(self, text):
        return subprocess.run(["psql", "-qAt", "-h", str(self.dir / "sock"), "-p",
                               str(self.port), "-U", "postgres", "-c", text], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip()

    def database(self):
        self.cases += 1
        self.name = "bench_%d" % self.cases
        self.sql("CREATE DATABASE %s" % self.name)
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, self.name)

    def counters(self):
        """Statements executed in the current case's database and the server's WAL flushes so
        far: what a message costs in round trips and in waits for the disk."""
        calls = self.sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN "
                         "pg_database d ON d.oid = s.dbid WHERE d.datname = '%s'" % self.name)
        syncs = self.sql("SELECT wal_sync FROM pg_stat_wal")
        return int(calls), int(syncs), self.cpu_seconds()

    def cpu_seconds(self):
        """CPU time of the server's processes: the postmaster's own and its reaped children's
        (a connection's backend is reaped when the client goes), plus those still running."""
        tick = os.sysconf("SC_CLK_TCK")
        master = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

        def stat(pid):
            try:
                text = Path("/proc/%d/stat" % pid).read_text()
            except OSError:
                return None
            return text[text.rindex(")") + 2:].split()

        total = 0
        fields = stat(master)
        total += sum(int(x) for x in fields[11:15])
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != master:
                f = stat(int(d.name))
                if f and int(f[1]) == master:
                    total += sum(int(x) for x in f[11:13])
        return total / tick

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class SmtpSink:
    """The tests' SMTP sink (aiosmtpd) on 127.0.0.1, writing what it receives under the system's
    temp dir, off the benchmark's file system."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="postdesk-bench-sink-"))
        self.port = free_port()
        # Debian's interpreter, which has python3-aiosmtpd (see tests/it/services.rs).
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(REPO / "tests" / "it" / "smtp_sink.py"), "127.0.0.1",
             str(self.port), str(self.dir / "mail")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            raise SystemExit("SMTP sink did not start (apt-get install python3-aiosmtpd): %s"
                             % (line + self.proc.stdout.read(2000)))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self, args):
        self.args = args
        self.binary = Path(args.binary).resolve()
        self.base = Path(args.workdir) if args.workdir else Path(tempfile.gettempdir())
        self.base.mkdir(parents=True, exist_ok=True)
        self.cases = []
        self.pg = PgServer(self.base) if args.postgres else None
        self.sink = SmtpSink() if args.smtp else None

    def new_case(self, tag):
        case = Path(tempfile.mkdtemp(prefix="postdesk-bench-%s-" % tag, dir=self.base))
        self.cases.append(case)
        text = config(self.args.agents, self.args.agent_notice,
                      self.sink.port if self.sink else None)
        if self.pg:
            text += "\n[index]\nbackend = \"postgres\"\nurl = \"%s\"\n" % self.pg.database()
        (case / "postdesk.toml").write_text(text)
        return case

    def cleanup(self):
        if self.pg:
            self.pg.stop()
        if self.sink:
            self.sink.stop()
        t0 = time.perf_counter()
        for c in self.cases:
            if self.args.keep:
                log("kept %s" % c)
            else:
                shutil.rmtree(c, ignore_errors=True)
        if self.cases and not self.args.keep:
            log("removed %d temp dir(s) in %.1f s" % (len(self.cases), time.perf_counter() - t0))

    def one(self, n, preload=0, tag="run"):
        """Generate (+ preload), measure, verify. Returns a result dict."""
        a = self.args
        case = self.new_case(tag)
        res_pre = None
        threads = None
        if preload:
            t0 = time.perf_counter()
            threads = gen_preload(case / "preload-md", preload, a.seed)
            gen_pre = time.perf_counter() - t0
            log("  preload: generated %d messages in %.1f s" % (preload, gen_pre))
            os.sync()
            # --after seen (a rename), not delete: see "ext4 without a journal" above.
            res_pre = run_postdesk(self.binary, case, case / "preload-md", "preload",
                                   after="seen")
            verify(res_pre, {"messages": preload, "originals": preload, "follow_ups": 0})
            log("  preload: %s in %.1f s (%.0f msg/s), peak RSS %.1f MiB"
                % (res_pre["summary_line"], res_pre["wall"], preload / res_pre["wall"],
                   res_pre["maxrss_kib"] / 1024))
            numbers = ticket_numbers(self.binary, case, preload)
            for k_, t in enumerate(threads):
                t["number"] = numbers[k_]
        t0 = time.perf_counter()
        counts = gen_workload(case / "md", n, a.seed, a.followup_ratio, a.attach_ratio,
                              threads, a.tag_share)
        gen = time.perf_counter() - t0
        log("  generated %d messages (%d requests, %d follow-ups of which %d tagged, "
            "%d with attachment, %.0f MB) in %.1f s"
            % (n, counts["originals"], counts["follow_ups"], counts["tagged_follow_ups"],
               counts["attachments"], counts["bytes"] / 1e6, gen))
        if a.settle:
            log("  settling %g s (see --settle)" % a.settle)
            time.sleep(a.settle)
        t0 = time.perf_counter()
        os.sync()
        log("  sync(2) before the measured run: %.1f s" % (time.perf_counter() - t0))
        before = self.pg.counters() if self.pg else None
        res = run_postdesk(self.binary, case, case / "md", "measured", after=a.after,
                           callgrind=a.callgrind)
        verify(res, counts)
        if self.pg:
            after = self.pg.counters()
            res["pg_statements"] = after[0] - before[0]
            res["pg_wal_syncs"] = after[1] - before[1]
            res["pg_cpu_seconds"] = after[2] - before[2]
            log("  PostgreSQL: %.1f statements, %.3f WAL flushes and %.3f ms of the server's CPU "
                "per message" % (res["pg_statements"] / n, res["pg_wal_syncs"] / n,
                                 res["pg_cpu_seconds"] * 1000 / n))
            if os.environ.get("BENCH_PG_TOP"):
                log(self.pg.sql("SELECT calls, round(total_exec_time::numeric, 0), left(regexp_replace(query, '\\s+', ' ', 'g'), 110) "
                                "FROM pg_stat_statements ORDER BY calls DESC LIMIT 40"))
        res.update(counts=counts, preload=preload, preload_result=res_pre, gen_seconds=gen,
                   case=str(case))
        log("  %s" % res["summary_line"])
        log("  mail sent in the run: %s" % (", ".join("%d %s" % (n, k) for k, n in
                                                        sorted(res["sent_kinds"].items()))
                                             or "none"))
        if res["instructions"] is not None:
            log("  instructions (callgrind, user space): %d M, %.2f M a message"
                % (res["instructions"] / 1e6, res["instructions"] / 1e6 / n))
        if res["sent_kinds"]:
            log("  outbox: %d of %d mails sent while intake filed; the last %.2f s after "
                "intake's last message" % (res["sent_while_filing"],
                                           sum(res["sent_kinds"].values()), res["outbox_tail"]))
        for name, (ran, waited) in sorted(res["sched"].items()):
            log("  %s thread: on a CPU %.2f s, runnable and waiting for a CPU %.2f s, blocked "
                "the rest of the %.2f s" % (name, ran, waited, res["wall"]))
        log("  %s" % fmt_line(res))
        return res


    def hostile(self):
        """Files 20 hostile messages in one `run --once`; returns the result with the bound."""
        case = self.new_case("hostile")
        count, largest, total = gen_hostile(case / "md")
        log("  generated %d hostile messages, %.1f MB, the largest %.1f MB"
            % (count, total / 1e6, largest / 1e6))
        os.sync()
        res = run_postdesk(self.binary, case, case / "md", "hostile", after=self.args.after)
        s = res["summary"]
        if s["processed"] != count or s["failed"] or res["left_in_maildir"]:
            raise Mismatch("MISMATCH in hostile: %s, %d left in the Maildir"
                           % (res["summary_line"], res["left_in_maildir"]))
        bound_mb = 10 * largest / 1e6 + 150
        peak_mb = res["maxrss_kib"] * 1024 / 1e6
        res.update(largest=largest, total=total, bound_mb=bound_mb, peak_mb=peak_mb, case=str(case))
        log("  %s" % res["summary_line"])
        return res


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def derived(r):
    n = r["counts"]["messages"]
    lat = r["latencies"]
    cpu = r["utime"] + r["stime"]
    return {
        "n": n, "wall": r["wall"], "rate": n / r["wall"], "mbps": r["counts"]["bytes"] / 1e6 / r["wall"],
        "wall_ms_per_msg": r["wall"] * 1000 / n, "cpu_ms_per_msg": cpu * 1000 / n,
        "cpu": cpu, "user": r["utime"], "sys": r["stime"],
        "p50": pct(lat, 0.50), "p99": pct(lat, 0.99), "max": lat[-1] if lat else float("nan"),
        "rss_mib": r["maxrss_kib"] / 1024, "mb": r["counts"]["bytes"] / 1e6,
    }


def fmt_line(r):
    d = derived(r)
    return ("wall %.2f s, %.0f msg/s, %.1f MB/s, CPU %.2f s (user %.2f, sys %.2f), latency "
            "p50 %.1f ms p99 %.1f ms max %.1f ms, peak RSS %.1f MiB; other load %.2f CPUs"
            % (d["wall"], d["rate"], d["mbps"], d["cpu"], d["user"], d["sys"], d["p50"],
               d["p99"], d["max"], d["rss_mib"], r["others_cpus"]))


def table(rows, with_preload=False):
    head = ["N", "preload", "input MB", "wall s", "msg/s", "MB/s", "CPU ms/msg",
            "p50 ms", "p99 ms", "max ms", "peak RSS MiB", "other load (CPUs)"]
    if not with_preload:
        head.remove("preload")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in rows:
        d = derived(r)
        cells = [str(d["n"]), str(r["preload"]), "%.0f" % d["mb"], "%.2f" % d["wall"],
                 "%.0f" % d["rate"], "%.1f" % d["mbps"], "%.3f" % d["cpu_ms_per_msg"],
                 "%.1f" % d["p50"], "%.1f" % d["p99"], "%.1f" % d["max"], "%.1f" % d["rss_mib"],
                 "%.2f" % r["others_cpus"]]
        if not with_preload:
            del cells[1]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine(workdir, binary):
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    fstype = sh(["stat", "-f", "-c", "%T", str(workdir)])
    try:  # stat -f says ext2/ext3 for ext4 too; /proc/mounts names it
        best = ""
        for line in open("/proc/mounts"):
            f = line.split()
            if str(Path(workdir).resolve()).startswith(f[1]) and len(f[1]) >= len(best):
                best, mtype = f[1], f[2]
        fstype += " (%s per /proc/mounts)" % mtype
    except (OSError, NameError):
        pass
    rev = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(Path(binary).stat().st_mtime))
    return ("machine: %s CPUs (nproc), %s, %s RAM, kernel %s, workdir %s on %s; binary %s "
            "(built %s; repo HEAD %s%s); durable = true"
            % (sh(["nproc"]), cpu, mem, platform.release(), workdir, fstype, binary, built, rev,
               " + local changes" if dirty else ""))


def compare(b, a):
    """Alternating runs of --binary (A) and --against (B): K pairs of results, (A, B) each."""
    binaries = (b.binary, Path(a.against).resolve())
    pairs = []
    for i in range(a.pairs):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        pair = [None, None]
        for which in order:
            b.binary = binaries[which]
            log("== pair %d, %s: %s" % (i + 1, "AB"[which], b.binary))
            pair[which] = b.one(a.messages, preload=a.preload,
                                tag="p%d%s" % (i + 1, "ab"[which]))
        pairs.append(pair)
    b.binary = binaries[0]
    return pairs


def compare_table(pairs, first, second):
    """The pairs' figures, each pair's ratio B/A, and the ratio of the means."""
    def cells(r):
        d = derived(r)
        ran, waited = r["sched"].get("committing", (float("nan"), float("nan")))
        return "%.0f | %.2f | %.2f | %.2f" % (d["rate"], d["cpu"], ran, waited)
    lines = ["A = %s\nB = %s\n" % (first, second),
             "| pair | A msg/s | A CPU s | A committing on CPU s | A waiting for a CPU s "
             "| B msg/s | B CPU s | B committing on CPU s | B waiting for a CPU s | B/A |",
             "|---:" * 10 + "|"]
    ratios = []
    for i, (x, y) in enumerate(pairs):
        ratio = derived(y)["rate"] / derived(x)["rate"]
        ratios.append(ratio)
        lines.append("| %d | %s | %s | %.3f |" % (i + 1, cells(x), cells(y), ratio))
    mean = lambda rs: sum(derived(r)["rate"] for r in rs) / len(rs)
    lines.append("\nB/A of the means: **%.3f** (pairs %.3f-%.3f)"
                 % (mean([p[1] for p in pairs]) / mean([p[0] for p in pairs]),
                    min(ratios), max(ratios)))
    return "### A against B, %d pairs\n\n%s" % (len(pairs), "\n".join(lines))


def main():
    ap = argparse.ArgumentParser(
        description="postdesk intake benchmark (durable group commit on).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-n", "--messages", type=int, default=20000, help="messages (default 20000)")
    ap.add_argument("--preload", type=int, default=0, metavar="K",
                    help="tickets created by an unmeasured run before the measured one")
    ap.add_argument("--sizes", metavar="N,N,...", help="run the plain benchmark at each N")
    ap.add_argument("--hostile", action="store_true",
                    help="peak RSS of filing 20 hostile messages, against its bound")
    ap.add_argument("--scaling", action="store_true",
                    help="the same workload after small and large preloads; cost ratio")
    ap.add_argument("--scaling-messages", type=int, default=5000, metavar="M")
    ap.add_argument("--scaling-preloads", default="1000,200000", metavar="SMALL,LARGE")
    ap.add_argument("--followup-ratio", type=float, default=0.3)
    ap.add_argument("--attach-ratio", type=float, default=0.1)
    ap.add_argument("--tag-share", type=float, default=0.5,
                    help="with a preload: share of follow-ups going to preloaded tickets by "
                         "tag (default 0.5)")
    ap.add_argument("--after", choices=("delete", "seen"), default="delete",
                    help="what the measured run does with a filed message (default delete)")
    ap.add_argument("--settle", type=float, default=0, metavar="SECONDS",
                    help="sleep this long before each measured run (after generating), so "
                         "that files deleted earlier (e.g. by the previous case's run) no "
                         "longer slow down inode allocation on ext4 without a journal "
                         "(370 there; default 0)")
    ap.add_argument("--agents", action="store_true",
                    help="the repository's agents (two in Support, one in Billing) get notices")
    ap.add_argument("--agent-notice", choices=("pointer", "copy", "digest"),
                    help="[autoresponse] agent-notice (default: postdesk's, pointer)")
    ap.add_argument("--callgrind", action="store_true",
                    help="the measured run under valgrind's callgrind: instructions, not time")
    ap.add_argument("--smtp", action="store_true",
                    help="send by SMTP to a sink on 127.0.0.1, not into the local outbox")
    ap.add_argument("--postgres", action="store_true",
                    help="the index on PostgreSQL (a server made under --workdir)")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--binary", default=str(DEFAULT_BINARY),
                    help="postdesk binary (default target/release/postdesk)")
    ap.add_argument("--against", metavar="BINARY",
                    help="compare --binary with this one in alternating runs")
    ap.add_argument("--pairs", type=int, default=3, metavar="K",
                    help="with --against: pairs of runs (default 3)")
    ap.add_argument("--workdir", help="parent of the temp dirs (default: system temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep Maildirs and data dirs")
    ap.add_argument("--json", metavar="FILE", help="also write raw results as JSON")
    a = ap.parse_args()

    if not Path(a.binary).is_file():
        ap.error("no postdesk binary at %s (cargo build --release)" % a.binary)
    b = Bench(a)
    out = []
    results = {}
    hostile_failed = False
    started = time.perf_counter()
    try:
        if a.sizes:
            rows = []
            for n in [int(x) for x in a.sizes.split(",") if x.strip()]:
                log("== N=%d" % n)
                rows.append(b.one(n, tag="n%d" % n))
            results["sizes"] = rows
            out.append("### Peak RSS by N\n\n" + table(rows))
        if a.scaling:
            small, large = [int(x) for x in a.scaling_preloads.split(",")]
            rows = []
            for k in (small, large):
                log("== scaling: M=%d after preload %d" % (a.scaling_messages, k))
                rows.append(b.one(a.scaling_messages, preload=k, tag="p%d" % k))
            results["scaling"] = rows
            d0, d1 = derived(rows[0]), derived(rows[1])
            pre = "\n".join(
                "- preload %d: %s in %.1f s (%.0f msg/s), unmeasured"
                % (r["preload"], r["preload_result"]["summary_line"], r["preload_result"]["wall"],
                   r["preload"] / r["preload_result"]["wall"]) for r in rows)
            out.append(
                "### Scaling: %d messages after %d vs %d existing tickets\n\n%s\n\n%s\n\n"
                "Cost per message, %d vs %d tickets: wall %.3f / %.3f ms = **%.2fx**, "
                "CPU %.3f / %.3f ms = **%.2fx** (criterion: within 1.5x)"
                % (a.scaling_messages, small, large, table(rows, with_preload=True), pre,
                   large, small, d1["wall_ms_per_msg"], d0["wall_ms_per_msg"],
                   d1["wall_ms_per_msg"] / d0["wall_ms_per_msg"], d1["cpu_ms_per_msg"],
                   d0["cpu_ms_per_msg"], d1["cpu_ms_per_msg"] / d0["cpu_ms_per_msg"]))
        if a.hostile:
            log("== hostile messages")
            r = b.hostile()
            results["hostile"] = [r]
            within = r["peak_mb"] <= r["bound_mb"]
            out.append(
                "### Hostile messages: peak RSS against the bound\n\n"
                "%d messages (tiny and empty MIME parts, nesting, header floods; %.1f MB, the "
                "largest %.1f MB): %s in %.1f s.\n\nPeak RSS **%.1f MB**, bound 10 x %.1f MB + 150 MB = "
                "%.1f MB: %s"
                % (r["summary"]["processed"], r["total"] / 1e6, r["largest"] / 1e6, r["summary_line"], r["wall"],
                   r["peak_mb"], r["largest"] / 1e6, r["bound_mb"],
                   "within" if within else "EXCEEDED"))
            if not within:
                log("peak RSS %.1f MB exceeds the bound %.1f MB" % (r["peak_mb"], r["bound_mb"]))
                hostile_failed = True
        if a.against:
            rows = compare(b, a)
            results["against"] = [r for pair in rows for r in pair]
            out.append(compare_table(rows, b.binary, Path(a.against).resolve()))
        elif not a.sizes and not a.scaling and not a.hostile:
            log("== N=%d preload=%d" % (a.messages, a.preload))
            r = b.one(a.messages, preload=a.preload, tag="n%d" % a.messages)
            results["run"] = [r]
            out.append("### Intake, N=%d%s\n\n%s" % (
                a.messages, ", after %d preloaded tickets" % a.preload if a.preload else "",
                table([r], with_preload=bool(a.preload))))
    except Mismatch as e:
        log(str(e))
        return 1
    finally:
        b.cleanup()
        if a.json and results:
            for rows in results.values():
                for r in rows:
                    r["latency_summary"] = {k: derived(r)[k] for k in ("p50", "p99", "max")}
                    r.pop("latencies", None)
            Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    print()
    print("\n\n".join(out))
    print()
    print("%s" % machine(b.base, b.binary))
    if a.hostile and not (a.sizes or a.scaling):
        log("bench total %.1f s" % (time.perf_counter() - started))
        return 1 if hostile_failed else 0
    print("Workload: %d%% follow-ups (threaded by In-Reply-To/References, same customer), "
          "%d%% with a 50-300 KB base64 PDF/TIFF attachment, 1-4 KB text otherwise; "
          "`run --once --after %s`, batch-size 256 (default); latency = mail log ms= "
          "(read at source -> batch durable); peak RSS from the child's VmHWM, CPU from wait4(2); "
          "other load = the machine's non-idle CPU time (/proc/stat) minus the child's, per "
          "second of the run."
          % (round(a.followup_ratio * 100), round(a.attach_ratio * 100), a.after))
    if a.agents:
        print("Agents: two in Support, one in Billing; notices %s."
              % (a.agent_notice or "as postdesk's default (pointer)"))
    log("bench total %.1f s" % (time.perf_counter() - started))
    return 1 if hostile_failed else 0


if __name__ == "__main__":
    sys.exit(main())
