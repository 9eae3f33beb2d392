"""Generates the golden case sgm_autoencoder_kl_train: sgm's AutoencodingEngine (KL regularizer,
GeneralLPIPSWithDiscriminator with learn_logvar) trained for four batches by its own
training_step under manual optimisation, in the case format of ../../golden.

The structure is that of sgm's configs/example_training/autoencoder/kl-f4/imagenet-attnfree-logvar.yaml
(attention-free Encoder/Decoder, DiagonalGaussianRegularizer, perceptual_weight 0.25, disc_weight
0.5, learn_logvar, regularization_weights kl_loss 1.0, disc_start_iter 0, default optimizer
torch.optim.Adam); only sizes are shrunk (ch 32, ch_mult [1, 1], one res block, 16x16 images, a
discriminator_config with ndf 8 and two layers) and disc_start is 2, so the four batches are:
  global_step 0: autoencoder (before disc_start: no GAN term, d_weight 0)
  global_step 1: discriminator (before disc_start: d_loss is a fresh leaf, no gradients, no update)
  global_step 2: autoencoder (GAN term with the adaptive weight from one retained graph)
  global_step 3: discriminator (vanilla d-loss)
lr_g_factor 0.5 makes the two optimizers' learning rates differ.

The Lightning trainer is replaced by the few things training_step uses: global_step (= batches
done: one optimizer step per batch), optimizers() returning wrappers with Lightning 2's
toggle_model (toggle_optimizer / untoggle_optimizer), zero_grad (torch 2's set_to_none=True), and
manual_backward (loss.backward()). model.train() is called once as Lightning does, which also puts
the LPIPS module (built with .eval()) in training mode: its dropout masks are recorded draws.

LPIPS's VGG16 weights are not stored: they follow extra.vgg_weight_formula (as in the
lpips_random_vgg case); LPIPS.load_from_pretrained is replaced by a no-op (no download).

Run from this directory with Debian's torch 1.13 and the project's golden tools:
  GOLDEN_SGM_ROOT=path/to/sgm GOLDEN_LDM_ROOT=path/to/ldm \
  PYTHONPATH=path/to/golden-tools /usr/bin/python3 gen_sgm_autoencoder_train.py
"""
import contextlib
import copy
import math
import os

import numpy as np
import torch

import golden_common as gc

gc.setup_environment()

from sgm.modules.autoencoding.lpips.loss import lpips as lpips_module  # noqa: E402
from sgm.util import instantiate_from_config  # noqa: E402

lpips_module.LPIPS.load_from_pretrained = lambda self, name="vgg_lpips": None

OUT = os.path.dirname(os.path.abspath(__file__))
NAME = "sgm_autoencoder_kl_train"
SEED = 2401
B, S, STEPS = 2, 16, 4
LR = 1e-3
VGG_SEED = 0x5EED5EED
GAMMA = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1

DD = {"attn_type": "none", "double_z": True, "z_channels": 4, "resolution": S, "in_channels": 3, "out_ch": 3,
      "ch": 32, "ch_mult": [1, 1], "num_res_blocks": 1, "attn_resolutions": [], "dropout": 0.0}
CONFIG = {
    "target": "sgm.models.autoencoder.AutoencodingEngine",
    "base_learning_rate": LR,
    "params": {
        "input_key": "jpg",
        "monitor": "val/rec_loss",
        "lr_g_factor": 0.5,
        "loss_config": {
            "target": "sgm.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator",
            "params": {"perceptual_weight": 0.25, "disc_start": 2, "disc_weight": 0.5, "learn_logvar": True,
                       "disc_loss": "vanilla", "regularization_weights": {"kl_loss": 1.0},
                       "additional_log_keys": ["kl_loss"],
                       "discriminator_config": {
                           "target": "sgm.modules.autoencoding.lpips.model.model.NLayerDiscriminator",
                           "params": {"input_nc": 3, "ndf": 8, "n_layers": 2, "use_actnorm": False}}}},
        "regularizer_config": {"target": "sgm.modules.autoencoding.regularizers.DiagonalGaussianRegularizer"},
        "encoder_config": {"target": "sgm.modules.diffusionmodules.model.Encoder", "params": DD},
        "decoder_config": {"target": "sgm.modules.diffusionmodules.model.Decoder", "params": DD},
    },
}


def vgg_formula(tensor_index, shape, scale):
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (np.uint64((VGG_SEED + tensor_index * GAMMA) & MASK) + (j + np.uint64(1)) * np.uint64(GAMMA))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) / np.float32(2 ** 24)
    w = (np.float32(2) * u - np.float32(1)) * np.float32(scale)
    return torch.from_numpy(w.astype(np.float32).reshape(shape))


