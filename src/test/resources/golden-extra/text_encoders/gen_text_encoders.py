#!/usr/bin/python3
"""Golden cases of sgm's frozen text encoders at tiny widths, from the reference code.

Runs sgm's own FrozenCLIPEmbedder, FrozenOpenCLIPEmbedder and FrozenOpenCLIPEmbedder2 classes
(sgm/modules/encoders/modules.py, generative-models 0ad7de9) on token ids. Only the pretrained
constructors they call are replaced (the stubs, all in `install_stubs` below):

* `open_clip.create_model_and_transforms(arch, pretrained=...)` returns open_clip 2.20.0's own
  `open_clip.model.CLIP` built from a tiny config (`OPENCLIP_CFG`); sgm then deletes `.visual`.
  `open_clip.tokenize(text)` returns the recorded token ids (`input.ids_openclip`) instead of
  tokenizing: the tokenizers have their own golden cases.
* `transformers.CLIPTextModel.from_pretrained(version)` returns a CLIPTextModel stand-in: the
  HuggingFace transformers 4.19.1 package is not available here (no PyPI; its repository snapshot
  is over the fetch limit), so the text transformer is OpenAI's own CLIP `clip/model.py`
  (`Transformer`, `ResidualAttentionBlock` with QuickGELU, `LayerNorm`; openai/CLIP d05afc4), the
  model HF's CLIPTextModel was converted from, wrapped to HF's output contract
  (`BaseModelOutputWithPooling`): `hidden_states[0]` the embedding output, `hidden_states[i]` the
  output of block i, `last_hidden_state = final_layer_norm(hidden_states[-1])`, `pooler_output =
  last_hidden_state[arange(B), input_ids.argmax(-1)]`. Its weights are saved under HF's
  CLIPTextModel names by the mapping of HF's conversion script (`in_proj` split into q/k/v, `ln_1`
  -> `layer_norm1`, `c_fc` -> `fc1`, ...). `CLIPTokenizer.from_pretrained` returns a stub whose call
  returns the recorded ids (`input.ids_hf`).

Run from anywhere with Debian's torch 1.13:
  SGM_SRC=<dir with sgm/> OPEN_CLIP_SRC=<open_clip v2.20.0 src/> OPENAI_CLIP_SRC=<dir with clip/> \
  GOLDEN_TOOLS=<shared golden-tools> /usr/bin/python3 gen_text_encoders.py
(e.g. `git archive v2.20.0 src/open_clip` of mlfoundations/open_clip, `git archive HEAD clip` of
openai/CLIP). Writes weights_clip.safetensors, weights_openclip.safetensors, io.safetensors and
cases.json next to this file.
"""
import json
import math
import os
import sys
import types
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
for var in ("SGM_SRC", "OPEN_CLIP_SRC", "OPENAI_CLIP_SRC", "GOLDEN_TOOLS"):
    if not os.environ.get(var):
        raise SystemExit(f"set {var} (see the docstring)")
sys.path.insert(0, os.environ["GOLDEN_TOOLS"])
import st_io  # noqa: E402

VOCAB = 400
SOT, EOT = VOCAB - 2, VOCAB - 1  # like 49406 / 49407: EOT is the largest id
CTX = 77
CLIP_CFG = dict(width=16, layers=3, heads=4)
OPENCLIP_CFG = {
    "embed_dim": 12,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 16, "head_width": 8, "patch_size": 16},
    "text_cfg": {"context_length": CTX, "vocab_size": VOCAB, "width": 16, "heads": 4, "layers": 3},
}

RECORDED = {}


