#!/usr/bin/env python3
"""Fails when a crate in Cargo.lock has a licence postdesk (AGPL-3.0-only) may not be combined with.

Reads `cargo metadata` (every package of the lock file, build and dev dependencies included) and
evaluates each package's SPDX expression: OR needs one acceptable side, AND needs both, a WITH
exception is judged by its licence. A package with no SPDX expression (only a licence file) fails:
someone has to read it and add it here by name.

    scripts/check-licences.py              check the workspace
    scripts/check-licences.py --self-test  prove the evaluator rejects what it must
"""
import json
import re
import subprocess
import sys

# Permissive licences and weak copyleft that the GPLv3 family may absorb (FSF's list of
# GPL-compatible licences), and the AGPL itself.
COMPATIBLE = {
    "0BSD", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0", "CC0-1.0", "ISC", "MIT",
    "MIT-0", "MPL-2.0", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "Zlib",
    "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "GPL-3.0-or-later",
    "AGPL-3.0-only", "AGPL-3.0-or-later",
}


def tokens(expr):
    # Old crates write "MIT/Apache-2.0" for "MIT OR Apache-2.0".
    return re.findall(r"\(|\)|[^\s()]+", expr.replace("/", " OR "))


def acceptable(expr):
    """True when the SPDX expression allows use under AGPL-3.0-only; raises on a malformed one."""
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def atom():
        t = take() if peek() is not None else None
        if t == "(":
            v = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return v
        if t is None or t in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"malformed licence expression {expr!r}")
        ok = t.rstrip("+") in COMPATIBLE
        if peek() == "WITH":
            take()
            take()
        return ok

    def conjunction():
        v = atom()
        while peek() == "AND":
            take()
            v = atom() and v
        return v

    def disjunction():
        v = conjunction()
        while peek() == "OR":
            take()
            v = conjunction() or v
        return v

    v = disjunction()
    if pos != len(toks):
        raise ValueError(f"trailing tokens in {expr!r}")
    return v


def self_test():
    good = ["MIT", "MIT OR Apache-2.0", "MIT/Apache-2.0", "Apache-2.0 AND ISC",
            "(MIT OR Apache-2.0) AND Unicode-3.0", "Apache-2.0 OR GPL-2.0-only",
            "Apache-2.0 WITH LLVM-exception OR MIT", "AGPL-3.0-only"]
    bad = ["GPL-2.0-only", "MIT AND GPL-2.0-only", "SSPL-1.0", "Proprietary",
           "(MIT OR Apache-2.0) AND CDDL-1.0", "EUPL-1.2"]
    wrong = [e for e in good if not acceptable(e)] + [e for e in bad if acceptable(e)]
    if wrong:
        print("licence evaluator wrong on:", wrong, file=sys.stderr)
        return 1
    print(f"licence evaluator: {len(good)} accepted, {len(bad)} rejected as expected")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"]))
    problems = []
    for p in meta["packages"]:
        name = f"{p['name']} {p['version']}"
        lic = p.get("license")
        if not lic:
            problems.append(f"{name}: no SPDX licence expression (licence file only)")
            continue
        try:
            if not acceptable(lic):
                problems.append(f"{name}: {lic} is not compatible with AGPL-3.0-only")
        except ValueError as e:
            problems.append(f"{name}: {e}")
    for line in problems:
        print("licence check:", line, file=sys.stderr)
    if problems:
        return 1
    print(f"licence check: {len(meta['packages'])} crates, all compatible with AGPL-3.0-only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
