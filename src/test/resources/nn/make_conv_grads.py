"""Generates conv_grads.safetensors: torch's gradients of conv2d for sgm4j's ConvGradientTest.

Run with Debian's python3-torch:  /usr/bin/python3 make_conv_grads.py
libtorch 2.7.1's CPU convolution (DJL 0.35) returns a wrong input gradient for kernels above 1x1
whose output channels are not a multiple of 16 (seen on AMD Zen 5); these cases pin the
gradients of the input, the weight and the bias against torch 1.13 for such shapes (and a few
unaffected ones). Each case stores x, weight, bias, the upstream gradient g, torch's output y and
the gradients gx, gw, gb of sum(y * g), under "<case>.<name>"; its parameters are in the metadata.
"""
import json
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(20261204)
torch.set_num_threads(1)
out = {}
meta = {}


def case(name, batch, cin, cout, k, stride, padding, hw):
    x = torch.randn(batch, cin, hw, hw, requires_grad=True)
    w = (torch.randn(cout, cin, k, k) / (cin * k * k) ** 0.5).requires_grad_(True)
    b = (torch.randn(cout) * 0.1).requires_grad_(True)
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    for n, t in [("x", x), ("weight", w), ("bias", b), ("g", g), ("y", y), ("gx", x.grad), ("gw", w.grad), ("gb", b.grad)]:
        out[f"{name}.{n}"] = t.detach().contiguous()
    meta[name] = json.dumps({"stride": stride, "padding": padding})


case("k3_out1", 2, 32, 1, 3, 1, 1, 12)
case("k3_out2", 4, 8, 2, 3, 1, 1, 12)
case("k3_out3", 2, 16, 3, 3, 1, 1, 12)
case("k3_out8", 2, 16, 8, 3, 1, 1, 12)
case("k3_out16", 2, 16, 16, 3, 1, 1, 12)
case("k3_out24", 2, 16, 24, 3, 1, 1, 8)
case("k3_in3_out6", 4, 3, 6, 3, 1, 1, 12)
case("k4_s2_out1", 2, 16, 1, 4, 2, 1, 16)
case("k4_s2_out8", 2, 8, 8, 4, 2, 1, 16)
case("k1_out3", 2, 16, 3, 1, 1, 0, 8)

header = {}
offset = 0
blobs = []
for name, t in out.items():
    data = t.numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
    blobs.append(data)
header["__metadata__"] = meta
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open("conv_grads.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for blob in blobs:
        f.write(blob)
