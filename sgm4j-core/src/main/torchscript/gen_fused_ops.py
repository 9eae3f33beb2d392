"""Writes sgm4j-core/src/main/resources/io/github/sgm4j/nn/fused_ops.pt (issue 15).

A TorchScript module whose methods are single fused libtorch kernels that DJL 0.35's JNI does
not expose: ``group_norm`` (torch's native group norm: moments and affine in two passes),
``silu`` and ``group_norm_silu``. ``nn.F`` loads it once and calls the methods through DJL's
``IValueUtils.runMethod`` when autograd is not recording (inference); see ``F.groupNorm``.
Run with Debian's torch 1.13: /usr/bin/python3 gen_fused_ops.py OUT.pt
"""
import sys

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


if __name__ == "__main__":
    torch.jit.script(FusedOps()).save(sys.argv[1])
