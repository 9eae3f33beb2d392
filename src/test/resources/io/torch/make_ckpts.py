"""Writes the torch checkpoint fixtures read by TorchCheckpointTest, TorchCheckpointSafetyTest
and TorchCheckpointFuzzTest (sgm4j-core/src/test/java/io/github/sgm4j/io/).

How to regenerate (from the repository root; torch 1.13 is Debian's python3-torch):

    /usr/bin/python3 src/test/resources/io/torch/make_ckpts.py

The outputs are small (a few KB each) and committed next to this script:

  dtypes.pth          a flat state dict (torch.save(OrderedDict)) with one tensor per dtype
                      (F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL), a 0-d scalar and an empty tensor
  views.pth           tensors sharing one storage: a storage offset, a transpose (non-contiguous
                      strides), a strided slice, an expanded (stride 0) view, an nn.Parameter
  lightning.ckpt      a Lightning-style checkpoint: {"epoch", "global_step",
                      "pytorch-lightning_version", "state_dict": {...}, "callbacks": {...},
                      "optimizer_states": [...], "hyper_parameters": argparse.Namespace(...)}
  wrapped_model.pth   {"model": state_dict, "epoch": 3}
  wrapped_module.pth  {"module": state_dict}
  legacy.pth          the same flat state dict in torch's legacy non-zip format
                      (_use_new_zipfile_serialization=False)
  legacy_*.pth/.ckpt  legacy non-zip format (_use_new_zipfile_serialization=False): legacy_views.pth
                      (views_state_dict, compared with views.expected.safetensors),
                      legacy_lightning.ckpt (the Lightning dict, lightning.expected.safetensors),
                      legacy_vgg16.pth (a torchvision-VGG16-like subset: features.N / classifier.N
                      weights of tiny shapes, legacy_vgg16.expected.safetensors),
                      legacy_malicious.pth and legacy_malicious_tensor.pth (the Pwn payload outside /
                      inside the state dict); legacy.pth above is compared with
                      dtypes.expected.safetensors
  legacy_storage_views.pth  written by hand in the legacy layout the way torch < 0.4 did, with
                      persistent ids carrying view metadata (view_key, offset, size) of a shared
                      root storage; torch 1.13 loads it (legacy_storage_views.expected.safetensors);
                      legacy_bad_view.pth is the same with a view (offset 20, 14 elements) reaching
                      past its 24-element root, which sgm4j refuses
  malicious.pth       a zip checkpoint whose data.pkl calls posix.system("touch <marker>") on
                      unpickling (a __reduce__ payload), outside the state dict
  malicious_tensor.pth the same payload stored as a value of the state dict (on a tensor path)
  load_from_bytes.pth a state dict whose tensor is rebuilt (with the allow-listed
                      _rebuild_tensor_v2) over a storage made by torch.storage._load_from_bytes
  protocolN.pkl       (N = 0..5) the same plain-Python structure pickled with each protocol (no
                      torch): ints of every width, floats, str (non-ASCII), bytes, None/bools, list,
                      tuple, dict, set, frozenset, OrderedDict, a shared (memoized) list and an
                      argparse.Namespace, read by SafeUnpicklerProtocolsTest
  *.expected.safetensors  the tensors torch itself loads from each file above (torch.load of the
                      file, state dict flattened, every view made contiguous), written with the
                      shared st_io.py layout (BF16 kept as BF16 bits)

Legacy-format files name their storages by memory address (str(storage._cdata)), so a rerun
rewrites their bytes (not their tensors); legacy.pth is kept from its first run.

The marker path of the malicious files is "/tmp/sgm4j-pickle-pwned-MARKER"; the Java test
checks the file is never created (and deletes it first). The generator itself never
unpickles the malicious files.
"""
import argparse
import collections
import os
import struct
import json
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "/tmp/sgm4j-pickle-pwned-MARKER"

