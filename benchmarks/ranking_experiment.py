"""One-shot ranking vs from-scratch ranking on NAS-Bench-201, at classroom scale on a CPU.

    python benchmarks/ranking_experiment.py [--archs 24] [--supernet-epochs 10] [--json] [--out FILE]

1. Train one NB201 supernet (classroom skeleton C=8, N=1) with uniform single-path sampling (SPOS),
   through the ``supernet`` estimator.
2. Draw ``--archs`` distinct cells uniformly from the 6,466 unique NB201 cells.
3. Score each with inherited weights (batch norm recalibrated per cell) and train each from scratch
   at low fidelity (the ``train`` estimator, same skeleton).
4. Print Kendall tau, Spearman rho, top-5 overlap and regret (nasbench_lab.ranking.compare_rankings).

The lesson (Yu et al., ICLR 2020; ANCHORS.md: weight-sharing Kendall tau near 0 in several studies,
0.38-0.51 on NB301 after long supernet training): inherited-weight scores order architectures only
roughly like real training does, which is why SPOS re-trains its top-k from scratch.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nasbench_lab.data import load_dataset  # noqa: E402
from nasbench_lab.estimators import Fidelity, TrainEstimator  # noqa: E402
from nasbench_lab.estimators.supernet import SupernetEstimator  # noqa: E402
from nasbench_lab.ranking import compare_rankings  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402
from nasbench_lab.train import resolve_device  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--archs", type=int, default=24, help="architectures scored both ways (>= 20 for the note)")
    ap.add_argument("--supernet-epochs", type=int, default=10)
    ap.add_argument("--supernet-images", type=int, default=10000, help="training images for the supernet")
    ap.add_argument("--scratch-epochs", type=int, default=2)
    ap.add_argument("--scratch-images", type=int, default=5000, help="training images per from-scratch run")
    ap.add_argument("--val-images", type=int, default=2000, help="validation images scoring both ways")
    ap.add_argument("--C", type=int, default=8)
    ap.add_argument("--N", type=int, default=1)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    ap.add_argument("--out", help="also write the JSON result to this file")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    say = (lambda *m: None) if a.json else (lambda *m: print(*m, flush=True))
    device = resolve_device(a.device)
    space = get_space("nb201")
    data = load_dataset(a.dataset, device=device)
    skeleton = {"C": a.C, "N": a.N}

    oneshot = SupernetEstimator(a.dataset, device, data=data, epochs=a.supernet_epochs, skeleton=skeleton,
                                train_subset=a.supernet_images, val_subset=a.val_images, seed=a.seed)
    scratch = TrainEstimator(a.dataset, device, data=data,
                             fidelity=Fidelity(epochs=a.scratch_epochs, train_subset=a.scratch_images,
                                               val_subset=a.val_images, test_subset=0, skeleton=skeleton))
    t0 = time.perf_counter()
    oneshot.supernet(space, emit=lambda kind, **p: say(f"  supernet epoch {p['epoch']}/{p['of']}: "
                                                        f"loss {p['train_loss']:.3f}, train acc {p['train_acc']:.1f} %"))
    t_super = time.perf_counter() - t0
    say(f"supernet: {a.supernet_epochs} epochs on {a.supernet_images} images in {t_super:.0f} s")

    archs = random.Random(a.seed).sample(space.unique(), a.archs)
    rows, t_inh, t_scr = [], 0.0, 0.0
    for i, arch in enumerate(archs):
        e1 = oneshot.evaluate(space, arch, seed=a.seed)
        e2 = scratch.evaluate(space, arch, seed=a.seed)
        t_inh, t_scr = t_inh + e1.cost, t_scr + e2.cost
        rows.append({"arch": str(arch), "inherited": e1.val_acc, "scratch": e2.val_acc})
        say(f"  {i + 1:2d}/{len(archs)} {arch}  inherited {e1.val_acc:5.1f} %  scratch {e2.val_acc:5.1f} %")
    stats = compare_rankings([r["inherited"] for r in rows], [r["scratch"] for r in rows], k=a.k)
    out = {"dataset": a.dataset, "device": str(device), "threads": torch.get_num_threads(), "skeleton": skeleton,
           "supernet": {"epochs": a.supernet_epochs, "images": a.supernet_images, "seconds": round(t_super, 1)},
           "scratch": {"epochs": a.scratch_epochs, "images": a.scratch_images},
           "seconds": {"inherited_total": round(t_inh, 1), "scratch_total": round(t_scr, 1)},
           "rankings": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in stats.items()}, "archs": rows}
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))
    if a.json:
        print(json.dumps(out))
        return
    r = out["rankings"]
    say(f"\n{r['n']} architectures: Kendall tau {r['kendall_tau']:.3f}, Spearman {r['spearman']:.3f}, "
        f"top-{r['k']} overlap {r['top_k_overlap']:.2f}, regret {r['regret']:.2f} points "
        f"(after re-training the one-shot top-{r['k']}: {r['regret_top_k']:.2f})")
    say(f"time: supernet {t_super:.0f} s, inherited scoring {t_inh:.1f} s in all, from scratch {t_scr:.0f} s in all")


if __name__ == "__main__":
    main()
