"""Reference side of the sgm4j benchmarks `train-ldm-step` and `data-throughput`
(docs/benchmarks.md): the original sgm code on PyTorch (eager, CPU, fp32), timed on the same
machine as `sgm4j bench`.

Prints one JSON line per workload with the fields of sgm4j's bench output
({"workload", "impl", "median_ms", "min_ms", "runs", ...}), so ratios are one division.

  train-ldm-step   builds the DiffusionEngine of the SAME yaml sgm4j bundles
                   (sgm4j-cli/src/main/resources/io/github/sgm4j/bench/train_ldm_step.yaml) with
                   sgm's instantiate_from_config, then times shared_step + backward + AdamW step +
                   zero_grad on batch 16 of 256x256 images (a plain loop, no Lightning).
  data-throughput  reads the JPEG folder sgm4j's `data-throughput` workload writes (pass it with
                   --folder) with PIL + numpy transforms (shorter side to 256, bicubic; random
                   256x256 crop; random horizontal flip; [-1, 1]) in a torch DataLoader
                   (2 workers, batch 16, shuffled); one timed run is one pass over the folder.

Usage:
  /usr/bin/python3 bench/ref_train_ldm.py --golden-tools DIR [--sgm-root DIR] \
      [--only train-ldm-step,data-throughput] [--folder DIR] [--threads 2] [--runs N] [--warmup N]

--golden-tools (or $SGM4J_GOLDEN_TOOLS) is the project's golden-tools folder (stubs and
polyfills that let sgm import on torch 1.13); --sgm-root (or $GOLDEN_SGM_ROOT) the folder holding
sgm's `sgm/` package (default: golden-tools' .ref/sgm).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CONFIG = os.path.join(REPO, "sgm4j-cli", "src", "main", "resources", "io", "github", "sgm4j", "bench",
                      "train_ldm_step.yaml")
BATCH = 16
SIDE = 256


def timed(fn, warmup, runs, cpu=None):
    """Wall times of `runs` calls after `warmup` untimed ones, in ms; with a list `cpu`, also each
    call's CPU time of this process (all its threads; not of DataLoader worker processes)."""
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000.0)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000.0)
    return ms


def setup_reference(golden_tools, sgm_root):
    if sgm_root:
        os.environ["GOLDEN_SGM_ROOT"] = os.path.abspath(sgm_root)
    sys.path.insert(0, os.path.abspath(golden_tools))
    import golden_common  # the project's reference environment (stubs, polyfills, sys.path)
    golden_common.setup_environment()


def train_ldm_step(args):
    import torch
    from omegaconf import OmegaConf
    from sgm.util import instantiate_from_config

    torch.manual_seed(0)
    engine = instantiate_from_config(OmegaConf.load(args.config).model)
    engine.train()
    # sgm's DiffusionEngine keeps the first stage frozen (eval, requires_grad False) itself
    params = [p for p in engine.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(0)
    batch = {
        "jpg": torch.rand(BATCH, 3, SIDE, SIDE, generator=g) * 2 - 1,
        "cls": torch.randint(0, 1000, (BATCH,), generator=g),
        "original_size_as_tuple": torch.tensor([[SIDE * 1.25, SIDE * 1.5625]] * BATCH),
        "crop_coords_top_left": torch.randint(0, SIDE // 4 + 1, (BATCH, 2), generator=g).float(),
    }
    losses = []

    def step():
        loss, _ = engine.shared_step(dict(batch))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))

    cpu = []
    ms = timed(step, args.warmup if args.warmup is not None else 1, args.runs or 3, cpu)
    n_train = sum(p.numel() for p in params)
    return ms, {"cpu_ms": round(statistics.median(cpu), 1), "trainable_params": n_train,
                "last_loss": round(losses[-1], 5)}


