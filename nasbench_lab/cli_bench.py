"""The ``bench`` and ``course`` commands of ``nasbench-lab`` (their options are in cli.py's parser).

``bench``: info / query / build / merge of the tabular benchmark (``nasbench_lab.bench``); ``course``:
export the notebooks as a student or teacher edition (``nasbench_lab.course``). Errors are ValueErrors
that cli.main turns into one line on stderr and exit status 2.
"""
from __future__ import annotations

from . import course
from .bench import BenchTable, builder, merge
from .bench.analognas import METRICS as CIFAR10_METRICS
from .bench.cifar10 import Cifar10Table
from .cli_terminal import seeds_text, to_json
from .estimators.table import DATASETS
from .spaces import get_space
from .spaces.base import shown


def recorded_seeds(d: dict) -> list:
    """The seeds of a setting that have at least one record (a protocol may name seeds not built yet)."""
    return [k for k, n in zip(d["protocol"]["seeds"], d["covered_per_seed"]) if n]


def bench_info_text(info: dict) -> str:
    """What `bench info` prints: per setting its protocol, coverage, best cell, spread, noise floor;
    then how the settings agree (proxy vs target, the CPU table vs the GPU records). Every accuracy
    says whether it is one training or a mean over seeds, and which seeds have records."""
    lines = [f"{info['path']}: {info['architectures']} canonical NB201 cells; default setting {info['default_setting']}"]
    for name, d in info["settings"].items():
        p = d["protocol"]
        size = f"{p['image_size']}x{p['image_size']}" if p.get("image_size") else "native size"
        seeds = recorded_seeds(d)
        unbuilt = [k for k in p["seeds"] if k not in seeds]
        trained = seeds_text(seeds) if seeds else "no seed trained yet"
        lines.append(f"[{name}] {p['dataset']} {size}, C={p['C']} N={p['N']}, {p['epochs']} epoch(s) x "
                     f"{p['train_subset']} images, batch {p['batch_size']}, lr {p['lr']} cosine, val {p['val_subset']}, "
                     f"test {p['test_subset'] or 'all'}; trained with {trained}"
                     + (f" (the protocol also names {seeds_text(unbuilt)}: no cell has it yet)" if unbuilt else ""))
        counts = [n for n in d["covered_per_seed"] if n]
        partial = min(counts, default=0) < info["architectures"]
        lines.append(f"  cells trained per seed: "
                     f"{', '.join(f'{n} ({seeds_text([k])})' for k, n in zip(p['seeds'], d['covered_per_seed']) if n)}"
                     f" of {info['architectures']}"
                     + (" (partial: a build in progress, or only part of the space trained)" if partial else ""))
        if "best" in d:
            t, v = d["test_acc"], d["val_acc"]
            what = ("one training, " if len(seeds) == 1 else "mean of ") + seeds_text(seeds)
            lines.append(f"  best (by val, {what}): {d['best']['canonical']}  val {d['best']['val_acc']:.2f} %, "
                         f"test {d['best']['test_acc']:.2f} %")
            per = "one training per cell" if len(seeds) == 1 else f"each cell's mean of {seeds_text(seeds)}"
            lines.append(f"  test acc ({per}): min {t['min']:.2f}, p25 {t['p25']:.2f}, median {t['median']:.2f}, "
                         f"p75 {t['p75']:.2f}, max {t['max']:.2f} %;  val median {v['median']:.2f} %")
            ts = d["train_seconds"]
            lines.append(f"  training: median {ts['median']:.2f} s per cell, {ts['total'] / 3600:.2f} h of worker time "
                         f"in all (the simulated cost strategies race on)")
            if d.get("tau_seed0_vs_seed1") is not None:
                lines.append(f"  Kendall tau seed 0 vs seed 1 (noise floor): test {d['tau_seed0_vs_seed1']:.3f}, "
                             f"val {d['tau_seed0_vs_seed1_val']:.3f} (on the {min(d['covered_per_seed'][:2])} cells "
                             f"both seeds cover)")
    for a in info.get("agreement", []):
        what = "proxy vs target" if a["kind"] == "proxy" else "setting vs setting"
        tau = "n/a" if a["kendall_tau"] is None else f"{a['kendall_tau']:.3f}"
        lines.append(f"Kendall tau {a['a']} vs {a['b']} ({what}, {a['cells']} cells): {tau}")
    return "\n".join(lines)


