#!/usr/bin/python3
"""Full-size key/shape listings of the text encoders, as sgm's embedders hold them.

Builds sgm's FrozenCLIPEmbedder / FrozenOpenCLIPEmbedder / FrozenOpenCLIPEmbedder2 from the text
encoder entries of the reference configs, with every torch tensor factory on the `meta` device (no
memory, no initialisation), and writes `../../keys/<name>.tsv` (format: keys/README.md).

* OpenCLIP: `open_clip.create_model_and_transforms(arch, pretrained=version)` is replaced by open_clip
  2.20.0's `CLIP(**model_configs/<arch>.json)`, which is what its `create_model(arch)` builds for
  ViT-H-14 / ViT-bigG-14 (no download; factory.py itself needs torchvision);
  sgm then deletes `.visual`, so the listing is the text tower (`attn_mask` is not persistent).
* CLIP ViT-L/14: transformers 4.19.1 is not available here (see gen_text_encoders.py); the listing is
  the CLIPTextModel key set and order of HF's module tree (embeddings: the persistent `position_ids`
  buffer [1, 77] int64, then token/position embeddings; each encoder layer: self_attn k/v/q/out_proj,
  layer_norm1, mlp fc1/fc2, layer_norm2; final_layer_norm) written from OpenAI CLIP's ViT-L/14 text
  transformer (width 768, 12 layers, 12 heads, vocab 49408) by the conversion mapping of
  gen_text_encoders.py.
SD 1.x (`ldm...FrozenCLIPEmbedder`) and SD 2.x (`ldm...FrozenOpenCLIPEmbedder`) hold the same modules
under the same names as sgm's classes, which are used for them. Environment: as gen_text_encoders.py.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.argv = sys.argv[:1]
import gen_text_encoders as G  # noqa: E402

KEYS = os.path.normpath(os.path.join(HERE, "..", "..", "keys"))
CONFIGS = os.path.normpath(os.path.join(HERE, "..", "..", "reference-configs"))


def meta_factories():
    for name in ("empty", "zeros", "ones", "randn", "rand", "full", "arange", "tensor"):
        orig = getattr(torch, name)

        def wrapped(*a, _orig=orig, **k):
            k.setdefault("device", "meta")
            return _orig(*a, **k)

        setattr(torch, name, wrapped)


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def lines(sd, prefix):
    return [f"{prefix}{k}\t{','.join(str(d) for d in v.shape)}\t{dtype_name(v)}" for k, v in sd.items()]


def main():
    shared = G.install_stubs()
    sys.path.insert(0, os.environ["SGM_SRC"])
    import polyfill
    import stubs

    stubs.install()
    polyfill.install()
    import json

    import open_clip
    import open_clip.model as ocm
    from omegaconf import OmegaConf
    from sgm.modules.encoders import modules as M

    def create(arch, device=None, pretrained=None):
        # what open_clip.create_model(arch) does for these configs (factory.py imports torchvision)
        with open(os.path.join(os.environ["OPEN_CLIP_SRC"], "open_clip", "model_configs", arch + ".json")) as f:
            cfg = json.load(f)
        return ocm.CLIP(**cfg), None, None

    open_clip.create_model_and_transforms = create
    G.VOCAB = 49408
    G.CTX = 77

    class HFListing:
        """CLIPTextModel listing from OpenAI CLIP's ViT-L/14 text transformer (see the docstring)."""

        def __init__(self, version):
            assert version == "openai/clip-vit-large-patch14", version
            self.model = shared["stand_in_class"](768, 12, 12)

        def state_dict(self):
            return self.model.hf_state_dict()

    meta_factories()
    out = {}

    def embedder_sd(entry):
        target = entry["target"]
        params = dict(entry.get("params", {}) or {})
        params.pop("device", None)
        cls = getattr(M, target.rsplit(".", 1)[1])
        if cls is M.FrozenCLIPEmbedder:
            return HFListing(params.get("version", "openai/clip-vit-large-patch14")).state_dict(), "transformer."
        emb = cls(device="cpu", **params)
        return emb.model.state_dict(), "model."

    def load(path):
        return OmegaConf.to_container(OmegaConf.load(os.path.join(CONFIGS, path)))

    sd1 = load("sd1/v1-inference.yaml")["model"]["params"]["cond_stage_config"]
    sd, p = embedder_sd(sd1)
    out["sd1_text.tsv"] = lines(sd, "cond_stage_model." + p)
    sd2 = load("sd2/v2-inference.yaml")["model"]["params"]["cond_stage_config"]
    sd, p = embedder_sd(sd2)
    out["sd2_text.tsv"] = lines(sd, "cond_stage_model." + p)
    for name, cfg in (("sdxl_base_text.tsv", "sgm/inference/sd_xl_base.yaml"),
                      ("sdxl_refiner_text.tsv", "sgm/inference/sd_xl_refiner.yaml")):
        entries = load(cfg)["model"]["params"]["conditioner_config"]["params"]["emb_models"]
        ls = []
        for n, e in enumerate(entries):
            if "CLIP" not in e["target"]:
                continue
            sd, p = embedder_sd(e)
            ls += lines(sd, f"conditioner.embedders.{n}.{p}")
        out[name] = ls
    for name, ls in out.items():
        with open(os.path.join(KEYS, name), "w") as f:
            f.write("\n".join(ls) + "\n")
        print(name, len(ls))


if __name__ == "__main__":
    main()
