"""Writes sgm4j-core/src/main/resources/io/github/sgm4j/nn/fused_ops.pt (issue 15).

A TorchScript module whose methods are single fused libtorch kernels that DJL 0.35's JNI does
not expose: ``group_norm`` (torch's native group norm: moments and affine in two passes),
``silu`` and ``group_norm_silu``, and the form ``F.groupNorm`` takes while autograd records
(``group_norm_layer_batch`` and ``group_norm_layer_batch_silu``: ``layer_norm`` over [B*G, N] and an
inference-mode ``batch_norm`` as the per-channel affine, the same aten calls sgm4j otherwise makes one
JNI call at a time), ``attention``: libtorch's ``scaled_dot_product_attention`` (its fused CPU kernel
never holds the whole score matrix; torch 2.0+, patched in after scripting, see ``patch_sdpa``), and
``adamw_update``: ``optim.AdamW``'s update of every parameter in one call, op
for op as sgm4j writes it one JNI call at a time. ``nn.FusedKernels`` loads it once and calls the methods through DJL's JNI
``moduleRunMethod`` with the caller's autograd mode; see ``F.groupNorm``.
Run with Debian's torch 1.13: /usr/bin/python3 gen_fused_ops.py OUT.pt
"""
import sys
import zipfile
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

    @torch.jit.export
    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
        # [N, L, D] inputs get a leading batch dimension: libtorch's fused CPU kernel wants 4-d input
        # with unit stride in the last dimension (otherwise it falls back to the full score matrix)
        three = q.dim() == 3
        if three:
            q = q.unsqueeze(0)
            k = k.unsqueeze(0)
            v = v.unsqueeze(0)
        if q.stride(-1) != 1:
            q = q.contiguous()
        if k.stride(-1) != 1:
            k = k.contiguous()
        if v.stride(-1) != 1:
            v = v.contiguous()
        out = torch.baddbmm(q, k, v, beta=scale)  # SDPA_PLACEHOLDER (see patch_sdpa)
        if three:
            out = out.squeeze(0)
        return out


def patch_sdpa(path: str) -> None:
    """torch 1.13 has no scaled_dot_product_attention (torch 2.0+), so ``attention`` is scripted with a
    placeholder call and the archive's method source is rewritten to call it; libtorch compiles the
    source when it loads the module. The debug-info pickles (source ranges of the unpatched text) are
    left out."""
    src = zipfile.ZipFile(path)
    entries = [(info, src.read(info.filename)) for info in src.infolist()]
    src.close()
    placeholder = b"torch.baddbmm(q1, k1, v1, beta=scale)"
    patched = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for info, data in entries:
            if info.filename.endswith(".debug_pkl"):
                continue
            if info.filename.endswith("code/__torch__.py"):
                patched += data.count(placeholder)
                data = data.replace(placeholder, b"torch.scaled_dot_product_attention(q1, k1, v1, None, 0., False, scale=scale)")
            out.writestr(info, data)
    if patched != 1:
        raise SystemExit(f"expected one attention placeholder in {path}, found {patched}")


if __name__ == "__main__":
    torch.jit.script(FusedOps()).save(sys.argv[1])
    patch_sdpa(sys.argv[1])
