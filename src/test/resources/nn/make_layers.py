"""Generates layers.safetensors: PyTorch reference values for sgm4j's nn layer parity tests.

Run with Debian's python3-torch:  /usr/bin/python3 make_layers.py
Each test case stores its inputs, its weights and torch's output under "<case>.<name>".
Also stores torch.manual_seed(s); torch.randn(shape) draws for the noise-source test.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1234)
out = {}


def put(name, t):
    out[name] = t.detach().contiguous()


def conv_case(name, cin, cout, k, stride, padding, groups, bias, hw):
    m = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias)
    x = torch.randn(2, cin, hw, hw)
    put(f"{name}.x", x)
    put(f"{name}.weight", m.weight)
    if bias:
        put(f"{name}.bias", m.bias)
    put(f"{name}.y", m(x))


conv_case("conv3x3", 4, 6, 3, 1, 1, 1, True, 7)
conv_case("conv_stride2", 4, 8, 3, 2, 0, 1, True, 9)
conv_case("conv_groups", 4, 8, 3, 1, 1, 2, False, 5)
conv_case("conv1x1", 6, 3, 1, 1, 0, 1, True, 4)

lin = nn.Linear(5, 7)
x = torch.randn(3, 4, 5)
put("linear.x", x); put("linear.weight", lin.weight); put("linear.bias", lin.bias); put("linear.y", lin(x))
lin = nn.Linear(5, 7, bias=False)
put("linear_nobias.x", x); put("linear_nobias.weight", lin.weight); put("linear_nobias.y", lin(x))

for name, eps in [("groupnorm", 1e-6), ("groupnorm32", 1e-5)]:
    gn = nn.GroupNorm(4, 16, eps=eps)
    with torch.no_grad():
        gn.weight.normal_(1.0, 0.2); gn.bias.normal_(0.0, 0.2)
    x = torch.randn(2, 16, 5, 5) * 3 + 1
    put(f"{name}.x", x); put(f"{name}.weight", gn.weight); put(f"{name}.bias", gn.bias); put(f"{name}.y", gn(x))

ln = nn.LayerNorm(8)
with torch.no_grad():
    ln.weight.normal_(1.0, 0.2); ln.bias.normal_(0.0, 0.2)
x = torch.randn(2, 3, 8) * 2
put("layernorm.x", x); put("layernorm.weight", ln.weight); put("layernorm.bias", ln.bias); put("layernorm.y", ln(x))

emb = nn.Embedding(10, 6)
idx = torch.tensor([[0, 3, 9], [5, 5, 1]], dtype=torch.int64)
put("embedding.idx", idx); put("embedding.weight", emb.weight); put("embedding.y", emb(idx))

x = torch.randn(2, 3, 4, 4) * 4
put("act.x", x); put("act.silu", F.silu(x)); put("act.gelu", F.gelu(x))

q = torch.randn(2, 3, 10, 8); k = torch.randn(2, 3, 12, 8); v = torch.randn(2, 3, 12, 5)
scale = 8 ** -0.5
attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1) @ v
put("attn.q", q); put("attn.k", k); put("attn.v", v); put("attn.y", attn)

x = torch.randn(2, 3, 5, 4)
put("resample.x", x)
put("resample.up", F.interpolate(x, scale_factor=2.0, mode="nearest"))
put("resample.pad", F.pad(x, (0, 1, 0, 1), mode="constant", value=0))
put("resample.pad2", F.pad(x, (1, 2, 3, 0), mode="constant", value=-1.5))
put("resample.avgpool", F.avg_pool2d(x[:, :, :4, :4], kernel_size=2, stride=2))

for seed, shape in [(0, (5,)), (42, (2, 3, 4)), (2024, (3, 1, 28, 28)), (7, (1000,))]:
    torch.manual_seed(seed)
    a = torch.randn(*shape)
    b = torch.randn(*shape)
    put(f"randn.{seed}.first", a)
    put(f"randn.{seed}.second", b)


def write_safetensors(path, tensors):
    dtypes = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        code, npdt = dtypes[t.dtype]
        data = t.numpy().astype(npdt).tobytes()
        header[key] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


write_safetensors("layers.safetensors", out)
print(len(out), "tensors")