class JpegFolder:
    """The image folder as sgm4j's ImageFolder reads it, with PIL and numpy only."""

    def __init__(self, root, size):
        exts = (".jpg", ".jpeg", ".png")
        self.files = sorted(os.path.join(root, f) for f in os.listdir(root) if f.lower().endswith(exts))
        if not self.files:
            raise SystemExit(f"no images in {root}: run `sgm4j bench --workload data-throughput` first "
                             "(it writes the folder) and pass the folder it reports")
        self.size = size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        import numpy as np
        from PIL import Image
        with Image.open(self.files[i]) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = self.size
            if h <= w:
                rh, rw = s, s * w // h
            else:
                rh, rw = s * h // w, s
            if (rh, rw) != (h, w):
                im = im.resize((rw, rh), Image.BICUBIC)
            x = np.asarray(im, dtype=np.float32) / 255.0  # (rh, rw, 3)
        rng = np.random.default_rng()
        top = int(rng.integers(0, rh - s + 1))
        left = int(rng.integers(0, rw - s + 1))
        x = x[top:top + s, left:left + s]
        if rng.random() < 0.5:
            x = x[:, ::-1]
        x = np.ascontiguousarray(x.transpose(2, 0, 1)) * 2.0 - 1.0
        return {"jpg": x,
                "original_size_as_tuple": np.array([h, w], dtype=np.float32),
                "crop_coords_top_left": np.array([top, left], dtype=np.float32),
                "target_size_as_tuple": np.array([s, s], dtype=np.float32)}


def data_throughput(args):
    import torch
    from torch.utils.data import DataLoader

    if not args.folder:
        raise SystemExit("data-throughput needs --folder (the JPEG folder sgm4j's workload writes)")
    ds = JpegFolder(args.folder, SIDE)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=args.workers, drop_last=True,
                        persistent_workers=args.workers > 0)
    counted = []
    cpu = []

    def workers_cpu_s():
        # CPU time of the DataLoader's worker processes so far (utime + stime of /proc/PID/stat)
        it = getattr(loader, "_iterator", None)
        total = 0.0
        for w in getattr(it, "_workers", []) or []:
            try:
                with open(f"/proc/{w.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                return float("nan")
        return total

    def epoch():
        c0 = time.process_time() + workers_cpu_s()
        n = 0
        for b in loader:
            n += b["jpg"].shape[0]
        counted.append(n)
        cpu.append((time.process_time() + workers_cpu_s() - c0) * 1000.0)

    runs = args.runs or 3
    ms = timed(epoch, args.warmup if args.warmup is not None else 1, runs)
    images = counted[-1]
    med_s = statistics.median(ms) / 1000.0
    return ms, {"cpu_ms": round(statistics.median(cpu[-runs:]), 1), "images": images,
                "images_per_s": round(images / med_s, 2),
                "batches_per_s": round(images / BATCH / med_s, 3), "batch_size": BATCH,
                "workers": args.workers}


WORKLOADS = {"train-ldm-step": train_ldm_step, "data-throughput": data_throughput}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--golden-tools", default=os.environ.get("SGM4J_GOLDEN_TOOLS"))
    ap.add_argument("--sgm-root", default=os.environ.get("GOLDEN_SGM_ROOT"))
    ap.add_argument("--config", default=CONFIG)
    ap.add_argument("--only", default="train-ldm-step")
    ap.add_argument("--folder", help="JPEG folder for data-throughput")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers for data-throughput")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--warmup", type=int)
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit(f"unknown workload {n!r}; available: {sorted(WORKLOADS)}")
    if "train-ldm-step" in names:
        if not args.golden_tools:
            raise SystemExit("train-ldm-step needs --golden-tools DIR (or $SGM4J_GOLDEN_TOOLS)")
        setup_reference(args.golden_tools, args.sgm_root)
    import torch
    torch.set_num_threads(args.threads)
    results = {}
    for n in names:
        ms, extra = WORKLOADS[n](args)
        s = sorted(ms)
        version = str(getattr(torch, "__version_original__", torch.__version__))  # the polyfill renames it
        line = {"workload": n, "impl": "sgm-python-torch" + version, "median_ms": round(statistics.median(s), 1),
                "min_ms": round(s[0], 1), "runs": len(s)}
        line.update(extra)
        results[n] = line
        print(json.dumps(line), flush=True)
    if "train-ldm-step" in results and "data-throughput" in results:
        step_s = results["train-ldm-step"]["median_ms"] / 1000.0
        batch_s = 1.0 / results["data-throughput"]["batches_per_s"]
        print(json.dumps({"data_wait_fraction": round(max(0.0, batch_s - step_s) / max(batch_s, step_s), 4),
                          "step_ms": round(step_s * 1000, 1), "data_ms_per_batch": round(batch_s * 1000, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
