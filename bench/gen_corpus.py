#!/usr/bin/env python3
"""Generates a deterministic source-like tree with planted Tusky keys, for bench/tree.sh.

usage: gen_corpus.py OUT_DIR [MEGABYTES]

Keys are built here at run time (never committed). Besides real-looking keys the corpus holds the
vendor placeholders and references a scanner must not report, so precision is measured too.
"""
import os
import random
import string
import sys

out = sys.argv[1]
target_bytes = int(sys.argv[2] if len(sys.argv) > 2 else 300) * 1024 * 1024
rng = random.Random(20261126)
alnum = string.ascii_letters + string.digits

words = ("const let var return function import export from async await if else for while class "
         "self this new try catch throw value result error config client request response data "
         "items index count name path file files volume upload download status headers body json "
         "parse format string number object array map filter reduce push length options params "
         "user account token cursor limit offset page size buffer stream reader writer").split()


def identifier():
    return "_".join(rng.choice(words) for _ in range(rng.randint(1, 3)))


def code_line():
    kind = rng.random()
    if kind < 0.35:
        return f"    const {identifier()} = {identifier()}({identifier()}, {rng.randint(0, 9999)});"
    if kind < 0.55:
        return f"    if ({identifier()} > {rng.randint(0, 100)}) {{ return {identifier()}; }}"
    if kind < 0.70:
        return "    // " + " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
    if kind < 0.80:
        return f'    log.info("{identifier()}", {{ id: "{"".join(rng.choices(alnum, k=24))}" }});'
    if kind < 0.90:
        return f"  {identifier()}: {rng.randint(0, 10**6)},"
    return ""


decoys = [
    'TUSKY_API_KEY=tsk_live_abc123',
    'apiKey: "tsk_live_..."',
    'const key = process.env.TUSKY_API_KEY;',
    'TUSKY_API_KEY=${TUSKY_API_KEY}',
    'apiKey: "tsk_live_xK9m2..."',
]

pool = [code_line() for _ in range(20000)]
extensions = [".js", ".ts", ".py", ".go", ".md", ".json", ".yaml", ".rs"]
planted = 0
written = 0
file_index = 0
os.makedirs(out, exist_ok=True)
while written < target_bytes:
    directory = os.path.join(out, f"pkg{file_index % 97}", f"mod{file_index % 13}")
    os.makedirs(directory, exist_ok=True)
    lines = rng.choices(pool, k=rng.randint(50, 800))
    if file_index % 211 == 0:
        prefix = "tsk_live_" if file_index % 2 else "tsk_test_"
        key = prefix + "".join(rng.choices(alnum, k=rng.choice([24, 32, 40, 48])))
        lines.insert(rng.randrange(len(lines)), f'    const apiKey = "{key}";')
        planted += 1
    if file_index % 97 == 0:
        lines.insert(rng.randrange(len(lines)), rng.choice(decoys))
    text = "\n".join(lines) + "\n"
    path = os.path.join(directory, f"file{file_index}{extensions[file_index % len(extensions)]}")
    with open(path, "w") as f:
        f.write(text)
    written += len(text)
    file_index += 1

print(f"{file_index} files, {written / 1048576:.0f} MiB, {planted} planted keys")
