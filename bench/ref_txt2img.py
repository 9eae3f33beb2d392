"""Reference side of the sgm4j benchmarks `txt2img-sd15-step` and `text-encoder-clip-l`
(docs/benchmarks.md): the original sgm code on PyTorch (eager, CPU, fp32), timed on the same machine
as `sgm4j bench`.

Prints one JSON line per workload with the fields of sgm4j's bench output
({"workload", "impl", "median_ms", "min_ms", "runs", "cpu_ms", "peak_rss_mb"}).

  txt2img-sd15-step    sgm's EulerEDMSampler with one step over LegacyDDPMDiscretization and
                       VanillaCFG (scale 7.5) around sgm's DiscreteDenoiser (EpsScaling, 1000
                       indices) and the SD 1.x UNetModel behind OpenAIWrapper, random weights:
                       latents (1,4,64,64) doubled to (2,4,64,64) with two (1,77,768) contexts.
                       One timed run is the sampler call (one guided step), under no_grad.
  text-encoder-clip-l  sgm's FrozenCLIPEmbedder (layer "last") for one prompt: HF transformers'
                       CLIPTokenizer (the real slow tokenizer) and, as the text transformer, OpenAI
                       CLIP's own at the ViT-L/14 text size (width 768, 12 layers, 12 heads): the
                       model HF's CLIPTextModel was converted from, since HF's modelling code does
                       not run on Debian's torch 1.13 (the stand-ins of the txt2img golden
                       generator, src/test/resources/golden-extra/txt2img/gen_txt2img.py, at full
                       width). One timed run is one call with one prompt.

Usage (the environment of gen_txt2img.py: source trees from `git archive` and a --target pip install
of transformers, tokenizers and ftfy; see its docstring):
  SGM_SRC=... SD_SRC=... OPEN_CLIP_SRC=... OPENAI_CLIP_SRC=... GOLDEN_TOOLS=... HF_SITE=... \\
  /usr/bin/python3 bench/ref_txt2img.py [--only txt2img-sd15-step,text-encoder-clip-l] [--threads 2] \\
      [--runs N] [--warmup N]
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(REPO, "src", "test", "resources", "golden-extra", "txt2img", "gen_txt2img.py")
PROMPT = "a red cube on a wooden table, studio light"  # TextEncoderClipL.PROMPT
SD15_UNET = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1],
                 num_res_blocks=2, channel_mult=[1, 2, 4, 4], num_heads=8, transformer_depth=1,
                 context_dim=768, use_linear_in_transformer=False)
CLIP_L = dict(width=768, layers=12, heads=12)


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_txt2img", GEN)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def timed(fn, warmup, runs):
    """(wall ms list, cpu ms list) of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def w_txt2img_sd15_step(torch, warmup, runs):
    from sgm.modules.diffusionmodules.denoiser import DiscreteDenoiser
    from sgm.modules.diffusionmodules.openaimodel import UNetModel
    from sgm.modules.diffusionmodules.sampling import EulerEDMSampler
    from sgm.modules.diffusionmodules.wrappers import OpenAIWrapper

    disc = {"target": "sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization"}
    network = OpenAIWrapper(UNetModel(**SD15_UNET).eval(), compile_model=False)
    denoiser = DiscreteDenoiser(
        scaling_config={"target": "sgm.modules.diffusionmodules.denoiser_scaling.EpsScaling"},
        num_idx=1000, discretization_config=disc)
    sampler = EulerEDMSampler(
        discretization_config=disc, num_steps=1, device="cpu",
        guider_config={"target": "sgm.modules.diffusionmodules.guiders.VanillaCFG", "params": {"scale": 7.5}})
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 64, 64, generator=g)
    cond = {"crossattn": torch.randn(1, 77, 768, generator=g)}
    uc = {"crossattn": torch.randn(1, 77, 768, generator=g)}

    def run():
        with torch.no_grad():
            sampler(lambda inp, sigma, c: denoiser(network, inp, sigma, c), x, cond, uc)

    return timed(run, warmup, runs)


def w_text_encoder_clip_l(torch, warmup, runs):
    from sgm.modules.encoders.modules import FrozenCLIPEmbedder

    emb = FrozenCLIPEmbedder(device="cpu")
    emb.freeze()

    def run():
        with torch.no_grad():
            emb([PROMPT])

    return timed(run, warmup, runs)


WORKLOADS = {
    "txt2img-sd15-step": (w_txt2img_sd15_step, 1, 3),
    "text-encoder-clip-l": (w_text_encoder_clip_l, 2, 10),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=-1)
    a = ap.parse_args()

    gen = load_generator()
    gen.CLIP_ARCH = CLIP_L  # the stand-in CLIPTextModel at the ViT-L/14 text size
    hf_version, tok = gen.hf_tokenizer()
    gen.install_stand_ins(tok, [])
    sys.path.insert(0, os.environ["SGM_SRC"])
    import polyfill
    import stubs

    stubs.install()
    polyfill.install()
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    names = [n.strip() for n in a.only.split(",") if n.strip()] or list(WORKLOADS)
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit(f"unknown workload {n}; available: {list(WORKLOADS)}")
        fn, warmup, runs = WORKLOADS[n]
        wall, cpu = fn(torch, warmup if a.warmup < 0 else a.warmup, a.runs or runs)
        print(json.dumps({"workload": n, "impl": "sgm-python-torch" + gen.TORCH_VERSION,
                          "median_ms": round(statistics.median(wall), 3), "min_ms": round(min(wall), 3),
                          "runs": len(wall), "cpu_ms": round(statistics.median(cpu), 1),
                          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                          "tokenizer": f"transformers {hf_version}"}), flush=True)


if __name__ == "__main__":
    main()