def bench_query_text(r: dict, seeds: list) -> str:
    """What `bench query` prints: the record with accuracies to 2 decimals, saying which seeds' trainings
    it is (one seed's, or the mean of the seeds that trained this cell)."""
    if r["seed"] is not None:
        what = f"{r['seed']} " + ("(one training)" if r["val_acc"] is not None else "(no training of this cell yet)")
    elif not seeds:
        what = "no seed has trained this cell"
    else:
        what = ("one training, " if len(seeds) == 1 else "mean of ") + seeds_text(seeds)
    lines = []
    for k, v in r.items():
        if k == "seed":
            v = what
        elif v is None:
            v = "n/a"
        elif k.endswith("_acc"):
            v = f"{v:.2f} %"
        elif k == "val_curve":
            v = ", ".join("n/a" if x is None else f"{x:.2f}" for x in v) + " % (after each epoch)"
        elif k == "cost":
            v = f"{v:.2f} s (simulated: the measured training time)"
        elif isinstance(v, float):
            v = f"{v:.4g}"
        lines.append(f"{k}: {v}")
    return "\n".join(lines)


def cifar10_info_text(info: dict) -> str:
    """What `bench info --dataset cifar10` prints: source, protocol, coverage, best cell, spread, the
    noise floor, transfer from the laptop table, the hardware metrics, and where the costs come from."""
    src, nf, t = info["source"], info["noise_floor"], info["test_acc"]
    b = info["best"]
    lines = [f"CIFAR-10 table: AnalogNAS-Bench ({src['package']} {src['version']}; {src['paper']})",
             f"  protocol: {info['protocol']}",
             f"  read safely from the installed package, converted once to {src['cache']}",
             f"  coverage: {info['covered']:,} of {info['strings']:,} strings = {info['cells']:,} cells; "
             f"{info['cells_with_2_or_more']:,} cells were trained two or more times (isomorphic strings); "
             f"{info['at_chance']} strings test at chance (10 %), {info['at_chance_disconnected']} of them with "
             f"no path from the cell's input to its output",
             f"  best cell (mean of its {b['trainings']} training(s)): {b['canonical']}  "
             f"{b['truth']['test_acc']:.2f} %",
             f"  cell test acc (mean of its trainings): min {t['min']:.2f}, p25 {t['p25']:.2f}, "
             f"median {t['median']:.2f}, p75 {t['p75']:.2f}, max {t['max']:.2f} %",
             f"  noise floor: Kendall tau between two trainings of a cell {nf['kendall_tau']:.3f} "
             f"({nf['cells']:,} cells)"]
    if info.get("transfer"):
        tr = info["transfer"]
        lines.append(f"  transfer: Kendall tau vs the laptop table ({tr['setting']} Fashion-MNIST test acc, "
                     f"{tr['cells']:,} cells) {tr['kendall_tau']:.3f}")
    lines.append("  hardware accuracy (cell means) against digital test accuracy:")
    for name, h in info["hardware"].items():
        lines.append(f"    {name:<11} median {h['median']:6.2f} %  tau {h['kendall_tau_vs_test_acc']:+.3f}  "
                     f"{h['what']}")
    c = info.get("costs")
    if c is None:
        lines.append("  costs: no measured cost file shipped; races charge 0 s (run benchmarks/cifar10_costs.py)")
    else:
        m = c["step_model"]
        coef = ", ".join(f"{k} {v * 1000:+.1f} ms" for k, v in m["coef"].items())
        lines.append(f"  simulated cost: not in the data; {c['steps_charged']:,} training steps per query (200 epochs "
                     f"x 196 steps of 256 images), each predicted by a model fitted to {m['cells']} timed cells "
                     f"({c['machine']}): intercept {m['intercept'] * 1000:.1f} ms, per running edge {coef}; "
                     f"R^2 {m['r2']:.3f} (leave-one-out {m['r2_loo']:.3f}); median cell "
                     f"{c['median_cost_h']:.1f} h of that CPU")
        lines.append(f"  latency of {c['latency_cells']:,} cells, measured the same way ({c['command']}): "
                     f"{c.get('latency') or 'batch-1 CPU latency'}")
    return "\n".join(lines)


def _check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"no benchmark table for dataset {shown(name, 40)}; choose one of: {', '.join(DATASETS)}")
    return name


