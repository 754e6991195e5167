#!/usr/bin/env python3
"""Fails when top-level modules of src/ import each other in a cycle.

A module is a file `src/X.rs` or a folder `src/X/`; `crate::Y` anywhere in X's code (a `use` or
a path in an expression) is an edge X -> Y. Test code (`#[cfg(test)]` modules, `*_tests.rs`) is
left out: tests may reach anywhere. `main.rs` and `lib.rs` are the roots and are left out too.
Prints each cycle (a strongly connected component of more than one module) with the places
that make its edges, and exits 1 if there is one.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"  # --self-test points it elsewhere
PATH = re.compile(r"\bcrate::(\w+)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(pub(\(\w+\))?\s+)?mod\s+\w+\s*\{")
TEST_FILE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\(\w+\))?\s+)?mod\s+(\w+)\s*;")


def strip_tests(text):
    """Drops `#[cfg(test)] mod x { ... }` blocks (braces counted, strings ignored roughly)."""
    out, i = [], 0
    for m in TEST_MOD.finditer(text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            c = text[j]
            depth += c == "{"
            depth -= c == "}"
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def module_of(path):
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")


def test_files():
    """Files that are test modules of their parent (`#[cfg(test)] mod x;`)."""
    out = set()
    for f in SRC.rglob("*.rs"):
        base = f.parent if f.name in ("mod.rs", "lib.rs", "main.rs") else f.with_suffix("")
        for name in TEST_FILE.findall(f.read_text()):
            out |= {base / f"{name}.rs", base / name / "mod.rs"}
    return out


def edges():
    graph, where = {}, {}
    skip = test_files()
    for f in sorted(SRC.rglob("*.rs")):
        m = module_of(f)
        if m in ("main", "lib") or f.name.endswith("_tests.rs") or f in skip:
            continue
        text = strip_comments(strip_tests(f.read_text()))
        targets = set(PATH.findall(text))
        for g in USE_GROUP.findall(text):
            targets |= {p.strip().split("::")[0] for p in g.split(",") if p.strip()}
        for t in targets:
            if t in (m, "self", "super") or not t.isidentifier():
                continue
            graph.setdefault(m, set()).add(t)
            where.setdefault((m, t), []).append(str(f.relative_to(SRC.parent)))
        graph.setdefault(m, set())
    return graph, where


def sccs(graph):
    """Tarjan's algorithm, iterative."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    out.append(sorted(comp))
            elif nxt not in graph:
                continue
            elif nxt not in index:
                index[nxt] = low[nxt] = counter[0]
                counter[0] += 1
                stack.append(nxt)
                on.add(nxt)
                work.append((nxt, iter(sorted(graph.get(nxt, ())))))
            elif nxt in on:
                low[node] = min(low[node], index[nxt])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def self_test():
    """The check finds a cycle it is shown, and leaves test modules out."""
    import tempfile
    global SRC
    with tempfile.TemporaryDirectory() as d:
        SRC = pathlib.Path(d) / "src"
        (SRC / "b").mkdir(parents=True)
        (SRC / "a.rs").write_text("use crate::b::x;\n#[cfg(test)]\nmod tests { use crate::c; }\n")
        (SRC / "b" / "mod.rs").write_text("pub fn x() { crate::a::y() }\n")
        (SRC / "c.rs").write_text("use crate::a;\n")
        graph, _ = edges()
        found = sccs(graph)
        assert found == [["a", "b"]], found
        (SRC / "b" / "mod.rs").write_text("pub fn x() {}\n")
        graph, _ = edges()
        assert sccs(graph) == [], sccs(graph)
    print("check-module-cycles: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    graph, where = edges()
    cycles = sccs(graph)
    for c in cycles:
        print(f"cycle: {' '.join(c)}")
        for a in c:
            for b in sorted(graph[a] & set(c)):
                print(f"  {a} -> {b}: {', '.join(sorted(set(where[(a, b)])))}")
    if cycles:
        sys.exit(1)
    print(f"no cycles between {len(graph)} top-level modules")


if __name__ == "__main__":
    main()