_ST = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def save_safetensors(tensors, path):
    """Minimal safetensors writer (the st_io.py layout): JSON header padded to 8, raw LE bytes."""
    header = collections.OrderedDict()
    blobs = []
    off = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            arr = t.numpy()
            raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        header[name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def dtype_state_dict():
    g = torch.Generator().manual_seed(1234)
    sd = collections.OrderedDict()
    base = torch.randn(3, 5, generator=g)
    sd["w.f32"] = base
    sd["w.f64"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    sd["w.f16"] = (torch.randn(4, 2, generator=g) * 100).half()
    sd["w.bf16"] = (torch.randn(2, 2, 3, generator=g) * 1e3).bfloat16()
    sd["i.i64"] = torch.tensor([-(2 ** 63), -1, 0, 2 ** 63 - 1, 12345678901234], dtype=torch.int64)
    sd["i.i32"] = torch.tensor([[-(2 ** 31), 7], [0, 2 ** 31 - 1]], dtype=torch.int32)
    sd["i.i16"] = torch.tensor([-32768, -1, 0, 32767], dtype=torch.int16)
    sd["i.i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["i.u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["m.bool"] = torch.tensor([[True, False], [False, True]])
    sd["s.scalar"] = torch.tensor(3.25)
    sd["s.empty"] = torch.zeros(0, 3)
    sd["f.special"] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-45])
    sd["num_batches_tracked"] = torch.tensor(17)
    return sd


def views_state_dict():
    g = torch.Generator().manual_seed(99)
    base = torch.randn(6, 8, generator=g)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["offset_rows"] = base[2:4]               # storage offset 16, contiguous
    sd["transposed"] = base.t()                 # strides (1, 8)
    sd["strided"] = base[1::2, ::3]             # offset 8, strides (16, 3)
    sd["column"] = base[:, 5]                   # offset 5, stride (8,)
    sd["expanded"] = base[0, :3].unsqueeze(0).expand(4, 3)   # stride (0, 1)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 3, generator=g))
    half = torch.randn(4, 6, generator=g).half()
    sd["half_t"] = half.t()[1:]                 # fp16, offset and strides
    return sd


def flatten_expected(sd, prefix=""):
    out = collections.OrderedDict()
    for k, v in sd.items():
        out[prefix + k] = v.detach().contiguous().clone()
    return out


class FromBytes:
    """A storage pickled as torch.storage._load_from_bytes(b"..."): torch.load would run torch.load on
    the embedded bytes; sgm4j must refuse it by name."""

    def __reduce__(self):
        import torch.storage
        return (torch.storage._load_from_bytes, (b"PWNED-BYTES",))


class SneakyTensor:
    """A tensor rebuilt with the allow-listed _rebuild_tensor_v2 over a FromBytes storage."""

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (FromBytes(), 0, (1,), (1,), False, collections.OrderedDict()))


class Pwn:
    """Unpickling this object runs posix.system("touch MARKER") in Python."""

    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


def protocol_value():
    shared = [7, 8]
    return {
        "ints": [0, 1, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -2 ** 31, 2 ** 63 - 1, -2 ** 63, 2 ** 70, -3 ** 50],
        "floats": [0.0, -2.5, 1e300, float("inf")],
        "text": "h\u00e9llo \u2713 \U0001F600",
        "bytes": b"\x00\xff\n",
        "consts": (None, True, False),
        "tuple": ("a", ("b", ("c",))),
        "set": {3, 1, 2},
        "frozen": frozenset(["x"]),
        "ordered": collections.OrderedDict([("k2", 2), ("k1", 1)]),
        "shared": (shared, shared),
        "ns": argparse.Namespace(lr=0.5),
        ("tuple", "key"): "value",
        7: "int key",
    }


def vgg16_like_state_dict():
    g = torch.Generator().manual_seed(16)
    sd = collections.OrderedDict()
    chans = [(3, 4), (4, 4), (4, 6)]
    idx = [0, 2, 5]
    for (cin, cout), i in zip(chans, idx):
        sd["features.%d.weight" % i] = torch.randn(cout, cin, 3, 3, generator=g)
        sd["features.%d.bias" % i] = torch.randn(cout, generator=g)
    sd["classifier.0.weight"] = torch.randn(5, 6, generator=g)
    sd["classifier.0.bias"] = torch.randn(5, generator=g)
    return sd


def write_legacy_storage_views(path, bad_view=False):
    """The legacy layout of torch.serialization._legacy_save, written by hand with view metadata in
    the persistent ids (torch < 0.4 saved storage views so): one float root storage '100' of 24
    elements, viewed as storages '101' (offset 4, 12 elements) and '102' (offset 10, 14 elements)."""
    import io
    import pickle
    root = torch.arange(24, dtype=torch.float32) * 0.5 - 3.0
    lroot = torch.arange(6, dtype=torch.int64) * 1000003 - 7

    class Ref:
        def __init__(self, pid):
            self.pid = pid

    def rebuild(ref, offset, size, stride):
        return (torch._utils._rebuild_tensor, (ref, offset, size, stride))

    class T:
        def __init__(self, ref, offset, size, stride):
            self.args = (ref, offset, size, stride)

        def __reduce__(self):
            return (torch._utils._rebuild_tensor, self.args)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return obj.pid if isinstance(obj, Ref) else None

    whole = Ref(("storage", torch.FloatStorage, "100", "cpu", 24, None))
    v1 = Ref(("storage", torch.FloatStorage, "100", "cpu", 24, ("101", 4, 12)))
    v2 = Ref(("storage", torch.FloatStorage, "100", "cpu", 24, ("102", 20 if bad_view else 10, 14)))
    lw = Ref(("storage", torch.LongStorage, "200", "cpu", 6, None))
    obj = collections.OrderedDict()
    obj["whole"] = T(whole, 0, (4, 6), (6, 1))
    obj["view_a"] = T(v1, 0, (3, 4), (4, 1))
    obj["view_a_again"] = T(v1, 2, (5,), (2,))
    obj["view_b"] = T(v2, 1, (2, 3), (1, 4))
    obj["longs"] = T(lw, 0, (6,), (1,))
    buf = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
    P(buf, protocol=2).dump(obj)
    pickle.dump(["100", "200"], buf, protocol=2)
    buf.write(struct.pack("<q", 24))
    buf.write(root.numpy().astype("<f4").tobytes())
    buf.write(struct.pack("<q", 6))
    buf.write(lroot.numpy().astype("<i8").tobytes())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_legacy(main_done):
    sd = dtype_state_dict()
    vs = views_state_dict()
    torch.save(vs, "legacy_views.pth", _use_new_zipfile_serialization=False)
    loaded = torch.load("legacy_views.pth")
    assert loaded["transposed"].stride() == (1, 8)
    for k, v in flatten_expected(loaded).items():
        assert torch.equal(v, vs[k].detach().contiguous()), k
    vgg = vgg16_like_state_dict()
    torch.save(vgg, "legacy_vgg16.pth", _use_new_zipfile_serialization=False)
    save_safetensors(flatten_expected(torch.load("legacy_vgg16.pth")), "legacy_vgg16.expected.safetensors")
    write_legacy_storage_views("legacy_storage_views.pth")
    write_legacy_storage_views("legacy_bad_view.pth", bad_view=True)
    sv = torch.load("legacy_storage_views.pth")
    assert sv["view_b"].stride() == (1, 4) and sv["view_a_again"][0].item() == sv["whole"].flatten()[6].item()
    save_safetensors(flatten_expected(sv), "legacy_storage_views.expected.safetensors")
    torch.save({"state_dict": {"w": torch.ones(2)}, "payload": Pwn()}, "legacy_malicious.pth",
               _use_new_zipfile_serialization=False)
    torch.save({"w": torch.ones(2), "evil": Pwn()}, "legacy_malicious_tensor.pth",
               _use_new_zipfile_serialization=False)


