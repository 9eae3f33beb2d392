#!/usr/bin/env python3
"""Writes clip_unicode_classes.txt: for each character class of CLIP's pre-tokenisation pattern, the
code-point ranges that Python's `regex` module (the one CLIP's tokenizers use) matches with it under
the pattern's IGNORECASE flag, for ClipPreTokenizer:
  L  [\\p{L}]          (a letter run)
  N  [\\p{N}]          (one number)
  O  [^\\s\\p{L}\\p{N}]  (a run of anything else)
Characters in none of them and not \\s (e.g. U+0345, whose case variants are letters) are skipped by
the reference. The JVM's own Unicode tables are older (Unicode 13 on Java 17) than regex's.

It also holds Python's str.lower() mapping (lines "C code point, lower-case code point"; U+0130,
whose lower case is two characters, and the context-dependent capital sigma are handled in code).

And the canonical combining classes of Python's unicodedata (lines "M first last class"), with which
TextFixer re-orders combining marks the JVM's older NFC does not know.

Each line: L, N or O, first and last code point in hex; C, a code point and its lower case; or M,
first and last code point and their (decimal) canonical combining class. Source: the Unicode Character Database (Unicode
License v3) as compiled into regex (the version is written in the header).

Usage: /usr/bin/python3 gen_unicode_classes.py \
    sgm4j-core/src/main/resources/io/github/sgm4j/modules/encoders/text/clip_unicode_classes.txt
"""
import sys
import unicodedata

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
    f.write("# CLIP's [\\p{L}], [\\p{N}], [^\\s\\p{L}\\p{N}] (IGNORECASE) in Python's regex module %s, package %s; "
            "str.lower of Python %s (Unicode %s). Unicode Character Database, Unicode License v3\n"
            % (regex.__version__, PACKAGE, sys.version.split()[0], unicodedata.unidata_version))
    for name, pattern in (("L", r"[\p{L}]"), ("N", r"[\p{N}]"), ("O", r"[^\s\p{L}\p{N}]")):
        for a, b in ranges(pattern):
            f.write("%s %X %X\n" % (name, a, b))
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp in (0x130, 0x3A3):
            continue
        lower = chr(cp).lower()
        if lower != chr(cp):
            assert len(lower) == 1, hex(cp)
            f.write("C %X %X\n" % (cp, ord(lower)))
    start, prev, prev_ccc = None, None, 0
    for cp in list(range(0x110000)) + [None]:
        ccc = 0 if cp is None or 0xD800 <= cp < 0xE000 else unicodedata.combining(chr(cp))
        if start is not None and (ccc != prev_ccc or cp != prev + 1):
            f.write("M %X %X %d\n" % (start, prev, prev_ccc))
            start = None
        if ccc and start is None:
            start = cp
        prev, prev_ccc = cp, ccc