class FakeOptimizer:
    """What AutoencodingEngine.training_step uses of Lightning 2's LightningOptimizer."""

    def __init__(self, opt, model, all_opts):
        self.opt, self.model, self.all_opts = opt, model, all_opts

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def step(self):
        self.opt.step()

    @contextlib.contextmanager
    def toggle_model(self):
        # LightningModule.toggle_optimizer: every optimizer's params stop requiring grad, then this
        # optimizer's params get their previous state back; untoggle restores the others.
        state = {}
        for o in self.all_opts:
            for group in o.param_groups:
                for p in group["params"]:
                    if p in state:
                        continue
                    state[p] = p.requires_grad
                    p.requires_grad = False
        for group in self.opt.param_groups:
            for p in group["params"]:
                p.requires_grad = state[p]
        try:
            yield
        finally:
            for o in self.all_opts:
                if o is self.opt:
                    continue
                for group in o.param_groups:
                    for p in group["params"]:
                        if p in state:
                            p.requires_grad = state[p]


def main():
    params = {"seed": SEED, "B": B, "S": S, "steps": STEPS, "lr": LR}
    rec = gc.Recorder()
    ctx = gc.Ctx("extra", params, rec)
    torch.manual_seed(SEED)
    cfg = copy.deepcopy(CONFIG)
    ae = instantiate_from_config(cfg)
    ae.learning_rate = cfg["base_learning_rate"]
    ctx.rerandomize(ae)
    vgg_keys = []
    with torch.no_grad():
        net_params = [(k, p) for k, p in ae.loss.perceptual_loss.named_parameters() if k.startswith("net.")]
        for ti, (k, p) in enumerate(net_params):
            scale = 0.05 if k.endswith(".bias") else float(np.float32(math.sqrt(6.0 / p[0].numel())))
            w = vgg_formula(ti, tuple(p.shape), scale)
            p.copy_(w)
            vgg_keys.append({"key": "loss.perceptual_loss." + k, "tensor_index": ti, "shape": list(p.shape),
                             "scale": float(np.float32(scale)), "sum": float(w.double().sum()),
                             "first": [float(x) for x in w.flatten()[:4]]})
    case = gc.Case(NAME, "sgm.models.autoencoder.AutoencodingEngine.training_step (automatic_optimization False) + "
                   "sgm.modules.autoencoding.losses.GeneralLPIPSWithDiscriminator + DiagonalGaussianRegularizer, "
                   "torch.optim.Adam from the default optimizer_config",
                   "ae = instantiate_from_config(config) (every weight re-randomised, BatchNorm running stats "
                   "included; LPIPS VGG16 from extra.vgg_weight_formula); ae.learning_rate = base_learning_rate; "
                   "opts = ae.configure_optimizers() ([opt_ae over loss.logvar + encoder + decoder with lr * "
                   "lr_g_factor, opt_disc over the discriminator]); ae.train(). For g in 0..steps-1 with "
                   "global_step = g and batch {'jpg': input.jpg.<g>} (B, C, H, W): ae.training_step(batch, g) "
                   "(optimizer_idx = g % 2, 0 while global_step < disc_start_iter; zero_grad(set_to_none), "
                   "toggle_model, inner_training_step, manual_backward, step). Recorded per g: optidx.<g>, "
                   "loss.<g>, log.<g>.<name> (the 'train/' prefix dropped, '/' kept), grad.<g>.<param> for "
                   "the parameters of the stepped optimizer that received a gradient (none at g=1: its d_loss "
                   "is a fresh leaf before disc_start, so torch's Adam skips every parameter), and "
                   "state.<g>.<key> = what the step changed (the stepped optimizer's parameters after "
                   "opt.step(), the discriminator's BatchNorm buffers after the step's discriminator calls).",
                   CONFIG, rtol=1e-4, atol=1e-5)
    case.call("for g in range(steps): ae._golden_global_step = g; ae.training_step({'jpg': input.jpg.g}, g)")
    case.set_weights({k: v for k, v in ae.state_dict().items() if not k.startswith("loss.perceptual_loss.net.")})
    case.extra["vgg_weights_not_stored"] = vgg_keys
    case.extra["vgg_weight_formula"] = ("splitmix64 finaliser over (SEED + tensor_index * 0x9E3779B97F4A7C15 + "
                                        "(j + 1) * 0x9E3779B97F4A7C15) mod 2^64, u = float32(z >> 40) / 2**24, "
                                        "w = (2*u - 1) * float32(scale) (as in lpips_random_vgg; SEED 0x5EED5EED)")
    case.extra["vgg_scale_rule"] = ("weight: scale = float32(sqrt(6 / fan_in)), bias: 0.05; tensor_index counts "
                                    "loss.perceptual_loss.net.* parameters in state_dict order")
    images = [case.inp(f"jpg.{g}", ctx.rand(B, 3, S, S, lo=-1.0, hi=1.0)) for g in range(STEPS)]

    opts = ae.configure_optimizers()
    ae._golden_optimizers = [FakeOptimizer(o, ae, opts) for o in opts]
    ae.train()
    captured = {}
    orig_inner = ae.inner_training_step

    def inner(batch, batch_idx, optimizer_idx=0):
        loss = orig_inner(batch, batch_idx, optimizer_idx=optimizer_idx)
        captured["idx"], captured["loss"] = optimizer_idx, loss
        return loss

    ae.inner_training_step = inner
    logs = {}
    orig_loss_forward = ae.loss.forward

    def loss_forward(*a, **k):
        out = orig_loss_forward(*a, **k)
        logs.clear()
        # a copy now: the log's scalars/logvar is a view of the parameter the step then updates
        logs.update({k: v.detach().clone() for k, v in out[1].items()})
        return out

    ae.loss.forward = loss_forward
    names = {p: n for n, p in ae.named_parameters()}
    bn = {n: b for n, b in ae.named_buffers() if n.startswith("loss.discriminator.")}
    for g in range(STEPS):
        ae._golden_global_step = g
        grads = {}
        opt_steps = [o.opt.step for o in ae._golden_optimizers]

        def make_step(o, orig):
            def step():
                for group in o.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            grads[names[p]] = p.grad.detach().clone()
                orig()
            return step

        for fo, orig in zip(ae._golden_optimizers, opt_steps):
            fo.opt.step = make_step(fo.opt, orig)
        with rec:
            ae.training_step({"jpg": images[g]}, g)
        for fo, orig in zip(ae._golden_optimizers, opt_steps):
            fo.opt.step = orig
        idx = captured["idx"]
        case.out(f"optidx.{g}", torch.tensor(idx))
        case.out(f"loss.{g}", captured["loss"])
        for k, v in logs.items():
            case.out(f"log.{g}.{k[len('train/'):]}", v.float())
        for k, v in grads.items():
            case.out(f"grad.{g}.{k}", v)
        if g < STEPS - 1:
            stepped = [names[p] for group in opts[idx].param_groups for p in group["params"]]
            for k in stepped:
                if k in grads:
                    case.out(f"state.{g}.{k}", dict(ae.named_parameters())[k])
            for k, b in bn.items():
                case.out(f"state.{g}.{k}", b)
        print("step", g, "opt", idx, "loss", float(captured["loss"]), "grads", len(grads))
    case.note("input.jpg.<g> is (B, C, H, W) in [-1, 1] (sgm's get_input takes batch[input_key] as it is).")
    case.note("global_step counts optimizer steps; with one optimizer per batch it equals the batch index.")
    case.note("d_weight = clamp(|grad nll wrt decoder.conv_out.weight| / (|grad g wrt it| + 1e-4), 0, 1e4) * "
              "disc_weight from one retained graph (torch.autograd.grad twice); 0 before disc_start, where g is a "
              "fresh leaf tensor(0.0, requires_grad=True).")
    case.note("state.<g>.<param> is the reference's Adam applied to grad.<g>.<param>: check it by stepping the "
              "port's Adam with the recorded gradients (Adam's first step is lr * sign(grad)), then load "
              "state.<g>.* so step g+1 starts from the reference's weights.")
    case.note("The discriminator is in training mode: its BatchNorm running stats change with every call (g=2: "
              "one call on the reconstruction; g=1 and g=3: real then fake, also at g=1 where the loss is 0).")
    case.note("The loss's log is recorded in float32 (log.<g>.<name>); optidx.<g> is the optimizer index.")
    case.noise = rec.tape
    d = gc.write_case(case, "extra", params, OUT, {"torch_manual_seed": SEED,
                                                    "note": "all reference-side randomness is replayed from noise.<i>"})
    gc.verify_written(case, d)
    print("wrote", d, "noise draws", len(rec.tape), "bytes", gc.dir_size(d))


if __name__ == "__main__":
    main()
