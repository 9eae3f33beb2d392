"""Reference logits for sgm4j's DigitClassifier / DigitNet (io.github.sgm4j.eval).

The PyTorch twin of DigitNet, written with plain torch.nn modules (torch 1.13), initialised from a
fixed seed; writes a golden case in the format of src/test/resources/golden (case.json,
io.safetensors with input.* / output.*, weights.safetensors), read by DigitClassifierParityTest:

  weights            the net after 60 AdamW steps (batch 64) on the first 3840 training digits of the
                     repository's data/mnist, so that the logits are those of a working classifier
  input.images       the first 8 test digits, [8, 1, 28, 28] float32, u8 / 255 * 2 - 1 (in [-1, 1])
  input.images32     the same digits padded with -1 to [8, 1, 32, 32] (DigitClassifier crops the centre)
  output.logits      net(images)                           [8, 10]
  output.argmax      logits.argmax(1)                      [8] int64

Run: /usr/bin/python3 gen_digit_classifier.py  (writes ./digit_classifier/)
"""
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(32 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # [B, 16, 13, 13]
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # [B, 32, 5, 5]
        h = torch.flatten(h, 1)                      # [B, 800]
        h = F.relu(self.fc1(h))
        return self.fc2(h)


_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: 8-byte header length, JSON header padded to 8, raw LE data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "..", "..", "..", "data", "mnist")


def idx(name, count, header, item):
    """The first `count` items of a gzipped IDX file as a uint8 tensor."""
    with gzip.open(os.path.join(MNIST, name), "rb") as f:
        f.read(header)
        data = f.read(count * item)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def digits(prefix, count):
    x = idx(prefix + "-images-idx3-ubyte.gz", count, 16, 784).reshape(count, 1, 28, 28)
    y = idx(prefix + "-labels-idx1-ubyte.gz", count, 8, 1).long()
    return x.float() / 255 * 2 - 1, y


def main():
    torch.manual_seed(2024)
    net = DigitNet()
    x, y = digits("train", 3840)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    for step in range(60):
        loss = F.cross_entropy(net(x[step * 64:(step + 1) * 64]), y[step * 64:(step + 1) * 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("final training loss", float(loss))
    net.eval()
    images, labels = digits("t10k", 8)
    images32 = F.pad(images, (2, 2, 2, 2), value=-1.0)
    with torch.no_grad():
        logits = net(images)
    out = os.path.join(HERE, "digit_classifier")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "weights.safetensors"), net.state_dict(), {"format": "pt"})
    write_safetensors(os.path.join(out, "io.safetensors"), {
        "input.images": images, "input.images32": images32,
        "output.logits": logits, "output.argmax": logits.argmax(1)})
    case = {
        "name": "digit_classifier",
        "reference": "torch.nn Conv2d/Linear/relu/max_pool2d twin of io.github.sgm4j.eval.DigitNet",
        "description": "net: torch.manual_seed(2024) default init, then 60 AdamW(lr 2e-3) steps of 64 training"
                       " digits; logits = net(first 8 test digits); the same digits padded to 32x32 must give"
                       " the same logits through DigitClassifier's centre crop",
        "torch_version": torch.__version__,
        "inputs": [{"key": "input.images"}, {"key": "input.images32"}],
        "outputs": [{"key": "output.logits"}, {"key": "output.argmax"}],
        "tolerance_fp32": {"rtol": 1e-5, "atol": 1e-5},
    }
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    print("wrote", out, "logits", tuple(logits.shape), "argmax", logits.argmax(1).tolist(), "labels", labels.tolist())


if __name__ == "__main__":
    main()
