#!/usr/bin/python3
"""Golden text-to-image runs of the reference at tiny widths, for TextToImageGoldenTest.

Two cases, each a full prompt -> image run of the ORIGINAL reference code on random weights:

* ``sgm``: generative-models 0ad7de9. The model is built by ``sgm.util.instantiate_from_config`` from
  ``tiny_sd_xl_base.yaml`` (sd_xl_base.yaml's structure: GeneralConditioner with FrozenCLIPEmbedder,
  FrozenOpenCLIPEmbedder2 and three ConcatTimestepEmbedderND, UNet with context and adm, AutoencoderKL).
  The run is ``sgm/inference/api.py``'s ``SamplingPipeline.text_to_image`` for a non-legacy (SDXL)
  spec: the sampler from the API's own ``get_sampler_config(SamplingParams(...))`` (EulerEDMSampler,
  LegacyDDPMDiscretization, VanillaCFG), ``value_dict = asdict(params)`` plus prompt / negative prompt /
  target size, then the API's ``helpers.do_sample`` with ``force_uc_zero_embeddings=["txt"]`` and
  ``return_latents=True``; ``torch.manual_seed(SEED)`` right before. Two changes to run on a CPU:
  ``device="cpu"`` (the API passes none, so "cuda"; do_sample's own ``get_batch`` call and the
  sampler's ``device`` get it too) and ``helpers.autocast`` replaced by a no-op context
  (``autocast("cpu")`` would switch to bfloat16; the API's ``autocast("cuda")`` leaves CPU tensors alone). One fix of the API itself: at 0ad7de9 ``get_guider_config`` passes
  ``dyn_thresh_config`` (naming ``sampling_utils.NoDynamicThresholding``, which no longer exists) to a
  ``VanillaCFG`` whose constructor takes only ``scale`` (TypeError); the driver drops that key, so the
  guider is ``VanillaCFG(scale)``. The conditioner's c / uc come from the same
  ``get_unconditional_conditioning`` call (recorded by wrapping it).
* ``sd2``: the same API path for a legacy spec (SD 2.1 768: ``tiny_sd_2_1_768.yaml``, VScaling,
  one FrozenOpenCLIPEmbedder): ``force_uc_zero_embeddings=[]``, so the negative prompt ("blurry, low
  quality") is embedded; HeunEDMSampler (two network evaluations per step).
* ``ldm``: CompVis/stable-diffusion 21f890f (``ldm`` package + ``scripts/txt2img.py``). The model from
  ``tiny_v1_inference.yaml`` (v1-inference.yaml's structure) by ``ldm.util.instantiate_from_config``;
  the run is txt2img.py's loop body: ``seed_everything(SEED)`` (torch.manual_seed here), ``uc =
  get_learned_conditioning(n * [""])`` (scale != 1), ``c = get_learned_conditioning(prompts)``,
  ``DDIMSampler.sample(S, conditioning=c, batch_size=n, shape, unconditional_guidance_scale,
  unconditional_conditioning=uc, eta=0, x_T=None)`` (x_T drawn inside, recorded), decode, clamp.
  DDIMSampler's and PLMSSampler's register_buffer move every schedule tensor to "cuda": replaced by a
  plain setattr. The text embedders' ``device`` ("cuda" by default) is set to "cpu" after building.

Both configs carry the sgm4j-only ``arch_override`` of the text towers; the generator removes it before
the reference builds the model (the stand-ins below build the same tiny towers).

Stand-ins (only pretrained constructors; the tokenizers are the real ones):

* ``transformers.CLIPTokenizer.from_pretrained`` returns HF transformers' real slow CLIPTokenizer
  (4.57.6, the version the tokenizer golden cases use, loaded as ``../tokenizers/gen_tokenizer_ids.py``
  does; vocab.json / merges.txt written from ``bpe_simple_vocab_16e6.txt.gz``), wrapped only to turn
  its id lists into a torch tensor (transformers 4.57 refuses to build torch 1.13 tensors).
* ``transformers.CLIPTextModel.from_pretrained`` returns OpenAI CLIP's own text transformer
  (``clip/model.py``, openai/CLIP d05afc4) at width 16, 2 layers, 2 heads, the full vocabulary of
  49408 and 77 positions, wrapped to HF's outputs, exactly as ``../text_encoders/gen_text_encoders.py``
  does (its class is reused); weights saved under HF's CLIPTextModel keys.
* ``open_clip``: open_clip v2.20.0's own ``CLIP`` at the tiny size (text width 16, 2 layers, 2 heads,
  embed_dim 16) from ``create_model_and_transforms``; ``open_clip.tokenize`` is open_clip 2.20.0's real
  tokenizer (ftfy 6.3.1).
* ``imwatermark`` (imported by sgm.inference.helpers at module level, not used by do_sample): an empty
  encoder class.

Weights: every parameter is ``scale * hashed_values(seed, numel) + offset`` in float32: values on a
1/2048 grid from an integer hash of (Java ``String.hashCode`` of the checkpoint key, element index),
exact in float32 on both sides, so no weight file is stored (the token embeddings alone are 49408 x 16
per tower); ``weight_rule`` picks the scale (norm weights 1 + v/8, biases v/16, embeddings v/2, other
matrices v times the power of two nearest 1/sqrt(fan_in)). cases.json holds the recipe per key
(``weights``: shape, seed, scale, offset); the Java test rebuilds the checkpoint from it plus
``buffers.safetensors`` (CLIP ``position_ids``, sgm's ``denoiser.sigmas``). ldm's schedule buffers are
left out of the checkpoint (sgm4j derives them from the config, as the reference does).

Variants (same model, more runs; latents, images and the first draw): sgm with the API's default
DPMPP2MSampler at 48x32, with EulerAncestralSampler (eta 1: one draw per step), and the API's
``image_to_image`` (``Img2ImgDiscretizationWrapper``, ``helpers.do_img2img``, strength 0.5, n 1), and
the base's ``text_to_image`` followed, without reseeding, by the API's ``refiner`` (``do_img2img`` with
``skip_encode``, the API's refiner values: sizes of 8 x the latent, aesthetic scores 6.0 / 2.5; the API
applies no strength there) of a second tiny model built from ``tiny_sd_xl_refiner.yaml`` (passed to
``instantiate_from_config`` as plain Python containers: the per-level ``context_dim`` list of the
released refiner config reaches ``SpatialTransformer`` as an OmegaConf ``ListConfig``, which sgm 0ad7de9
does not take for a list, so building sd_xl_refiner.yaml from OmegaConf fails in ``nn.Linear``); ldm
with PLMS at 48x32 and ``scripts/img2img.py`` (encode, ``stochastic_encode`` to ``t_enc = int(0.6 * 4)``,
``DDIMSampler.decode``, n 2 from one init image). The init images are fixed tensors (``input.init``).

Seeding: every run calls ``torch.manual_seed(seed)`` right before its first draw, as a caller of sgm's
API does (the API never seeds). ldm's scripts call ``seed_everything`` before building the model, so
their noise also depends on the draws of the weight initialisation; here the model is built first (as
with a model already loaded), which is what sgm4j's ``--seed`` means. The ldm case runs 4 steps: with 3, ldm's uniform DDIM timesteps end at 1000 and the reference
fails with an IndexError (sgm4j refuses that schedule too).

Run (Debian's torch 1.13; the source trees from ``git archive`` of the pinned commits):
  SGM_SRC=<dir with sgm/> SD_SRC=<CompVis/stable-diffusion with ldm/> OPEN_CLIP_SRC=<open_clip v2.20.0 src/>
  OPENAI_CLIP_SRC=<dir with clip/> GOLDEN_TOOLS=<shared golden-tools> HF_SITE=<dir with transformers
  4.57.6, tokenizers, ftfy 6.3.1 (pip install --no-deps --target)> /usr/bin/python3 gen_txt2img.py
Writes sgm/{buffers,refiner_buffers,io}.safetensors, sd2/{buffers,io}.safetensors, ldm/{buffers,io}.safetensors and cases.json next to this file (the
same bytes on every run).
"""
import contextlib
import dataclasses
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
import types
from collections import OrderedDict

