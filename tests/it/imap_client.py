# IMAP helper for tests/it/services.rs (run as: python3 -c <this file> PORT USER PASS SCRIPT).
# Logs in on 127.0.0.1:PORT, then exec()s SCRIPT with these names in scope:
#   M                      the logged-in imaplib.IMAP4 (10 s socket timeout)
#   q(name)                a quoted IMAP mailbox name
#   out(*args)             print one result line
#   list_mailboxes(pat)    [(flags, name)] from LIST "" pat
#   fetch_all(mailbox)     [(uid, raw bytes)] of every message, BODY.PEEK[] in UID order (EXAMINE, no flag changes)
# Exit status 0 = script ran and LOGOUT succeeded; anything else = failure (traceback on stderr).
import imaplib
import re
import sys

port, user, password, script = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
M = imaplib.IMAP4("127.0.0.1", port, timeout=10)
M.login(user, password)


def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def out(*args):
    print(*args, flush=True)


_LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:NIL|"(?:[^"\\]|\\.)*") (?P<name>.*)$')


def list_mailboxes(pattern="*"):
    typ, data = M.list('""', q(pattern))
    if typ != "OK":
        raise SystemExit("LIST failed: %r" % (data,))
    result = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # name sent as a literal
            head, name = item
            m = _LIST_RE.match(head.rstrip() + b" x")
            flags = m.group("flags") if m else b""
        else:
            m = _LIST_RE.match(item)
            if not m:
                raise SystemExit("cannot parse LIST line %r" % (item,))
            flags, name = m.group("flags"), m.group("name")
            if name.startswith(b'"'):
                name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        result.append((flags.decode(), name.decode()))
    return result


def fetch_all(mailbox):
    typ, data = M.select(q(mailbox), readonly=True)
    if typ != "OK":
        raise SystemExit("EXAMINE %s failed: %r" % (mailbox, data))
    if int(data[0]) == 0:
        return []
    typ, data = M.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
    if typ != "OK":
        raise SystemExit("UID FETCH failed: %r" % (data,))
    msgs = []
    for item in data:
        if isinstance(item, tuple):
            m = re.search(rb"UID (\d+)", item[0])
            msgs.append((int(m.group(1)) if m else len(msgs), item[1]))
    return sorted(msgs)


exec(script)
M.logout()
