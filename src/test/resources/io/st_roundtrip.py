"""Reads a safetensors file with an independent numpy parser and rewrites it (reversed tensor order,
no metadata). Used by SafeTensorsTest for the Java -> Python -> Java bit-exactness check.

usage: python3 st_roundtrip.py IN OUT
"""
import json
import struct
import sys

import numpy as np

DT = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
      "I8": "i1", "U8": "u1", "BOOL": "?"}

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
header.pop("__metadata__", None)
arrays = {}
for name, e in header.items():
    b, end = e["data_offsets"]
    arrays[name] = np.frombuffer(data[b:end], dtype=DT[e["dtype"]]).reshape(e["shape"])

out_header, blobs, off = {}, [], 0
for name in reversed(list(arrays)):
    a = arrays[name]
    code = [k for k, v in DT.items() if np.dtype(v) == a.dtype][0]
    raw = a.tobytes()
    out_header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
h = json.dumps(out_header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for b in blobs:
        f.write(b)