import torch

TORCH_VERSION = torch.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
for var in ("SGM_SRC", "SD_SRC", "OPEN_CLIP_SRC", "OPENAI_CLIP_SRC", "GOLDEN_TOOLS", "HF_SITE"):
    if not os.environ.get(var):
        raise SystemExit(f"set {var} (see the docstring)")
sys.path.insert(0, os.environ["GOLDEN_TOOLS"])
sys.path.insert(0, os.environ["HF_SITE"])
import st_io  # noqa: E402
from recorder import Recorder  # noqa: E402

VOCAB, CTX = 49408, 77
CLIP_ARCH = dict(width=16, layers=2, heads=2)
OPENCLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 16, "head_width": 8, "patch_size": 16},
    "text_cfg": {"context_length": CTX, "vocab_size": VOCAB, "width": 16, "heads": 2, "layers": 2},
}
PROMPT = "a red cube on a wooden table, studio light"
NEGATIVE = ""
SGM = dict(seed=42, steps=3, scale=5.0, width=32, height=32, n=2, sampler="EulerEDMSampler")
SGM_VARIANTS = [  # the API's default sampler at a non-square size; an ancestral sampler (a draw per step)
    dict(name="dpmpp2m_48x32", sampler="DPMPP2MSampler", seed=3, steps=3, scale=6.0, width=48, height=32, n=1),
    dict(name="euler_ancestral", sampler="EulerAncestralSampler", seed=5, steps=3, scale=4.0, width=32, height=32,
         n=2),
]
SGM_IMG2IMG = dict(name="img2img", img2img=True, sampler="EulerEDMSampler", seed=13, steps=4, scale=5.0, strength=0.5,
                   width=32, height=32, n=1, init_seed=99)
