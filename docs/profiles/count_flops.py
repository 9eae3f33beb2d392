"""FLOPs of the SD 1.x UNet forward of the `unet-sd15-fwd` / `unet-sd15-fwd-512` workloads, counted
on the reference's own modules (sgm's UNetModel) with forward hooks, the way docs/benchmarks.md
counts every workload: 2 per multiply-add of convolutions, linear layers and the attention matmuls
(q k^T and attn v), elementwise work not counted. Runs one forward on the CPU per size
(about a minute at 64x64 on 2 cores).

  /usr/bin/python3 docs/profiles/count_flops.py --golden-tools DIR [--latent 64]
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--golden-tools", default=os.environ.get("SGM4J_GOLDEN_TOOLS"))
ap.add_argument("--latent", type=int, nargs="+", default=[32, 64])
a = ap.parse_args()
sys.path.insert(0, os.path.abspath(a.golden_tools))
import golden_common  # noqa: E402

golden_common.setup_environment()
import torch  # noqa: E402
from sgm.modules.attention import CrossAttention  # noqa: E402
from sgm.modules.diffusionmodules.openaimodel import UNetModel  # noqa: E402

SD15_UNET = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1],
                 num_res_blocks=2, channel_mult=[1, 2, 4, 4], num_heads=8, transformer_depth=1,
                 context_dim=768, use_linear_in_transformer=False)


def count(net, *inputs, **kw):
    total = [0]

    def conv(m, inp, out):
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]  # in/groups * kh * kw
        total[0] += 2 * out.numel() * k

    def linear(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    plain_forward = CrossAttention.forward

    def attn_forward(m, x, context=None, *args, **kwargs):
        ctx = x if context is None else context
        total[0] += 2 * 2 * x.shape[0] * x.shape[1] * ctx.shape[1] * m.to_q.out_features  # q k^T and attn v
        return plain_forward(m, x, context, *args, **kwargs)

    CrossAttention.forward = attn_forward

    hooks = []
    for mod in net.modules():
        if isinstance(mod, torch.nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv))
        elif isinstance(mod, torch.nn.Linear):
            hooks.append(mod.register_forward_hook(linear))
    with torch.no_grad():
        net(*inputs, **kw)
    for h in hooks:
        h.remove()
    CrossAttention.forward = plain_forward
    return total[0]


net = UNetModel(**SD15_UNET).eval()
for side in a.latent:
    x = torch.randn(2, 4, side, side)
    c = torch.randn(2, 77, 768)
    t = torch.tensor([999.0, 999.0])
    print(f"unet-sd15 latents (2,4,{side},{side}): {count(net, x, timesteps=t, context=c) / 1e9:.1f} GFLOP", flush=True)
