"""Writes sgm4j-core/src/main/resources/io/github/sgm4j/nn/fused_ops.pt (issue 15).

A TorchScript module whose methods are single fused libtorch kernels that DJL 0.35's JNI does
not expose: ``group_norm`` (torch's native group norm: moments and affine in two passes),
``silu`` and ``group_norm_silu``, and the form ``F.groupNorm`` takes while autograd records
(``group_norm_layer_batch`` and ``group_norm_layer_batch_silu``: ``layer_norm`` over [B*G, N] and an
inference-mode ``batch_norm`` as the per-channel affine, the same aten calls sgm4j otherwise makes one
JNI call at a time), and ``adamw_update``: ``optim.AdamW``'s update of every parameter in one call, op
for op as sgm4j writes it one JNI call at a time. ``nn.FusedKernels`` loads it once and calls the methods through DJL's JNI
``moduleRunMethod`` with the caller's autograd mode; see ``F.groupNorm``.
Run with Debian's torch 1.13: /usr/bin/python3 gen_fused_ops.py OUT.pt
"""
import sys
from typing import List

import torch
import torch.nn.functional as F


class FusedOps(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def silu(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x)

    @torch.jit.export
    def group_norm(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int,
                   eps: float) -> torch.Tensor:
        return torch.group_norm(x, groups, weight, bias, eps, False)

    @torch.jit.export
    def group_norm_silu(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int,
                        eps: float) -> torch.Tensor:
        return F.silu(torch.group_norm(x, groups, weight, bias, eps, False), inplace=True)

    @torch.jit.export
    def group_norm_layer_batch(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int,
                               eps: float) -> torch.Tensor:
        shape = x.shape
        b = shape[0]
        c = shape[1]
        rows = b * groups
        per = x.numel() // rows
        unit_w = torch.ones([per], dtype=x.dtype, device=x.device)
        zero_b = torch.zeros([per], dtype=x.dtype, device=x.device)
        normed = torch.layer_norm(x.reshape([rows, per]), [per], unit_w, zero_b, eps, True)
        zero_mean = torch.zeros([c], dtype=x.dtype, device=x.device)
        unit_var = torch.ones([c], dtype=x.dtype, device=x.device)
        affine = torch.batch_norm(normed.reshape([b, c, -1]), weight, bias, zero_mean, unit_var, False, 0.0, 0.0,
                                  True)
        return affine.reshape(shape)

    @torch.jit.export
    def group_norm_layer_batch_silu(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int,
                                    eps: float) -> torch.Tensor:
        return F.silu(self.group_norm_layer_batch(x, weight, bias, groups, eps))

    @torch.jit.export
    def adamw_update(self, params: List[torch.Tensor], grads: List[torch.Tensor], exp_avgs: List[torch.Tensor],
                     exp_avg_sqs: List[torch.Tensor],
                     decay: torch.Tensor, beta1: torch.Tensor, one_minus_beta1: torch.Tensor, beta2: torch.Tensor,
                     one_minus_beta2: torch.Tensor, bc2_sqrt: torch.Tensor, eps: torch.Tensor,
                     neg_step_size: torch.Tensor) -> int:
        updated = 0
        for i in range(len(params)):
            p = params[i]
            g = grads[i]
            m = exp_avgs[i]
            v = exp_avg_sqs[i]
            p.mul_(decay)
            m.mul_(beta1)
            m.add_(g.mul(one_minus_beta1))
            v.mul_(beta2)
            v.add_(g.mul(one_minus_beta2).mul(g))
            # the correctly rounded square root of F.sqrtExact: in float64, then rounded
            s = v.to(torch.float64).sqrt().to(v.dtype)
            denom = s.div(bc2_sqrt).add(eps)
            p.add_(m.mul(neg_step_size).div(denom))
            updated += 1
        return updated


if __name__ == "__main__":
    torch.jit.script(FusedOps()).save(sys.argv[1])
