#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/ (run from anywhere: python3 fuzz/make-seeds.py).

Seeds hold no key: the repository scans itself clean. Matcher seeds carry `0x01 S` markers that the
target turns into fake keys at run time (src/fuzzing.rs, expand_keys); reports are written by the
real binary from a scan of such a marker-made key, so they hold only its redacted form.
Needs git and a built target/debug/tuskguard (for the report seeds)."""

import os, shutil, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def git(cwd, *args, env=None):
    e = dict(os.environ, GIT_AUTHOR_NAME="f", GIT_AUTHOR_EMAIL="f@example.com",
             GIT_COMMITTER_NAME="f", GIT_COMMITTER_EMAIL="f@example.com",
             GIT_AUTHOR_DATE="2020-01-01T00:00:00Z", GIT_COMMITTER_DATE="2020-01-01T00:00:00Z")
    e.update(env or {})
    return subprocess.run(["git", *args], cwd=cwd, env=e, check=True, capture_output=True).stdout


def small_repo(tmp):
    repo = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(repo, "src", "deep"))
    git(repo, "init", "-q", "-b", "main")
    for i in range(3):
        with open(os.path.join(repo, "README"), "w") as f:
            f.write("line\n" * (20 + i) + "version %d\n" % i)
        with open(os.path.join(repo, "src", "deep", "a.txt"), "w") as f:
            f.write("alpha %d\n" % i * 10)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "c%d" % i)
    return repo


def git_seeds(tmp):
    repo = small_repo(tmp)
    git(repo, "repack", "-a", "-d", "-q")
    pack_dir = os.path.join(repo, ".git", "objects", "pack")
    for name in sorted(os.listdir(pack_dir)):
        if name.endswith(".idx"):
            data = open(os.path.join(pack_dir, name), "rb").read()
            write("pack_index", "small.idx", data)
            write("pack_index", "truncated.idx", data[: len(data) - 30])
    write("pack_index", "empty-v2.idx", b"\xfftOc\x00\x00\x00\x02" + b"\x00" * (1024 + 40))
    # git's index: v2 with a cache tree, v3 (intent-to-add sets extended flags), v4 (path compression).
    index = os.path.join(repo, ".git", "index")
    git(repo, "write-tree")
    write("git_index", "v2-cache-tree", open(index, "rb").read())
    with open(os.path.join(repo, "new.txt"), "w") as f:
        f.write("new\n")
    git(repo, "add", "-N", "new.txt")
    write("git_index", "v3-intent-to-add", open(index, "rb").read())
    git(repo, "update-index", "--index-version", "4")
    write("git_index", "v4", open(index, "rb").read())
    # A conflict: stages 1-3 for one path.
    git(repo, "update-index", "--index-version", "2")
    git(repo, "checkout", "-q", "-b", "other", "HEAD~1")
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("theirs\n")
    git(repo, "commit", "-q", "-am", "theirs")
    subprocess.run(["git", "merge", "-q", "main"], cwd=repo, capture_output=True)
    write("git_index", "v2-conflict", open(index, "rb").read())


def entry_header(kind, size):
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def ofs_distance(distance):
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def delta(base, target):
    # Copy the first half of base, insert the rest of target literally.
    half = len(base) // 2
    ops = varint(len(base)) + varint(len(target))
    ops += bytes([0x80 | 0x10, half])  # copy offset 0, length `half`
    rest = target[half:]
    while rest:
        chunk = rest[:127]
        ops += bytes([len(chunk)]) + chunk
        rest = rest[127:]
    return ops


def pack_seeds():
    base = b"hello fuzz, this is a base object of some length\n"
    target = base[: len(base) // 2] + b"and then a different tail\n"
    d = delta(base, target)
    # pack_entry: [split] base || header || zlib(payload)
    write("pack_entry", "blob", bytes([0]) + entry_header(3, len(base)) + zlib.compress(base))
    write("pack_entry", "ofs-delta",
          bytes([len(base)]) + base + entry_header(6, len(d)) + ofs_distance(len(base)) + zlib.compress(d))
    write("pack_entry", "ref-delta",
          bytes([len(base)]) + base + entry_header(7, len(d)) + b"\x11" * 20 + zlib.compress(d))
    write("pack_entry", "raw-delta", bytes([len(base)]) + base + d)

    # pack: count, count x (id byte, offset u16 le), body (offsets are relative to the body + 12).
    def pack(objects):
        body = bytearray()
        table = bytearray()
        for id_byte, make in objects:
            table += bytes([id_byte]) + struct.pack("<H", len(body))
            body += make(len(body) + 12)
        return bytes([len(objects)]) + bytes(table) + bytes(body)

    blob = lambda at: entry_header(3, len(base)) + zlib.compress(base)
    commit_text = b"tree " + b"0" * 40 + b"\nauthor f <f> 0 +0000\n\nmsg\n"
    commit = lambda at: entry_header(1, len(commit_text)) + zlib.compress(commit_text)
    tree_data = b"100644 a.txt\x00" + b"\x22" * 20
    tree = lambda at: entry_header(2, len(tree_data)) + zlib.compress(tree_data)
    first = [None]

    def ofs(at):
        return entry_header(6, len(d)) + ofs_distance(at - 12) + zlib.compress(d)

    ref_base = bytes([0x41, 0]) + b"\x00" * 18  # the id the table gives object 0 with id byte 0x41
    ref = lambda at: entry_header(7, len(d)) + ref_base + zlib.compress(d)
    write("pack", "blob-commit-tree", pack([(0x41, blob), (0x10, commit), (0x20, tree)]))
    write("pack", "ofs-delta", pack([(0x41, blob), (0x42, ofs)]))
    write("pack", "ref-delta", pack([(0x41, blob), (0x43, ref)]))
    d2 = delta(target, base)
    chain = lambda at: entry_header(6, len(d2)) + ofs_distance(at - (12 + len(blob(0)))) + zlib.compress(d2)
    write("pack", "delta-chain", pack([(0x41, blob), (0x42, ofs), (0x44, chain)]))


MATCHER = {
    # First byte: file name (src/fuzzing.rs NAMES). \x01 S: a fake key, kind S%3, form S/3%5.
    "env": b"\x01TUSKY_API_KEY=\x01\x00\nOTHER=1\n# TUSKY_TEST_KEY=\x01\x01\n",
    "k8s-secret": b"\x02apiVersion: v1\nkind: Secret\ndata:\n  key: \x01\x03\n  legacy: \x01\x05\n",
    "url": b"\x00curl 'https://api.example.com/v2?api_key=\x01\x06' -H 'Api-Key: \x01\x07'\n",
    "utf16": b"\x07{\"k\": \"\x01\x09\"}\n\x01\x0c and \x01\x0e\n",
    "legacy": b"\x03const TUSKY_KEY = \"\x01\x02\"; // tuskguard:allow\nlet y = \"\x01\x02\";\n",
    "http": b"\x05POST /v2/api-keys\nAuthorization: Bearer \x01\x00\n\n{\"scopes\": [\"*\"]}\n",
    "plain": b"\x00no key here, only tsk_ and tsk_live_ and a placeholder tsk_live_xxxxxxxx\n",
}

CONFIGS = {
    "allowlist": '[allowlist]\npaths = ["rules/", "docs/**/*.md"]\nsecrets = ["^tsk_test_", "EXAMPLE"]\n',
    "disabled": 'disabled_rules = ["tusky-test-key", "env-file-committed"]\n',
    "custom-rule": (
        '[[rule]]\nid = "acme-token"\ntitle = "Acme token"\nseverity = "high"\n'
        'anchors = ["acme_"]\npatterns = [\'acme_(?P<body>[a-z]{12})\']\njudge = "key-body"\n'
        'remediation = "rotate"\nexamples = ["t = acme_qwhrtzkplmnb"]\n'
        'negative_examples = ["acme_"]\n'
    ),
    "api": 'api_url = "https://example.invalid"\n[api]\nurl = "x"\n',
}


def report_seeds(tmp):
    binary = os.path.join(ROOT, "target", "debug", "tuskguard")
    scan_dir = os.path.join(tmp, "scan")
    os.makedirs(scan_dir)
    # A fake key built here at run time; only the redacted reports are written to the repo.
    import random
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    key = "tsk_" + "live" + "_" + "".join(rng.choice(alphabet) for _ in range(32))
    with open(os.path.join(scan_dir, ".env"), "w") as f:
        f.write("TUSKY_API_KEY=%s\n" % key)
    git(scan_dir, "init", "-q", "-b", "main")
    git(scan_dir, "add", "-A")
    git(scan_dir, "commit", "-q", "-m", "leak")
    for mode, args in (("scan", ["scan", scan_dir]), ("history", ["history", scan_dir])):
        out = subprocess.run([binary, *args, "--format", "json"], capture_output=True).stdout
        if key.encode() in out:
            sys.exit("report holds the full key")
        write("report", mode + ".json", out)
    write("report", "empty.json",
          '{"version":1,"tool":{"name":"tuskguard","version":"0"},"mode":"scan","root":".",'
          '"findings":[],"summary":{}}')


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        git_seeds(tmp)
        pack_seeds()
        for name, data in MATCHER.items():
            write("matcher", name, data)
        for name, text in CONFIGS.items():
            write("config", name + ".toml", text)
        report_seeds(tmp)


main()