SGM_REFINER = dict(name="base_refiner", refiner=True, sampler="EulerEDMSampler", seed=17, steps=3, scale=5.0, width=32,
                   height=32, n=2)
SD2 = dict(seed=23, steps=3, scale=7.0, width=32, height=32, n=2, sampler="HeunEDMSampler",
           negative_prompt="blurry, low quality")
LDM = dict(seed=7, steps=4,  # 3 steps: ldm uniform DDIM timesteps reach 1000 (IndexError)
           scale=7.5, width=32, height=32, n=2, eta=0.0, sampler="ddim")
LDM_IMG2IMG = dict(name="img2img", img2img=True, sampler="ddim", seed=21, steps=4, scale=5.0, strength=0.6, width=32,
                   height=32, n=2, eta=0.0, init_seed=98)
LDM_VARIANTS = [dict(name="plms_48x32", sampler="plms", seed=9, steps=4, scale=3.0, width=48, height=32, n=1, eta=0.0)]
def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def hf_tokenizer():
    """HF's real slow CLIPTokenizer, then every transformers module dropped from sys.modules."""
    tok_gen = load_module("gen_tokenizer_ids", os.path.join(HERE, "..", "tokenizers", "gen_tokenizer_ids.py"))
    version, cls = tok_gen.load_hf_clip_tokenizer_class()
    oc_tok = load_module("open_clip_tokenizer_for_files",
                         os.path.join(os.environ["OPEN_CLIP_SRC"], "open_clip", "tokenizer.py"))
    folder = tempfile.mkdtemp(prefix="hf_clip_")
    bpe = os.path.join(os.environ["OPEN_CLIP_SRC"], "open_clip", "bpe_simple_vocab_16e6.txt.gz")
    tok_gen.write_hf_files(oc_tok, bpe, folder)
    tok = cls(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"))
    for name in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        del sys.modules[name]
    return version, tok


class TokenizerToTensor:
    """The real tokenizer's call with return_tensors="pt" answered by building the tensor here."""

    def __init__(self, tok, log):
        self.tok, self.log = tok, log

    def __call__(self, text, return_tensors=None, **kwargs):
        enc = self.tok(text, **kwargs)
        out = {k: torch.tensor(v) for k, v in enc.items()} if return_tensors == "pt" else enc
        self.log.append(out["input_ids"])
        return out


def install_stand_ins(tok, tokens_log):
    # transformers: CLIPTextModel from OpenAI CLIP's text transformer (class of gen_text_encoders.py)
    te_gen = load_module("gen_text_encoders_classes", os.path.join(HERE, "..", "text_encoders", "gen_text_encoders.py"))
    te_gen.VOCAB, te_gen.CTX = VOCAB, CTX
    # an empty transformers while open_clip imports (its hf_model then takes its no-transformers branch)
    sys.modules["transformers"] = types.ModuleType("transformers")
    te_shared = te_gen.install_stubs()  # sets sys.modules["open_clip"], ["clip"], ["transformers"]
    stand_in = te_shared["stand_in_class"]
    tf = sys.modules["transformers"]
    tf.CLIPTextModel = types.SimpleNamespace(from_pretrained=lambda version: stand_in(**CLIP_ARCH))
    tf.CLIPTokenizer = types.SimpleNamespace(from_pretrained=lambda version: TokenizerToTensor(tok, tokens_log))

    # open_clip: the tiny CLIP and the real tokenize of open_clip 2.20.0
    import open_clip
    import open_clip.model as ocm
    import open_clip.tokenizer as oct

    def create_model_and_transforms(arch, device=None, pretrained=None):
        return ocm.CLIP(**OPENCLIP_CFG), None, None

    def tokenize(text, context_length=CTX):
        ids = oct.tokenize(text, context_length)
        tokens_log.append(ids)
        return ids

    open_clip.create_model_and_transforms = create_model_and_transforms
    open_clip.tokenize = tokenize

    # gen_text_encoders' torchvision stand-in (ops only, for open_clip.utils) gives way to stubs.py's
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    wm = types.ModuleType("imwatermark")

    class WatermarkEncoder:
        def set_watermark(self, *a, **k):
            pass

    wm.WatermarkEncoder = WatermarkEncoder
    sys.modules["imwatermark"] = wm
    return stand_in


def checkpoint_state_dict(model):
    """The model's state dict with each CLIPTextModel stand-in's entries under HF's key names."""
    sd = OrderedDict((k, v.detach()) for k, v in model.state_dict().items())
    for prefix, m in model.named_modules():
        if hasattr(m, "hf_state_dict"):
            sd = OrderedDict((k, v) for k, v in sd.items() if not k.startswith(prefix + "."))
            sd.update((f"{prefix}.{k}", v) for k, v in m.hf_state_dict().items())
    return sd


def java_string_hash(key):
    """Java's String.hashCode of an ASCII key, as a non-negative 31-bit seed."""
    h = 0
    for ch in key:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h & 0x7FFFFFFF


def hashed_values(seed, n):
    """n values in (-1, 1) on a grid of 1/2048 from an integer hash of (seed, index), exact in float32.

    x = index * 0x9E3779B1 + seed * 0x85EBCA77, then x ^= x >> 15; x *= 0x2C1B3C6D; x ^= x >> 12;
    x *= 0x297A2D39; x ^= x >> 15 (all mod 2^32); u = x >> 20 (12 bits); value = (u - 2047.5) / 2048.
    """
    m = 0xFFFFFFFF
    x = (torch.arange(n, dtype=torch.int64) * 0x9E3779B1 + seed * 0x85EBCA77) & m
    x = x ^ (x >> 15)
    x = (x * 0x2C1B3C6D) & m
    x = x ^ (x >> 12)
    x = (x * 0x297A2D39) & m
    x = x ^ (x >> 15)
    u = x >> 20
    return (u.double() - 2047.5) / 2048.0


def weight_rule(key, shape):
    """(scale, offset): norm weights 1 + v/8, biases v/16, embeddings v/2, others v times ~1/sqrt(fan_in)."""
    if len(shape) == 1 and key.endswith(".weight"):
        return 0.125, 1.0
    if len(shape) <= 1:
        return 0.0625, 0.0
    if "embedding" in key:
        return 0.5, 0.0
    fan_in = math.prod(shape[1:])
    return 2.0 ** -round(math.log2(math.sqrt(fan_in))), 0.0


def hashed_weights(model):
    """Every parameter of the checkpoint (HF names for the CLIP stand-ins) as scale * hashed_values +
    offset, loaded into the model; returns the checkpoint dict and the recipe {key: [shape, seed,
    scale, offset]} the Java test rebuilds it from (seed = Java hashCode of the key)."""
    buffers = {k for k, _ in model.named_buffers()}
    sd = checkpoint_state_dict(model)
    recipe = OrderedDict()
    out = OrderedDict()
    for k, v in sd.items():
        if k in buffers or k.endswith("position_ids") or not v.is_floating_point():
            out[k] = v.clone()
            continue
        seed = java_string_hash(k)
        scale, offset = weight_rule(k, list(v.shape))
        out[k] = (hashed_values(seed, v.numel()) * scale + offset).float().reshape(v.shape)
        recipe[k] = [list(v.shape), seed, scale, offset]
    load_checkpoint_into(model, out)
    return out, recipe


def load_checkpoint_into(model, sd):
    """Strict load of a checkpoint dict, the CLIP stand-ins' HF entries mapped back to OpenAI CLIP's layout."""
    full = OrderedDict(sd)
    for prefix, m in model.named_modules():
        if not hasattr(m, "hf_state_dict"):
            continue
        p = prefix + ".text_model."
        hf = {k[len(p):]: full.pop(k) for k in list(full) if k.startswith(p)}
        hf.pop("embeddings.position_ids")
        own = OrderedDict()
        own["token_embedding.weight"] = hf.pop("embeddings.token_embedding.weight")
        own["positional_embedding"] = hf.pop("embeddings.position_embedding.weight")
        for i in range(len(m.transformer.resblocks)):
            q, r = f"encoder.layers.{i}.", f"transformer.resblocks.{i}."
            for t in ("weight", "bias"):
                own[r + f"attn.in_proj_{t}"] = torch.cat([hf.pop(q + f"self_attn.{n}_proj.{t}") for n in "qkv"])
                own[r + f"attn.out_proj.{t}"] = hf.pop(q + f"self_attn.out_proj.{t}")
                own[r + f"ln_1.{t}"] = hf.pop(q + f"layer_norm1.{t}")
                own[r + f"mlp.c_fc.{t}"] = hf.pop(q + f"mlp.fc1.{t}")
                own[r + f"mlp.c_proj.{t}"] = hf.pop(q + f"mlp.fc2.{t}")
                own[r + f"ln_2.{t}"] = hf.pop(q + f"layer_norm2.{t}")
        for t in ("weight", "bias"):
            own[f"ln_final.{t}"] = hf.pop(f"final_layer_norm.{t}")
        assert not hf, sorted(hf)
        full.update((f"{prefix}.{k}", v) for k, v in own.items())
    model.load_state_dict(full, strict=True)


def buffers_file(sd, recipe, skip, path):
    """The checkpoint's tensors not rebuilt from the recipe (CLIP position_ids, denoiser.sigmas)."""
    rest = OrderedDict((k, v.contiguous()) for k, v in sd.items() if k not in recipe and k not in skip)
    st_io.save_file(rest, path)
    return sorted(rest)


def on_cpu(model):
    """The text embedders default to device="cuda" (their tokens are moved there): set to "cpu"."""
    for m in model.modules():
        if getattr(m, "device", None) == "cuda":
            m.device = "cpu"
    return model


def strip_arch_override(cfg):
    """The sgm4j-only arch_override params removed (the stand-ins build the same tiny towers)."""
    from omegaconf import OmegaConf

    d = OmegaConf.to_container(cfg, resolve=True)

    def walk(x):
        if isinstance(x, dict):
            x.pop("arch_override", None)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(d)
    return OmegaConf.create(d)


def run_sgm(tokens_log, meta):
    from omegaconf import OmegaConf
    from sgm.inference import api, helpers
    from sgm.util import instantiate_from_config

    cfg = strip_arch_override(OmegaConf.load(os.path.join(HERE, "tiny_sd_xl_base.yaml")))
    torch.manual_seed(0)
    model = on_cpu(instantiate_from_config(cfg.model).eval())
    sd, recipe = hashed_weights(model)
    p = SGM
    factor = 2 ** (len(cfg.model.params.first_stage_config.params.ddconfig.ch_mult) - 1)

    def text_to_image(v):
        """api.SamplingPipeline.text_to_image(params, PROMPT, NEGATIVE, n, return_latents=True) on the CPU."""
        params = api.SamplingParams(width=v["width"], height=v["height"], steps=v["steps"],
                                    sampler=api.Sampler(v["sampler"]), scale=v["scale"],
                                    orig_width=v["width"], orig_height=v["height"])
        sampler = api.get_sampler_config(params)
        sampler.device = "cpu"  # BaseDiffusionSampler's default "cuda" (the API passes none)
        value_dict = dataclasses.asdict(params)
        value_dict["prompt"] = PROMPT
        value_dict["negative_prompt"] = NEGATIVE
        value_dict["target_width"] = params.width
        value_dict["target_height"] = params.height
        torch.manual_seed(v["seed"])
        return helpers.do_sample(model, sampler, value_dict, v["n"], params.height, params.width, 4, factor,
                                 force_uc_zero_embeddings=["txt"], return_latents=True, filter=None, device="cpu")

    helpers.autocast = lambda device: contextlib.nullcontext()
    # the API at 0ad7de9 passes dyn_thresh_config (NoDynamicThresholding, which no longer exists) to a
    # VanillaCFG that no longer takes it: dropped, the rest of its guider config kept
    api_guider = api.get_guider_config

    def guider_config(params):
        g = api_guider(params)
        g.get("params", {}).pop("dyn_thresh_config", None)
        return g

    api.get_guider_config = guider_config
    get_batch = helpers.get_batch  # do_sample calls it without a device (so "cuda")
    helpers.get_batch = lambda keys, value_dict, n, device="cpu": get_batch(keys, value_dict, n, device="cpu")
    io = OrderedDict()
    recorded = {}
    cond = model.conditioner
    orig = cond.get_unconditional_conditioning

    def get_uc(*a, **k):
        c, uc = orig(*a, **k)
        recorded["c"] = {key: v.clone() for key, v in c.items()}
        recorded["uc"] = {key: v.clone() for key, v in uc.items()}
        return c, uc

    cond.get_unconditional_conditioning = get_uc
    with Recorder("record") as rec:
        samples, samples_z = text_to_image(p)
    draws = rec.tape
    # tokens: HF CLIP (c, uc), open_clip (c, uc), in the conditioner's call order
    names = ["tokens.clip.c", "tokens.openclip.c", "tokens.clip.uc", "tokens.openclip.uc"]
    for name, t in zip(names, tokens_log):
        io[name] = t.clone()
    for side in ("c", "uc"):
        for key, v in recorded[side].items():
            io[f"{side}.{key}"] = v.contiguous()
    for i, d in enumerate(draws):
        io[f"noise.{i}"] = d_tensor(d)
    io["output.latents"] = samples_z.contiguous()
    io["output.images"] = samples.contiguous()
    variants = run_variants(SGM_VARIANTS, text_to_image, io)
    init = init_image(SGM_IMG2IMG)
    io["input.init"] = init.clone()

    def image_to_image(v):
        """api.SamplingPipeline.image_to_image(params, init, PROMPT, NEGATIVE, n, return_latents=True) on the CPU."""
        params = api.SamplingParams(width=v["width"], height=v["height"], steps=v["steps"],
                                    sampler=api.Sampler(v["sampler"]), scale=v["scale"],
                                    img2img_strength=v["strength"], orig_width=v["width"], orig_height=v["height"])
        sampler = api.get_sampler_config(params)
        sampler.device = "cpu"
        if params.img2img_strength < 1.0:
            sampler.discretization = helpers.Img2ImgDiscretizationWrapper(sampler.discretization,
                                                                          strength=params.img2img_strength)
        value_dict = dataclasses.asdict(params)
        value_dict["prompt"] = PROMPT
        value_dict["negative_prompt"] = NEGATIVE
        value_dict["target_width"] = init.shape[3]
        value_dict["target_height"] = init.shape[2]
        torch.manual_seed(v["seed"])
        return helpers.do_img2img(init, model, sampler, value_dict, v["n"], force_uc_zero_embeddings=["txt"],
                                  return_latents=True, device="cpu")

    variants += run_variants([SGM_IMG2IMG], image_to_image, io)

    # the SDXL refiner on the base's latents, the RNG continuing (no reseed between the two calls)
    rcfg = strip_arch_override(OmegaConf.load(os.path.join(HERE, "tiny_sd_xl_refiner.yaml")))
    # plain containers: from OmegaConf, the per-level context_dim list reaches SpatialTransformer as a
    # ListConfig, which sgm 0ad7de9 does not recognise as a list (it wraps it again and nn.Linear fails)
    refiner = on_cpu(instantiate_from_config(OmegaConf.to_container(rcfg.model)).eval())
    rsd, rrecipe = hashed_weights(refiner)

    def base_then_refiner(v):
        """text_to_image(..., return_latents=True), then api.SamplingPipeline.refiner(params, z, PROMPT,
        NEGATIVE, n, return_latents=True) of a refiner pipeline (same sampler, steps and scale)."""
        _, z = text_to_image(v)
        params = api.SamplingParams(steps=v["steps"], sampler=api.Sampler(v["sampler"]), scale=v["scale"])
        sampler = api.get_sampler_config(params)
        sampler.device = "cpu"
        value_dict = {"orig_width": z.shape[3] * 8, "orig_height": z.shape[2] * 8, "target_width": z.shape[3] * 8,
                      "target_height": z.shape[2] * 8, "prompt": PROMPT, "negative_prompt": NEGATIVE,
                      "crop_coords_top": 0, "crop_coords_left": 0, "aesthetic_score": 6.0,
                      "negative_aesthetic_score": 2.5}  # the API's refiner() values
        return helpers.do_img2img(z, refiner, sampler, value_dict, v["n"], skip_encode=True, return_latents=True,
                                  device="cpu")

    variants += run_variants([SGM_REFINER], base_then_refiner, io)
    refiner_stored = buffers_file(rsd, rrecipe, set(), os.path.join(HERE, "sgm", "refiner_buffers.safetensors"))
    os.makedirs(os.path.join(HERE, "sgm"), exist_ok=True)
    stored = buffers_file(sd, recipe, set(), os.path.join(HERE, "sgm", "buffers.safetensors"))
    st_io.save_file(io, os.path.join(HERE, "sgm", "io.safetensors"))
    meta["sgm"] = OrderedDict(
        config="tiny_sd_xl_base.yaml", prompt=PROMPT, negative_prompt=NEGATIVE, **p,
        factor=factor, force_uc_zero_embeddings=["txt"], buffers=stored, variants=variants,
        draws=[draw_info(d) for d in draws], io={k: list(v.shape) for k, v in io.items()}, weights=recipe,
        refiner=OrderedDict(config="tiny_sd_xl_refiner.yaml", buffers=refiner_stored, weights=rrecipe))


def init_image(v):
    """A fixed [1, 3, H, W] image in [-1, 1) for img2img: 0.875 * hashed_values (stored as input.init)."""
    return (hashed_values(v["init_seed"], 3 * v["height"] * v["width"]) * 0.875).float().reshape(
        1, 3, v["height"], v["width"])


def run_variants(variants, run, io):
    """More runs of the same model (other samplers, sizes, seeds, img2img): latents, images, the first draw."""
    out = []
    for v in variants:
        with Recorder("record") as rec:
            result = run(v)
        images, latents = result[-2], result[-1]
        io[f"variant.{v['name']}.latents"] = latents.contiguous()
        io[f"variant.{v['name']}.images"] = images.contiguous()
        io[f"variant.{v['name']}.noise.0"] = d_tensor(rec.tape[0])  # the first draw (the rest: cases.json)
        out.append(OrderedDict(v, draws=[draw_info(d) for d in rec.tape]))
    return out


def d_tensor(d):
    return d.tensor.clone().contiguous()


def draw_info(d):
    return OrderedDict(kind=d.kind, shape=list(d.tensor.shape), site=str(d.site))


def run_sd2(tokens_log, meta):
    """SD 2.1 768 (v-prediction), a legacy spec of the API: the negative prompt is embedded (no zeroing)."""
    from omegaconf import OmegaConf
    from sgm.inference import api, helpers
    from sgm.util import instantiate_from_config

    cfg = strip_arch_override(OmegaConf.load(os.path.join(HERE, "tiny_sd_2_1_768.yaml")))
    model = on_cpu(instantiate_from_config(cfg.model).eval())
    sd, recipe = hashed_weights(model)
    p = SD2
    factor = 2 ** (len(cfg.model.params.first_stage_config.params.ddconfig.ch_mult) - 1)
    recorded = {}
    orig = model.conditioner.get_unconditional_conditioning

    def get_uc(*a, **k):
        c, uc = orig(*a, **k)
        recorded["c"], recorded["uc"] = dict(c), dict(uc)
        return c, uc

    model.conditioner.get_unconditional_conditioning = get_uc
    params = api.SamplingParams(width=p["width"], height=p["height"], steps=p["steps"], sampler=api.Sampler(p["sampler"]),
                                scale=p["scale"], orig_width=p["width"], orig_height=p["height"])
    sampler = api.get_sampler_config(params)
    sampler.device = "cpu"
    value_dict = dataclasses.asdict(params)
    value_dict["prompt"] = PROMPT
    value_dict["negative_prompt"] = p["negative_prompt"]
    value_dict["target_width"] = params.width
    value_dict["target_height"] = params.height
    torch.manual_seed(p["seed"])
    with Recorder("record") as rec:
        samples, samples_z = helpers.do_sample(model, sampler, value_dict, p["n"], params.height, params.width, 4, factor,
                                               force_uc_zero_embeddings=[], return_latents=True, filter=None,
                                               device="cpu")
    io = OrderedDict()
    for name, t in zip(["tokens.openclip.c", "tokens.openclip.uc"], tokens_log):
        io[name] = t.clone()
    for side in ("c", "uc"):
        for key, v in recorded[side].items():
            io[f"{side}.{key}"] = v.contiguous()
    for i, d in enumerate(rec.tape):
        io[f"noise.{i}"] = d_tensor(d)
    io["output.latents"] = samples_z.contiguous()
    io["output.images"] = samples.contiguous()
    os.makedirs(os.path.join(HERE, "sd2"), exist_ok=True)
    stored = buffers_file(sd, recipe, set(), os.path.join(HERE, "sd2", "buffers.safetensors"))
    st_io.save_file(io, os.path.join(HERE, "sd2", "io.safetensors"))
    meta["sd2"] = OrderedDict(
        config="tiny_sd_2_1_768.yaml", prompt=PROMPT, **p, factor=factor, force_uc_zero_embeddings=[], buffers=stored,
        variants=[], draws=[draw_info(d) for d in rec.tape], io={k: list(v.shape) for k, v in io.items()},
        weights=recipe)


def run_ldm(tokens_log, meta):
    from omegaconf import OmegaConf
    from ldm.models.diffusion.ddim import DDIMSampler
    from ldm.models.diffusion.plms import PLMSSampler
    from ldm.util import instantiate_from_config

    DDIMSampler.register_buffer = lambda self, name, attr: setattr(self, name, attr)
    PLMSSampler.register_buffer = DDIMSampler.register_buffer
    cfg = strip_arch_override(OmegaConf.load(os.path.join(HERE, "tiny_v1_inference.yaml")))
    torch.manual_seed(0)
    model = on_cpu(instantiate_from_config(cfg.model).eval())
    sd, recipe = hashed_weights(model)
    p = LDM
    factor = 2 ** (len(cfg.model.params.first_stage_config.params.ddconfig.ch_mult) - 1)
    C = cfg.model.params.channels

    def txt2img(v):
        """scripts/txt2img.py's loop body for one batch of n identical prompts (no fixed_code; --plms
        for sampler "plms")."""
        n = v["n"]
        torch.manual_seed(v["seed"])  # seed_everything(opt.seed)
        sampler = PLMSSampler(model) if v["sampler"] == "plms" else DDIMSampler(model)
        with torch.no_grad(), model.ema_scope():
            uc = None
            if v["scale"] != 1.0:
                uc = model.get_learned_conditioning(n * [""])
            prompts = n * [PROMPT]
            c = model.get_learned_conditioning(prompts)
            shape = [C, v["height"] // factor, v["width"] // factor]
            samples_ddim, _ = sampler.sample(S=v["steps"], conditioning=c, batch_size=n, shape=shape, verbose=False,
                                             unconditional_guidance_scale=v["scale"], unconditional_conditioning=uc,
                                             eta=v["eta"], x_T=None)
            x = model.decode_first_stage(samples_ddim)
            x = torch.clamp((x + 1.0) / 2.0, min=0.0, max=1.0)
        return c, uc, x, samples_ddim

    io = OrderedDict()
    with Recorder("record") as rec:
        c, uc, x, z = txt2img(p)
    for name, t in zip(["tokens.clip.uc", "tokens.clip.c"], tokens_log):
        io[name] = t.clone()
    io["c.crossattn"] = c.contiguous()
    io["uc.crossattn"] = uc.contiguous()
    for i, d in enumerate(rec.tape):
        io[f"noise.{i}"] = d_tensor(d)
    io["output.latents"] = z.contiguous()
    io["output.images"] = x.contiguous()
    variants = run_variants(LDM_VARIANTS, txt2img, io)
    init = init_image(LDM_IMG2IMG)
    io["input.init"] = init.clone()

    def img2img(v):
        """scripts/img2img.py for one batch of n identical prompts (DDIM, eta 0)."""
        n, scale = v["n"], v["scale"]
        torch.manual_seed(v["seed"])  # seed_everything(opt.seed), here after loading (see the docstring)
        sampler = DDIMSampler(model)
        init_image = init.repeat(n, 1, 1, 1)  # repeat(init_image, '1 ... -> b ...', b=batch_size)
        with torch.no_grad():
            init_latent = model.get_first_stage_encoding(model.encode_first_stage(init_image))
        sampler.make_schedule(ddim_num_steps=v["steps"], ddim_eta=v["eta"], verbose=False)
        t_enc = int(v["strength"] * v["steps"])
        with torch.no_grad(), model.ema_scope():
            uc = None
            if scale != 1.0:
                uc = model.get_learned_conditioning(n * [""])
            c = model.get_learned_conditioning(n * [PROMPT])
            z_enc = sampler.stochastic_encode(init_latent, torch.tensor([t_enc] * n))
            samples = sampler.decode(z_enc, c, t_enc, unconditional_guidance_scale=scale, unconditional_conditioning=uc)
            x = model.decode_first_stage(samples)
            x = torch.clamp((x + 1.0) / 2.0, min=0.0, max=1.0)
        return x, samples

    variants += run_variants([LDM_IMG2IMG], img2img, io)
    os.makedirs(os.path.join(HERE, "ldm"), exist_ok=True)
    # ldm's schedule buffers are derived from the config (sgm4j's loader tolerates their absence)
    sched = {k for k, _ in model.named_buffers() if not k.startswith(("model.", "first_stage_model.", "cond_stage_model."))}
    stored = buffers_file(sd, recipe, sched, os.path.join(HERE, "ldm", "buffers.safetensors"))
    st_io.save_file(io, os.path.join(HERE, "ldm", "io.safetensors"))
    meta["ldm"] = OrderedDict(
        config="tiny_v1_inference.yaml", prompt=PROMPT, negative_prompt="", **p, factor=factor, buffers=stored,
        schedule_buffers_not_stored=sorted(sched), variants=variants, draws=[draw_info(d) for d in rec.tape],
        io={k: list(v.shape) for k, v in io.items()}, weights=recipe)


def main():
    hf_version, tok = hf_tokenizer()
    tokens_log = []
    install_stand_ins(tok, tokens_log)
    sys.path.insert(0, os.environ["SGM_SRC"])
    sys.path.insert(0, os.environ["SD_SRC"])
    import polyfill
    import stubs

    stubs.install()
    polyfill.install()
    torch.set_num_threads(1)
    meta = OrderedDict(
        reference="Stability-AI/generative-models 0ad7de9 (sgm.inference.api / helpers.do_sample); "
                  "CompVis/stable-diffusion 21f890f (ldm, scripts/txt2img.py); open_clip v2.20.0; "
                  f"OpenAI CLIP d05afc4 as the CLIPTextModel stand-in; transformers {hf_version} CLIPTokenizer",
        torch=TORCH_VERSION + " (polyfill.py presents it as 2.0.0 to sgm)", vocab=VOCAB, context_length=CTX, clip_arch=dict(CLIP_ARCH, mlp_width=64),
        openclip_arch=dict(OPENCLIP_CFG["text_cfg"], embed_dim=OPENCLIP_CFG["embed_dim"]),
        weights="each case's 'weights': {checkpoint key: [shape, seed, scale, offset]}, the tensor being "
                "scale * hashed_values(seed, numel) + offset in float32 (see gen_txt2img.py)")
    run_sgm(tokens_log, meta)
    tokens_log.clear()
    run_sd2(tokens_log, meta)
    tokens_log.clear()
    run_ldm(tokens_log, meta)
    text = json.dumps(meta, indent=1)
    # innermost lists (shapes, weight recipes) on one line
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda mt: "[" + re.sub(r"\s+", " ", mt.group(1)) + "]", text)
    text = re.sub(r"\[\s+(\[[^\[\]{}]*\],[^\[\]{}]*?)\s+\]", lambda mt: "[" + re.sub(r"\s+", " ", mt.group(1)) + "]",
                  text)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        f.write(text + "\n")
    print("wrote sgm and ldm cases")


if __name__ == "__main__":
    main()
