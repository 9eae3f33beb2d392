"""Generates extra golden cases for the UNet-dependent diffusion families with parameters the
shipped cases do not use (other samplers, a DiscreteDenoiser under a sampler, V scalings and
weightings, no c_noise quantisation), in the case format of ../../golden, to show the runners are
driven by case.json alone.

Run from this directory with Debian's torch 1.13 and the project's golden tools (the reference
runner, not part of this repository), with the sgm and ldm sources unpacked somewhere:
  GOLDEN_SGM_ROOT=path/to/sgm GOLDEN_LDM_ROOT=path/to/ldm \
  PYTHONPATH=path/to/golden-tools /usr/bin/python3 gen_diffusion_variants.py
"""
import copy
import os
import sys

import torch

import golden_common as gc

gc.setup_environment()

from sgm.modules.diffusionmodules.openaimodel import UNetModel  # noqa: E402
from sgm.modules.diffusionmodules.wrappers import OpenAIWrapper  # noqa: E402
from sgm.util import append_dims, instantiate_from_config  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))
P = "sgm.modules.diffusionmodules."
NETWORK = {
    "target": P + "openaimodel.UNetModel",
    "params": {"in_channels": 1, "out_channels": 1, "model_channels": 32, "attention_resolutions": [],
               "num_res_blocks": 1, "channel_mult": [1, 2], "num_head_channels": 32,
               "num_classes": "sequential", "adm_in_channels": 32},
}
WRAPPER = P + "wrappers.OpenAIWrapper"
DDPM = {"target": P + "discretizer.LegacyDDPMDiscretization"}


def network(ctx):
    unet = instantiate_from_config(NETWORK)
    ctx.rerandomize(unet)
    net = OpenAIWrapper(unet).eval()
    return net


def seeds(ctx):
    return {"torch_manual_seed": ctx.seed, "note": "all reference-side randomness is replayed from noise.<i>"}


def finish(case, ctx, params, rec):
    case.noise = rec.tape
    d = gc.write_case(case, "extra", params, OUT, seeds(ctx))
    gc.verify_written(case, d)
    print("wrote", d, "noise draws", len(rec.tape))


def sampler_case(name, seed, denoiser_cfg, sampler_cfg, with_uc, B=2, S=16):
    params = {"seed": seed, "B": B, "S": S}
    rec = gc.Recorder()
    ctx = gc.Ctx("extra", params, rec)
    torch.manual_seed(seed)
    net = network(ctx)
    den = instantiate_from_config(denoiser_cfg)
    sampler = instantiate_from_config(sampler_cfg)
    config = {"network": NETWORK, "network_wrapper": WRAPPER, "denoiser": denoiser_cfg, "sampler": sampler_cfg}
    case = gc.Case(name, "sgm sampler over OpenAIWrapper(UNet) and a config-built denoiser",
                   "out = sampler(lambda input, sigma, c: den(network, input, sigma, c), x, cond, uc); every "
                   "denoiser call traced (trace.<k>.x/.sigma/.denoised)", config, rtol=1e-4, atol=1e-4)
    case.set_weights(net.state_dict(), "model.")
    case.set_weights(den.state_dict(), "denoiser.")
    x = case.inp("x", ctx.randn(B, 1, S, S))
    cond = {"vector": case.inp("cond.vector", ctx.randn(B, 32))}
    uc = {"vector": case.inp("uc.vector", ctx.randn(B, 32))} if with_uc else None
    trace = []

    def closure(inp, sigma, c):
        out = den(net, inp, sigma, c)
        trace.append((inp.clone(), sigma.clone(), out.clone()))
        return out

    x_call = x.clone()
    with torch.no_grad(), rec:
        out = sampler(closure, x_call, cond, uc=uc)
    case.out("sigmas", sampler.discretization(sampler.num_steps, device="cpu"))
    case.out("out", out)
    case.out("input_x_after_call", x_call)
    for k, (a, s, o) in enumerate(trace):
        case.out(f"trace.{k}.x", a)
        case.out(f"trace.{k}.sigma", s)
        case.out(f"trace.{k}.denoised", o)
    finish(case, ctx, params, rec)


def loss_case(name, seed, denoiser_cfg, loss_cfg, B=3, S=16):
    params = {"seed": seed, "B": B, "S": S}
    rec = gc.Recorder()
    ctx = gc.Ctx("extra", params, rec)
    torch.manual_seed(seed)
    net = network(ctx)
    den = instantiate_from_config(denoiser_cfg)
    loss = instantiate_from_config(loss_cfg)
    config = {"network": NETWORK, "network_wrapper": WRAPPER, "denoiser": denoiser_cfg, "loss": loss_cfg}
    case = gc.Case(name, "sgm StandardDiffusionLoss._forward over OpenAIWrapper(UNet)",
                   "loss._forward(network, den, {'vector': cond.vector}, x, {}) with its intermediates",
                   config, rtol=1e-4, atol=1e-5)
    case.set_weights(net.state_dict(), "model.")
    case.set_weights(den.state_dict(), "denoiser.")
    x = case.inp("x", ctx.randn(B, 1, S, S))
    cond = {"vector": case.inp("cond.vector", ctx.randn(B, 32))}
    seen = {}

    def den_spy(network_, noised, sigmas, c):
        seen["sigmas"], seen["noised_input"] = sigmas.clone(), noised.clone()
        out = den(network_, noised, sigmas, c)
        seen["model_output"] = out.clone()
        return out

    with torch.no_grad(), rec:
        per_sample = loss._forward(net, den_spy, cond, x, {})
    case.out("loss", per_sample, atol=1e-4)
    case.out("sigmas", seen["sigmas"])
    case.out("noised_input", seen["noised_input"])
    case.out("model_output", seen["model_output"])
    case.out("w", append_dims(loss.loss_weighting(seen["sigmas"]), x.ndim))
    finish(case, ctx, params, rec)