def cmd_bench(args) -> int:
    cmd = args.bench_command
    if cmd is None:
        raise ValueError("bench needs a subcommand: info, query, build or merge")
    if cmd in ("info", "query") and _check_dataset(args.dataset) == "cifar10":
        return _cifar10(args, cmd)
    if cmd == "info":
        info = BenchTable(args.table).info()
        for d in info["settings"].values():
            d["seeds_with_records"] = recorded_seeds(d)
        if args.json:
            print(to_json(info))
            return 0
        print(bench_info_text(info))
        return 0
    if cmd == "query":
        get_space("nb201").from_str(args.arch)           # a bad string is named before the table is opened
        table = BenchTable(args.table)
        r = table.query(args.arch, args.setting, seed=args.seed, epoch=args.epoch)
        # Which seeds the record is: the one asked for, else the mean of those that trained this cell.
        seeds = [args.seed] if args.seed is not None else [
            k for k in table.protocol(r["setting"]).seeds
            if table.query(args.arch, r["setting"], seed=k, epoch=args.epoch)["val_acc"] is not None]
        print(to_json({**r, "seeds": seeds}) if args.json else bench_query_text(r, seeds))
        return 0
    if cmd == "build":
        settings = tuple(x for x in args.settings.split(",") if x)
        summary = builder.build(args.out, settings=settings, start=args.start, end=args.end, device=args.device,
                                workers=args.workers, threads=args.threads, time_limit=args.time_limit,
                                data_root=args.data_root, limit=args.limit, executor=args.executor,
                                ray_address=args.ray_address)
        if args.latency:
            summary["costs_measured"] = {s: builder.measure_costs(args.out, s, args.device) for s in settings}
        if args.merge:
            summary["table"] = str(merge(args.out, args.merge))
        print(to_json(summary))
        return 0
    if cmd == "merge":
        print(to_json({"table": str(merge(args.out, args.table, default=args.default))}))
        return 0
    raise ValueError(f"unknown bench command {cmd!r}")


def cifar10_query_text(r: dict) -> str:
    """What `bench query --dataset cifar10` prints: the string's own training (accuracies in %, a drift
    measurement with its ± uncertainty), its cell's truth beside each, then size and costs with units."""
    truth, std = r["truth"], r["drift_std"]
    n = r["trainings"]
    lines = [f"arch: {r['arch']}", f"canonical: {r['canonical']}",
             f"accuracy on the CIFAR-10 test set, this string's training | its cell's truth (mean of {n} "
             f"training{'s' if n != 1 else ''}):"]
    for m, (_, what) in CIFAR10_METRICS.items():
        own = "n/a" if r[m] is None else f"{r[m]:.2f}" + (f" ± {std[m]:.2f}" if std.get(m) is not None else "")
        cell = "n/a" if truth[m] is None else f"{truth[m]:.2f}"
        lines.append(f"  {m:<12} {own:>14} % | {cell:>6} %   {what}")
    lines.append(f"params: {r['params']:,}; MACs: {r['macs'] / 1e6:.1f} M (C=16, N=5, 3x32x32)")
    lines.append("latency: n/a (no measured costs shipped)" if r["latency_ms"] is None else
                 f"latency: {r['latency_ms']:.2f} ms (batch 1, CPU, measured)")
    if r["cost"] is not None:
        lines.append(f"simulated cost: {r['cost'] / 3600:.1f} h ({r['step_s']:.2f} s a training step, predicted by "
                     f"the measured cost model, x {r['cost'] / r['step_s']:,.0f} steps: 200 epochs at batch 256)")
    return "\n".join(lines)


def _cifar10(args, cmd: str) -> int:
    for flag in ("table", "setting", "seed", "epoch"):
        if getattr(args, flag, None) is not None:
            raise ValueError(f"--{flag} does not apply to --dataset cifar10: it answers one training of each "
                             f"string, read from AnalogNAS-Bench (no laptop-table file, setting, seed or "
                             f"learning curve to choose)")
    if cmd == "query":
        get_space("nb201").from_str(args.arch)           # a bad string is named before the table is opened
        r = Cifar10Table().query(args.arch)
        if args.json:
            print(to_json(r))
            return 0
        print(cifar10_query_text(r))
        return 0
    try:
        laptop = BenchTable()
    except ValueError:
        laptop = None
    info = Cifar10Table().info(laptop=laptop)
    print(to_json(info) if args.json else cifar10_info_text(info))
    return 0


def cmd_course(args) -> int:
    if args.course_command != "export":
        raise ValueError("course needs a subcommand: export")
    for path in course.export(args.dir, args.edition, source=args.source):
        print(path)
    return 0
