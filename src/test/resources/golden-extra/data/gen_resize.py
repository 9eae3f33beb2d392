"""Golden values for sgm4j's Resampler: torch.nn.functional.interpolate(mode="bicubic",
antialias=True, align_corners=False) on small float images (the resize of torchvision's
Resize(size, BICUBIC, antialias=True) on tensors). Run with the reference's torch:
    /usr/bin/python3 gen_resize.py   # writes resize.json beside this file
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for (c, h, w), (oh, ow) in [((3, 7, 9), (4, 5)), ((3, 7, 9), (11, 13)), ((1, 6, 5), (6, 3)),
                            ((2, 5, 8), (2, 8)), ((1, 20, 3), (7, 3))]:
    x = torch.rand(1, c, h, w, dtype=torch.float32)
    y = F.interpolate(x, size=(oh, ow), mode="bicubic", antialias=True, align_corners=False)
    cases.append({"in_shape": [c, h, w], "out_shape": [oh, ow],
                  "input": x.flatten().tolist(), "output": y.flatten().tolist()})
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", out)