def denoiser_discrete_case(name, seed, denoiser_cfg, B=2, S=16):
    params = {"seed": seed, "B": B, "S": S}
    rec = gc.Recorder()
    ctx = gc.Ctx("extra", params, rec)
    torch.manual_seed(seed)
    net = network(ctx)
    den = instantiate_from_config(denoiser_cfg)
    config = {"network": NETWORK, "network_wrapper": WRAPPER, "denoiser": denoiser_cfg}
    case = gc.Case(name, "sgm DiscreteDenoiser over OpenAIWrapper(UNet)",
                   "sigma table, quantisation helpers, scalings of the quantized sigma and den(network, x, "
                   "sigma, {'vector': y})", config, rtol=1e-4, atol=1e-5)
    case.set_weights(net.state_dict(), "model.")
    case.set_weights(den.state_dict(), "denoiser.")
    x = case.inp("x", ctx.randn(B, 1, S, S))
    sigma = case.inp("sigma", ctx.rand(B, lo=0.05, hi=10.0))
    y = case.inp("cond.vector", ctx.randn(B, 32))
    q = case.inp("sigma_query", ctx.rand(9, lo=0.02, hi=12.0))
    iq = case.inp("idx_query", ctx.randint(0, den.num_idx, (7,)))
    with torch.no_grad(), rec:
        case.out("sigmas", den.sigmas)
        case.out("sigma_to_idx", den.sigma_to_idx(q))
        case.out("idx_to_sigma", den.idx_to_sigma(iq))
        case.out("possibly_quantize_sigma", den.possibly_quantize_sigma(q))
        case.out("possibly_quantize_c_noise", den.possibly_quantize_c_noise(q))
        qs = den.possibly_quantize_sigma(sigma)
        case.out("quantized_sigma", qs)
        c_skip, c_out, c_in, c_noise = den.scaling(append_dims(qs, x.ndim))
        case.out("c_skip", c_skip)
        case.out("c_out", c_out)
        case.out("c_in", c_in)
        case.out("c_noise_idx", den.possibly_quantize_c_noise(c_noise.reshape(qs.shape)))
        case.out("denoised", den(net, x, sigma, {"vector": y}))
    finish(case, ctx, params, rec)


def main():
    eps_discrete = {"target": P + "denoiser.DiscreteDenoiser",
                    "params": {"scaling_config": {"target": P + "denoiser_scaling.EpsScaling"}, "num_idx": 1000,
                               "discretization_config": DDPM}}
    sampler_case("sampler_dpmpp2s_ancestral_unet_discrete", 1701, eps_discrete, {
        "target": P + "sampling.DPMPP2SAncestralSampler",
        "params": {"num_steps": 3, "discretization_config": DDPM, "eta": 0.8, "s_noise": 0.9, "device": "cpu",
                   "guider_config": {"target": P + "guiders.VanillaCFG", "params": {"scale": 2.5}}}}, True)
    sampler_case("sampler_heun_edm_unet_v_identity", 1702,
                 {"target": P + "denoiser.Denoiser",
                  "params": {"scaling_config": {"target": P + "denoiser_scaling.VScalingWithEDMcNoise"}}},
                 {"target": P + "sampling.HeunEDMSampler",
                  "params": {"num_steps": 3, "s_churn": 0.5, "device": "cpu",
                             "discretization_config": {"target": P + "discretizer.EDMDiscretization",
                                                       "params": {"sigma_min": 0.01, "sigma_max": 20.0,
                                                                  "rho": 5.0}}}}, False)
    sampler_case("sampler_lms_unet_cfg", 1703,
                 {"target": P + "denoiser.Denoiser",
                  "params": {"scaling_config": {"target": P + "denoiser_scaling.EDMScaling",
                                                "params": {"sigma_data": 0.5}}}},
                 {"target": P + "sampling.LinearMultistepSampler",
                  "params": {"num_steps": 4, "order": 3, "device": "cpu",
                             "discretization_config": {"target": P + "discretizer.EDMDiscretization"},
                             "guider_config": {"target": P + "guiders.VanillaCFG", "params": {"scale": 4.0}}}},
                 True)
    loss_case("diffusion_loss_v_l1_discrete", 1801,
              {"target": P + "denoiser.Denoiser", "params": {"scaling_config": {"target": P + "denoiser_scaling.VScaling"}}},
              {"target": P + "loss.StandardDiffusionLoss",
               "params": {"sigma_sampler_config": {"target": P + "sigma_sampling.DiscreteSampling",
                                                   "params": {"discretization_config": DDPM, "num_idx": 1000}},
                          "loss_weighting_config": {"target": P + "loss_weighting.VWeighting"},
                          "loss_type": "l1"}})
    denoiser_discrete_case("denoiser_discrete_v_noquant", 1901,
                           {"target": P + "denoiser.DiscreteDenoiser",
                            "params": {"scaling_config": {"target": P + "denoiser_scaling.VScaling"},
                                       "num_idx": 500,
                                       "discretization_config": {"target": DDPM["target"],
                                                                 "params": {"linear_start": 0.001,
                                                                            "linear_end": 0.02,
                                                                            "num_timesteps": 500}},
                                       "quantize_c_noise": False}})


if __name__ == "__main__":
    main()