def main():
    os.chdir(HERE)
    import pickle
    for proto in range(6):
        with open("protocol%d.pkl" % proto, "wb") as f:
            pickle.dump(protocol_value(), f, protocol=proto)
    sd = dtype_state_dict()
    torch.save(sd, "dtypes.pth")
    save_safetensors(flatten_expected(torch.load("dtypes.pth")), "dtypes.expected.safetensors")

    vs = views_state_dict()
    torch.save(vs, "views.pth")
    loaded = torch.load("views.pth")
    assert loaded["transposed"].stride() == (1, 8)
    save_safetensors(flatten_expected(loaded), "views.expected.safetensors")

    g = torch.Generator().manual_seed(7)
    model_sd = collections.OrderedDict()
    model_sd["model.diffusion_model.conv.weight"] = torch.randn(4, 2, 3, 3, generator=g)
    model_sd["model.diffusion_model.conv.bias"] = torch.randn(4, generator=g).half()
    model_sd["first_stage_model.scale"] = torch.tensor(0.18215)
    hp = argparse.Namespace(lr=1e-4, layers=[1, 2], name="tiny")
    ckpt = {
        "epoch": 3,
        "global_step": 1234,
        "pytorch-lightning_version": "1.4.2",
        "state_dict": model_sd,
        "callbacks": {"ModelCheckpoint{'monitor': None}": {"best_model_score": torch.tensor(0.5),
                                                           "best_model_path": "/x/last.ckpt"}},
        "optimizer_states": [{"state": {0: {"step": 10, "exp_avg": torch.zeros(4)}},
                              "param_groups": [{"lr": 1e-4, "params": [0]}]}],
        "lr_schedulers": [],
        "hyper_parameters": hp,
        "hparams_name": "kwargs",
        "weird": {("a", 1): frozenset([1, 2]), "s": {3, 4}, "b": b"\x00\xff", "c": 1.5 + 2j},
    }
    torch.save(ckpt, "lightning.ckpt")
    save_safetensors(flatten_expected(torch.load("lightning.ckpt")["state_dict"]), "lightning.expected.safetensors")

    torch.save({"model": model_sd, "epoch": 3}, "wrapped_model.pth")
    torch.save({"module": model_sd}, "wrapped_module.pth")

    torch.save(sd, "legacy.pth", _use_new_zipfile_serialization=False)
    for k, v in flatten_expected(torch.load("legacy.pth")).items():
        assert torch.equal(v, sd[k].contiguous()) or (k == "f.special"), k
    torch.save(ckpt, "legacy_lightning.ckpt", _use_new_zipfile_serialization=False)
    assert torch.equal(torch.load("legacy_lightning.ckpt")["state_dict"]["model.diffusion_model.conv.weight"],
                       model_sd["model.diffusion_model.conv.weight"])
    write_legacy(True)

    torch.save({"state_dict": {"w": torch.ones(2)}, "payload": Pwn()}, "malicious.pth")
    torch.save({"w": torch.ones(2), "evil": Pwn()}, "malicious_tensor.pth")
    torch.save({"w": SneakyTensor()}, "load_from_bytes.pth")
    assert not os.path.exists(MARKER)
    print("wrote", sorted(f for f in os.listdir(".") if not f.endswith(".py")))


if __name__ == "__main__":
    sys.exit(main())