def install_stubs():
    # open_clip 2.20.0 as a package without running its __init__ (which needs torchvision transforms)
    oc = types.ModuleType("open_clip")
    oc.__path__ = [os.path.join(os.environ["OPEN_CLIP_SRC"], "open_clip")]
    sys.modules["open_clip"] = oc
    if "torchvision" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except ImportError:  # open_clip.utils imports FrozenBatchNorm2d (vision towers only)
            tv = types.ModuleType("torchvision")
            ops = types.ModuleType("torchvision.ops")
            misc = types.ModuleType("torchvision.ops.misc")

            class FrozenBatchNorm2d(torch.nn.Module):
                pass

            misc.FrozenBatchNorm2d = FrozenBatchNorm2d
            tv.ops, ops.misc = ops, misc
            sys.modules.update({"torchvision": tv, "torchvision.ops": ops, "torchvision.ops.misc": misc})
    import open_clip.model as ocm

    def create_model_and_transforms(arch, device=None, pretrained=None):
        RECORDED.setdefault("open_clip_calls", []).append([arch, pretrained])
        model = ocm.CLIP(**OPENCLIP_CFG)
        return model, None, None

    oc.create_model_and_transforms = create_model_and_transforms
    oc.tokenize = lambda text: RECORDED["ids_openclip"]

    # OpenAI CLIP's clip/model.py as a package member without running clip/__init__ (torchvision)
    oa = types.ModuleType("clip")
    oa.__path__ = [os.path.join(os.environ["OPENAI_CLIP_SRC"], "clip")]
    sys.modules["clip"] = oa
    import clip.model as oam

    class CLIPTextModelStandIn(torch.nn.Module):
        """HF CLIPTextModel's outputs from OpenAI CLIP's text transformer (see the module docstring)."""

        def __init__(self, width, layers, heads):
            super().__init__()
            self.token_embedding = torch.nn.Embedding(VOCAB, width)
            self.positional_embedding = torch.nn.Parameter(torch.empty(CTX, width))
            mask = torch.empty(CTX, CTX).fill_(float("-inf")).triu_(1)
            self.transformer = oam.Transformer(width, layers, heads, attn_mask=mask)
            self.ln_final = oam.LayerNorm(width)

        def forward(self, input_ids, output_hidden_states=False):
            x = self.token_embedding(input_ids) + self.positional_embedding
            hidden = [x]
            x = x.permute(1, 0, 2)  # NLD -> LND
            for block in self.transformer.resblocks:
                x = block(x)
                hidden.append(x.permute(1, 0, 2))
            last = self.ln_final(hidden[-1])
            pooled = last[torch.arange(last.shape[0]), input_ids.argmax(dim=-1)]
            return types.SimpleNamespace(last_hidden_state=last, pooler_output=pooled,
                                         hidden_states=tuple(hidden) if output_hidden_states else None)

        def hf_state_dict(self):
            """The weights under transformers' CLIPTextModel keys, in its state_dict order."""
            sd = OrderedDict()
            p = "text_model."
            sd[p + "embeddings.position_ids"] = torch.arange(CTX).expand((1, -1)).clone()
            sd[p + "embeddings.token_embedding.weight"] = self.token_embedding.weight
            sd[p + "embeddings.position_embedding.weight"] = self.positional_embedding
            for i, b in enumerate(self.transformer.resblocks):
                q = f"{p}encoder.layers.{i}."
                w = b.attn.in_proj_weight.chunk(3, 0)
                bb = b.attn.in_proj_bias.chunk(3, 0)
                for name, k in (("k_proj", 1), ("v_proj", 2), ("q_proj", 0)):
                    sd[q + f"self_attn.{name}.weight"] = w[k]
                    sd[q + f"self_attn.{name}.bias"] = bb[k]
                sd[q + "self_attn.out_proj.weight"] = b.attn.out_proj.weight
                sd[q + "self_attn.out_proj.bias"] = b.attn.out_proj.bias
                sd[q + "layer_norm1.weight"] = b.ln_1.weight
                sd[q + "layer_norm1.bias"] = b.ln_1.bias
                sd[q + "mlp.fc1.weight"] = b.mlp.c_fc.weight
                sd[q + "mlp.fc1.bias"] = b.mlp.c_fc.bias
                sd[q + "mlp.fc2.weight"] = b.mlp.c_proj.weight
                sd[q + "mlp.fc2.bias"] = b.mlp.c_proj.bias
                sd[q + "layer_norm2.weight"] = b.ln_2.weight
                sd[q + "layer_norm2.bias"] = b.ln_2.bias
            sd[p + "final_layer_norm.weight"] = self.ln_final.weight
            sd[p + "final_layer_norm.bias"] = self.ln_final.bias
            return OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())

    shared = {}

    def clip_from_pretrained(version):
        RECORDED.setdefault("hf_calls", []).append(version)
        if "model" not in shared:
            shared["model"] = randomize(CLIPTextModelStandIn(**CLIP_CFG), seed=1)
        return shared["model"]

    class TokenizerStub:
        def __call__(self, text, **kwargs):
            return {"input_ids": RECORDED["ids_hf"]}

    tf = types.ModuleType("transformers")
    tf.CLIPTextModel = types.SimpleNamespace(from_pretrained=clip_from_pretrained)
    tf.CLIPTokenizer = types.SimpleNamespace(from_pretrained=lambda version: TokenizerStub())
    for n in ("ByT5Tokenizer", "T5EncoderModel", "T5Tokenizer"):
        setattr(tf, n, None)
    sys.modules["transformers"] = tf
    shared["stand_in_class"] = CLIPTextModelStandIn
    return shared


