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


def cmd_bench(args) -> int:
    from .bench import BenchTable, builder, merge
    from .cli_terminal import to_json
    cmd = args.bench_command
    if cmd is None:
        raise ValueError("bench needs a subcommand: info, query, build or merge")
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


def cmd_course(args) -> int:
    from . import course
    if args.course_command != "export":
        raise ValueError("course needs a subcommand: export")
    for path in course.export(args.dir, args.edition, source=args.source):
        print(path)
    return 0
