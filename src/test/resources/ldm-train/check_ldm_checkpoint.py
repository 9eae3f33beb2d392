"""Loads a checkpoint written by sgm4j's LdmTraining (``sgm4j train`` on an ldm LatentDiffusion
config) into the reference ldm LatentDiffusion built from the same config, with
``load_state_dict(sd, strict=True)``, then checks what a resumed reference run would use: the
``scale_factor`` buffer (scale_by_std), the EMA (``model_ema.*``, swapped in by ema_scope), the
recorded global step, and that ``shared_step`` on a batch of MNIST-shaped inputs gives a finite loss.

Run with Debian's torch 1.13 and the project's golden tools (/work/shared/golden-tools):
  GOLDEN_LDM_ROOT=path/to/latent-diffusion GOLDEN_SGM_ROOT=path/to/generative-models \\
  PYTHONPATH=path/to/golden-tools /usr/bin/python3 check_ldm_checkpoint.py CONFIG.yaml last.safetensors
"""
import sys

import torch

import golden_common as gc

gc.setup_environment()

import st_io  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from ldm.util import instantiate_from_config  # noqa: E402


def main(config_path, ckpt_path):
    config = OmegaConf.load(config_path)
    model = instantiate_from_config(config.model)
    sd = st_io.load_file(ckpt_path)
    meta = st_io.read_header(ckpt_path).get("__metadata__", {})
    result = model.load_state_dict(sd, strict=True)
    print(f"strict load of {ckpt_path}: {len(sd)} tensors, {result}")
    ours = set(model.state_dict().keys())
    assert ours == set(sd.keys()), (sorted(ours - set(sd)), sorted(set(sd) - ours))
    if getattr(model, "scale_by_std", False):
        print(f"scale_factor {float(model.scale_factor):.8f} (restored: on_train_batch_start keeps it"
              f" once restarted_from_ckpt or global_step > 0)")
        assert float(model.scale_factor) != 1.0
    if model.use_ema:
        print(f"EMA: num_updates {int(model.model_ema.num_updates)}, decay {float(model.model_ema.decay)}")
        with model.ema_scope():
            pass
    print(f"global step recorded: {meta.get('sgm4j.global_step')}, seed {meta.get('sgm4j.seed')},"
          f" lr {meta.get('sgm4j.learning_rate')}, data position {meta.get('sgm4j.data_position')}")
    torch.manual_seed(0)
    p = config.model.params
    side = p.first_stage_config.params.ddconfig.resolution
    ch = p.first_stage_config.params.ddconfig.in_channels
    batch = {p.first_stage_key: torch.rand(2, side, side, ch) * 2 - 1}
    if p.get("cond_stage_key") == "class_label":
        batch[p.cond_stage_config.params.get("key", "class")] = torch.tensor([3, 7])
    model.train()
    loss, loss_dict = model.shared_step(batch)
    loss.backward()
    print(f"shared_step loss {float(loss):.6f} (finite: {bool(torch.isfinite(loss))})")
    assert torch.isfinite(loss)
    print("OK")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