def randomize(module, seed):
    """Weights with visible structure: matrices ~ N(0, 1/fan_in), LN weight 1 +- 0.1, biases 0.05."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("logit_scale"):
                continue
            if "embedding" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            elif "ln" in name or "norm" in name:
                p.copy_((torch.randn(p.shape, generator=g) * 0.1 + 1.0) if name.endswith("weight")
                        else torch.randn(p.shape, generator=g) * 0.05)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return module


def token_rows(pad, seed):
    """Three rows: EOT early, EOT mid-way, and a full row whose EOT is the last position."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for n_words in (3, 20, CTX - 2):
        words = torch.randint(1, SOT, (n_words,), generator=g).tolist()
        row = [SOT] + words + [EOT]
        row += [pad] * (CTX - len(row))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.long)


def main():
    shared = install_stubs()
    sys.path.insert(0, os.environ["SGM_SRC"])
    sys.path.insert(0, os.environ["GOLDEN_TOOLS"])
    import polyfill
    import stubs

    stubs.install()  # stand-ins for kornia, lightning, einops, ... (the open_clip/transformers above stay)
    polyfill.install()
    from sgm.modules.encoders import modules as M

    RECORDED["ids_hf"] = token_rows(EOT, seed=11)  # HF CLIPTokenizer pads with <|endoftext|>
    RECORDED["ids_openclip"] = token_rows(0, seed=12)  # open_clip.tokenize pads with 0
    io = OrderedDict(
        [("input.ids_hf", RECORDED["ids_hf"]), ("input.ids_openclip", RECORDED["ids_openclip"])])
    cases = []
    texts = ["(prompts are replaced by the recorded ids)"] * 3

    def run(name, cls, params, ids_key, weights_key):
        emb = cls(device="cpu", **params)
        with torch.no_grad():
            out = emb(texts)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        names = []
        for i, o in enumerate(outs):
            key = f"output.{name}.{i}"
            io[key] = o.detach().clone().contiguous()
            names.append(key)
        cases.append(OrderedDict(name=name, target=f"sgm.modules.encoders.modules.{cls.__name__}",
                                 params=params, input=ids_key, weights=weights_key, outputs=names,
                                 shapes=[list(o.shape) for o in outs]))
        return emb

    run("clip_last", M.FrozenCLIPEmbedder, dict(layer="last"), "input.ids_hf", "weights_clip")
    run("clip_pooled", M.FrozenCLIPEmbedder, dict(layer="pooled"), "input.ids_hf", "weights_clip")
    run("clip_hidden1_pooled", M.FrozenCLIPEmbedder, dict(layer="hidden", layer_idx=1, always_return_pooled=True),
        "input.ids_hf", "weights_clip")
    run("clip_hidden_m2", M.FrozenCLIPEmbedder, dict(layer="hidden", layer_idx=-2), "input.ids_hf", "weights_clip")
    clip_sd = shared["model"].hf_state_dict()

    torch.manual_seed(5)
    oc_params = dict(arch="ViT-H-14", version="laion2b_s32b_b79k")
    e = run("openclip_last", M.FrozenOpenCLIPEmbedder, dict(oc_params, layer="last"), "input.ids_openclip",
            "weights_openclip")
    randomize(e.model, seed=2)
    oc_sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in e.model.state_dict().items())

    # every OpenCLIP case runs on the same random weights: patch the constructor to return a copy
    import open_clip
    import copy

    base = e.model

    def same_weights(arch, device=None, pretrained=None):
        m = copy.deepcopy(base)
        m.visual = torch.nn.Identity()  # sgm deletes .visual
        return m, None, None

    open_clip.create_model_and_transforms = same_weights
    cases.pop()
    io.pop("output.openclip_last.0")
    run("openclip_last", M.FrozenOpenCLIPEmbedder, dict(oc_params, layer="last"), "input.ids_openclip",
        "weights_openclip")
    run("openclip_penultimate", M.FrozenOpenCLIPEmbedder, dict(oc_params, layer="penultimate"),
        "input.ids_openclip", "weights_openclip")
    big = dict(arch="ViT-bigG-14", version="laion2b_s39b_b160k")
    run("openclip2_legacy_penultimate", M.FrozenOpenCLIPEmbedder2, dict(big, layer="penultimate"),
        "input.ids_openclip", "weights_openclip")
    run("openclip2_legacy_last", M.FrozenOpenCLIPEmbedder2, dict(big, layer="last"),
        "input.ids_openclip", "weights_openclip")
    run("openclip2_penultimate_pooled", M.FrozenOpenCLIPEmbedder2,
        dict(big, layer="penultimate", always_return_pooled=True, legacy=False), "input.ids_openclip",
        "weights_openclip")
    run("openclip2_last_nolegacy", M.FrozenOpenCLIPEmbedder2, dict(big, layer="last", legacy=False),
        "input.ids_openclip", "weights_openclip")

    st_io.save_file(clip_sd, os.path.join(HERE, "weights_clip.safetensors"), metadata={"prefix": "transformer."})
    st_io.save_file(oc_sd, os.path.join(HERE, "weights_openclip.safetensors"), metadata={"prefix": "model."})
    st_io.save_file(io, os.path.join(HERE, "io.safetensors"))
    meta = OrderedDict(
        reference="Stability-AI/generative-models 0ad7de9 sgm/modules/encoders/modules.py; open_clip v2.20.0; "
                  "OpenAI CLIP d05afc4 as the CLIPTextModel stand-in (see gen_text_encoders.py)",
        vocab=VOCAB, sot=SOT, eot=EOT, context_length=CTX,
        clip_arch=dict(vocab_size=VOCAB, context_length=CTX, mlp_width=4 * CLIP_CFG["width"], **CLIP_CFG),
        openclip_arch=dict(vocab_size=VOCAB, context_length=CTX, embed_dim=OPENCLIP_CFG["embed_dim"],
                           **{k: OPENCLIP_CFG["text_cfg"][k] for k in ("width", "layers", "heads")}),
        weights_clip="weights_clip.safetensors (keys without the embedder's 'transformer.' prefix)",
        weights_openclip="weights_openclip.safetensors (keys without the embedder's 'model.' prefix)",
        stub_calls=dict(hf=RECORDED.get("hf_calls"), open_clip=RECORDED.get("open_clip_calls")),
        torch=torch.__version__, cases=cases)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("wrote", len(cases), "cases")


if __name__ == "__main__":
    main()
