#!/usr/bin/env python3
"""Writes html5_entities.tsv, the HTML5 named character references (the WHATWG HTML standard's
table, as Python's html.entities.html5 carries it), for HtmlUnescape.

One line per name: the name as the standard lists it (with its trailing ';' where it has one; some
legacy names also exist without it), a tab, the replacement's code points in hex, space-separated.

Usage: /usr/bin/python3 gen_html5_entities.py \
    sgm4j-core/src/main/resources/io/github/sgm4j/modules/encoders/text/html5_entities.tsv
"""
import html.entities
import sys

with open(sys.argv[1], "w", encoding="ascii", newline="\n") as f:
    f.write("# HTML5 named character references (WHATWG HTML standard, https://html.spec.whatwg.org/"
            "entities.json), from Python " + sys.version.split()[0] + " html.entities.html5\n")
    for name in sorted(html.entities.html5):
        f.write(name + "\t" + " ".join("%X" % ord(c) for c in html.entities.html5[name]) + "\n")
