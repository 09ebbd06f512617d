#!/usr/bin/env python3
"""Writes a `git fast-import` stream for a deterministic repository, for bench/history.sh.

usage: gen_history.py COMMITS FILES [BYTES_PER_FILE] [CHANGES_PER_COMMIT] | git fast-import

The first commit adds FILES source-like files; every later commit edits a few lines of
CHANGES_PER_COMMIT files (so packs delta well, like real history). A side branch, tags, and keys
planted in some commits (and removed later) give the audit real work. Keys are built at run time,
never committed.
"""
import random
import string
import sys

commits = int(sys.argv[1])
files = int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
changes = int(sys.argv[4]) if len(sys.argv) > 4 else 3
rng = random.Random(20261126)
out = sys.stdout.buffer
alnum = string.ascii_letters + string.digits
words = ("const let return function import export async await if else for while class self "
         "value result error config client request response data items index count name path "
         "file volume upload status headers body json parse format string options params").split()
mark = 0


def line():
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + ";\n"


def content(n):
    text = []
    total = 0
    while total < n:
        text.append(line())
        total += len(text[-1])
    return text


def key(kind="live"):
    return "tsk_" + kind + "_" + "".join(rng.choice(alnum) for _ in range(32))


def emit_blob(lines):
    global mark
    mark += 1
    data = "".join(lines).encode()
    out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
    out.write(data + b"\n")
    return mark


def path(i):
    return f"src/mod{i // 400:03d}/pkg{(i // 20) % 20:02d}/file{i:06d}.js"


def commit(branch, n, edits, parent=None, merge=None):
    global mark
    blobs = [(p, emit_blob(lines)) for p, lines in edits]
    mark += 1
    message = f"change {n}".encode()
    out.write(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), mark))
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % (1_600_000_000 + n * 60))
    out.write(b"data %d\n%s\n" % (len(message), message))
    if parent:
        out.write(b"from :%d\n" % parent)
    if merge:
        out.write(b"merge :%d\n" % merge)
    for p, m in blobs:
        out.write(b"M 100644 :%d %s\n" % (m, p.encode()))
    return mark


tree = {path(i): content(size) for i in range(files)}
head = commit("main", 0, list(tree.items()))
side = None
planted = []
for n in range(1, commits):
    edits = []
    for _ in range(changes):
        p = path(rng.randrange(files))
        lines = tree[p]
        for _ in range(rng.randint(1, 4)):
            lines[rng.randrange(len(lines))] = line()
        edits.append((p, lines))
    if n % 500 == 250:
        p = edits[0][0]
        edits[0] = (p, edits[0][1] + [f'const apiKey = "{key()}";\n'])
        planted.append(p)
    elif planted and n % 500 == 400:
        p = planted.pop()
        tree[p] = [l for l in tree[p] if "apiKey" not in l]
        edits.append((p, tree[p]))
    if n % 1000 == 500:
        side = commit("feature", n, [("notes/feature.md", [f"token {key('test')}\n"])], parent=head)
        continue
    head = commit("main", n, edits, parent=head, merge=side if n % 1000 == 700 else None)
    if n % 1000 == 999:
        out.write(b"reset refs/tags/v%d\nfrom :%d\n\n" % (n // 1000, head))
