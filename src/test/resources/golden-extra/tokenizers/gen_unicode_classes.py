#!/usr/bin/env python3
"""Writes clip_unicode_classes.txt: for each character class of CLIP's pre-tokenisation pattern, the
code-point ranges that Python's `regex` module (the one CLIP's tokenizers use) matches with it under
the pattern's IGNORECASE flag, for ClipPreTokenizer:
  L  [\\p{L}]          (a letter run)
  N  [\\p{N}]          (one number)
  O  [^\\s\\p{L}\\p{N}]  (a run of anything else)
Characters in none of them and not \\s (e.g. U+0345, whose case variants are letters) are skipped by
the reference. The JVM's own Unicode tables are older (Unicode 13 on Java 17) than regex's.

Each line: L, N or O, first and last code point in hex. Source: the Unicode Character Database (Unicode
License v3) as compiled into regex (the version is written in the header).

Usage: /usr/bin/python3 gen_unicode_classes.py \
    sgm4j-core/src/main/resources/io/github/sgm4j/modules/encoders/text/clip_unicode_classes.txt
"""
import sys

import regex


def ranges(pattern):
    compiled = regex.compile(pattern, regex.IGNORECASE)
    out, start = [], None
    for cp in range(0x110000):
        hit = not (0xD800 <= cp < 0xE000) and compiled.match(chr(cp)) is not None
        if hit and start is None:
            start = cp
        if not hit and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return out


try:
    from importlib.metadata import version
    PACKAGE = version("regex")
except Exception:  # noqa: BLE001 - a distribution without metadata
    PACKAGE = "unknown"

with open(sys.argv[1], "w", encoding="ascii", newline="\n") as f:
    f.write("# CLIP's [\\p{L}], [\\p{N}], [^\\s\\p{L}\\p{N}] (IGNORECASE) in Python's regex module %s, package %s (Unicode Character Database, "
            "Unicode License v3)\n" % (regex.__version__, PACKAGE))
    for name, pattern in (("L", r"[\p{L}]"), ("N", r"[\p{N}]"), ("O", r"[^\s\p{L}\p{N}]")):
        for a, b in ranges(pattern):
            f.write("%s %X %X\n" % (name, a, b))
