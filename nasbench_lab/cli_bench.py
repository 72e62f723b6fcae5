"""The ``bench`` and ``course`` commands of ``nasbench-lab`` (their options are in cli.py's parser).

``bench``: info / query / build / merge of the tabular benchmark (``nasbench_lab.bench``); ``course``:
export the notebooks as a student or teacher edition (``nasbench_lab.course``). Errors are ValueErrors
that cli.main turns into one line on stderr and exit status 2.
"""
from __future__ import annotations


def bench_info_text(info: dict) -> str:
    """What `bench info` prints: per setting its protocol, coverage, best cell, spread, noise floor;
    then how the settings agree (proxy vs target, the CPU table vs the GPU records)."""
    lines = [f"{info['path']}: {info['architectures']} canonical NB201 cells; default setting {info['default_setting']}"]
    for name, d in info["settings"].items():
        p = d["protocol"]
        size = f"{p['image_size']}x{p['image_size']}" if p.get("image_size") else "native size"
        lines.append(f"[{name}] {p['dataset']} {size}, C={p['C']} N={p['N']}, {p['epochs']} epoch(s) x "
                     f"{p['train_subset']} images, batch {p['batch_size']}, lr {p['lr']} cosine, val {p['val_subset']}, "
                     f"test {p['test_subset'] or 'all'}, seeds {p['seeds']}")
        partial = min(d["covered_per_seed"]) < info["architectures"]
        lines.append(f"  cells trained per seed: {', '.join(map(str, d['covered_per_seed']))} of {info['architectures']}"
                     + (" (partial: a build in progress, or only part of the space trained)" if partial else ""))
        if "best" in d:
            t, v = d["test_acc"], d["val_acc"]
            lines.append(f"  best (by val): {d['best']['canonical']}  val {d['best']['val_acc']:.2f} %, "
                         f"test {d['best']['test_acc']:.2f} %")
            lines.append(f"  test acc: min {t['min']:.2f}, p25 {t['p25']:.2f}, median {t['median']:.2f}, "
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
             f"{info['failed_trainings']} trainings ended at chance (10 %)",
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
        lines.append(f"  latency: batch-1 CPU latency of {c['latency_cells']:,} cells, measured the same way "
                     f"({c['command']})")
    return "\n".join(lines)


def _check_dataset(name: str) -> str:
    from .bench.estimator import DATASETS
    from .spaces.base import shown
    if name not in DATASETS:
        raise ValueError(f"no benchmark table for dataset {shown(name, 40)}; choose one of: {', '.join(DATASETS)}")
    return name


def cmd_bench(args) -> int:
    from .bench import BenchTable, builder, merge
    from .cli_terminal import to_json
    cmd = args.bench_command
    if cmd is None:
        raise ValueError("bench needs a subcommand: info, query, build or merge")
    if cmd in ("info", "query") and _check_dataset(args.dataset) == "cifar10":
        return _cifar10(args, cmd)
    if cmd == "info":
        info = BenchTable(args.table).info()
        if args.json:
            print(to_json(info))
            return 0
        print(bench_info_text(info))
        return 0
    if cmd == "query":
        from .spaces import get_space
        get_space("nb201").from_str(args.arch)           # a bad string is named before the table is opened
        r = BenchTable(args.table).query(args.arch, args.setting, seed=args.seed, epoch=args.epoch)
        print(to_json(r) if args.json else "\n".join(f"{k}: {v}" for k, v in r.items()))
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


def _cifar10(args, cmd: str) -> int:
    from .bench import BenchTable
    from .bench.cifar10 import Cifar10Table
    from .cli_terminal import to_json
    for flag in ("table", "setting", "seed", "epoch"):
        if getattr(args, flag, None) is not None:
            raise ValueError(f"--{flag} does not apply to --dataset cifar10 (one training per string, no curves)")
    if cmd == "query":
        from .spaces import get_space
        get_space("nb201").from_str(args.arch)           # a bad string is named before the table is opened
        r = Cifar10Table().query(args.arch)
        if args.json:
            print(to_json(r))
            return 0
        truth = r.pop("truth")
        lines = [f"{k}: {v}" for k, v in r.items()]
        lines.append(f"truth (mean of the cell's {r['trainings']} training(s)): " +
                     ", ".join(f"{k} {v}" for k, v in truth.items()))
        print("\n".join(lines))
        return 0
    try:
        laptop = BenchTable()
    except ValueError:
        laptop = None
    info = Cifar10Table().info(laptop=laptop)
    print(to_json(info) if args.json else cifar10_info_text(info))
    return 0


def cmd_course(args) -> int:
    from . import course
    if args.course_command != "export":
        raise ValueError("course needs a subcommand: export")
    for path in course.export(args.dir, args.edition, source=args.source):
        print(path)
    return 0
