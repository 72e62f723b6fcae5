"""GPU check of the one-shot family: a DARTS search epoch at the reference configuration and a short
SPOS run, through ``nasbench_lab.search`` as a notebook would call it; prints one JSON object.

    python benchmarks/oneshot_gpu_check.py --device cuda            # on a GPU machine (a few minutes)
    python benchmarks/oneshot_gpu_check.py --device cpu --tiny      # smoke test of this script

Figures:
* ``darts_step``: the search step (first order) against shared/bench/reference.py, as darts_step.py;
* ``darts_epoch_first_order`` / ``darts_epoch_second_order``: DARTS space, C=16, 8 cells, batch 64,
  32x32x3 (random images, so only the timing means anything), a fixed number of steps;
* ``nb201_darts_epoch``: DARTS on the NB201 supernet (C=16, N=5) on Fashion-MNIST (synthetic if absent);
* ``spos``: NB201 reference skeleton, a few supernet epochs, evolution on inherited weights, top-3
  re-trained at low fidelity.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.darts_step import lab_step_seconds, load_reference  # noqa: E402
from nasbench_lab import EventLog, search  # noqa: E402
from nasbench_lab.data import DATASETS, DataError, Splits, load_dataset  # noqa: E402
from nasbench_lab.train import resolve_device  # noqa: E402


def random_splits(n_train, n_val, device, image=(3, 32, 32)):
    g = torch.Generator().manual_seed(0)
    mk = lambda n: (torch.randn(n, *image, generator=g).to(device), torch.randint(0, 10, (n,), generator=g).to(device))  # noqa: E731
    return Splits(DATASETS["cifar10"], *mk(n_train), *mk(n_val), *mk(256), source="random")


def timed_search(space, strategy, data, dataset, budget, options, fidelity, device):
    log = EventLog()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    res = search(space, strategy, "lowfi", budget=budget, dataset=dataset, device=str(device), seed=0,
                 strategy_options=options, estimator_options={"data": data, "fidelity": fidelity}, on_event=log)
    total = time.perf_counter() - t
    epochs = log.of("epoch")
    out = {"seconds_total": round(total, 2),
           "epoch_seconds": [round(b.payload["seconds"] - (a.payload["seconds"] if a else 0), 3)
                             for a, b in zip([None] + epochs[:-1], epochs)],
           "best_arch": str(res.best.arch) if res.best else None,
           "best_val_acc_lowfi": res.best.val_acc if res.best else None}
    if log.of("alphas"):
        out["skip_share"] = [e.payload["skip_share"] for e in log.of("alphas")]
    if device.type == "cuda":
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
    return out, log


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (a CPU smoke test of this script)")
    ap.add_argument("--steps", type=int, default=None, help="DARTS steps per timed epoch (default 50; tiny 2)")
    ap.add_argument("--reference", help="path of shared/bench/reference.py")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: 1 with --tiny)")
    a = ap.parse_args(argv)
    if a.threads or a.tiny:
        # why 1 with --tiny: tiny networks on a shared CPU lose more to thread hand-offs than they gain
        torch.set_num_threads(a.threads or 1)
    dev = resolve_device(a.device)
    tiny = a.tiny
    steps = a.steps or (2 if tiny else 50)
    batch = 8 if tiny else 64
    darts_skel = {"C": 4, "layers": 3} if tiny else {"C": 16, "layers": 8}
    nb_skel = {"C": 4, "N": 1} if tiny else {"C": 16, "N": 5}
    fid = {"epochs": 1, "train_subset": 64 if tiny else 2000, "val_subset": 64 if tiny else 2000, "test_subset": 0}
    out = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "tiny": tiny,
           "torch": torch.__version__}

    # 1. the search step against the reference (same process, same device)
    ref = load_reference(a.reference)
    step_cfg = dict(C=darts_skel["C"], layers=darts_skel["layers"], batch=batch, image=(3, 32, 32))
    n = 1 if tiny else 20
    ref_s = ref.darts_step_seconds(dev, steps=n, **step_cfg)
    lab_s = lab_step_seconds(dev, steps=n, **step_cfg)
    lab32 = lab_step_seconds(dev, steps=n, amp=False, **step_cfg)
    out["darts_step"] = {"config": step_cfg, "steps": n, "reference_s": round(ref_s, 4), "lab_s": round(lab_s, 4),
                         "lab_fp32_s": round(lab32, 4), "ratio_reference_over_lab": round(ref_s / lab_s, 3),
                         "ratio_reference_over_lab_fp32": round(ref_s / lab32, 3)}

    # 2. DARTS search epochs through search(), a fixed number of steps
    for order, k in ((1, steps), (2, max(2, steps // 5))):
        data = random_splits(k * batch, k * batch, dev)
        opts = {"order": order, "skeleton": darts_skel, "batch_size": batch, "train_subset": k * batch,
                "val_subset": k * batch, "eval_subset": 256}
        res, _ = timed_search("darts", "darts", data, "cifar10", 1, opts, fid, dev)
        res["steps"] = k
        res["seconds_per_step"] = round(res["epoch_seconds"][0] / k, 4)
        out[f"darts_epoch_{'first' if order == 1 else 'second'}_order"] = res

    try:
        fm, fm_name = load_dataset("fashion-mnist", device=dev), "fashion-mnist"
    except DataError:
        fm, fm_name = load_dataset("synthetic", device=dev), "synthetic"
    out["dataset"] = fm_name
    opts = {"skeleton": nb_skel, "batch_size": batch, "train_subset": steps * batch, "val_subset": steps * batch,
            "eval_subset": 1000}
    res, _ = timed_search("nb201", "darts", fm, fm_name, 1, opts, fid, dev)
    res["steps"] = steps
    res["seconds_per_step"] = round(res["epoch_seconds"][0] / steps, 4)
    out["nb201_darts_epoch"] = res

    # 3. a short SPOS run
    opts = {"skeleton": nb_skel, "train_subset": 256 if tiny else 20000, "val_subset": 128 if tiny else 2000,
            "batch_size": batch if tiny else 128, "population": 4 if tiny else 20, "generations": 2 if tiny else 5,
            "parents": 2 if tiny else 5, "top_k": 3, "bn_batches": 1 if tiny else 5}
    res, log = timed_search("nb201", "spos", fm, fm_name, 1 if tiny else 3, opts, fid, dev)
    res["candidates_scored"] = len({m["arch"] for e in log.of("population") for m in e.payload["members"]})
    res["top_k"] = [{"arch": e.payload["arch"], "val_acc_lowfi": e.payload["val_acc"]} for e in log.of("evaluation")]
    res["supernet_epochs"] = len(log.of("epoch"))
    out["spos"] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
