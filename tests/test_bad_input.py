"""Every bad input answered (issue 13): a corpus of hostile command lines and files.

Each case runs the real CLI (in-process, through ``main``) and asserts the house rule: exit status 2,
exactly one line on stderr that names the problem, no traceback, and nothing already stored changed
(files are checksummed before and after). The corpus covers every command, the options of every
strategy (generated from their config dataclasses, so a new option is covered automatically), every
kind of file the lab reads, and the examples of the issue. Hypothesis then fuzzes the parsers and the
option checker: any input may be refused, but only with a ValueError.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_lab.cli import main
from nasbench_lab.config import fields
from nasbench_lab.estimators import estimator_class, list_estimators
from nasbench_lab.strategies import list_strategies, strategy_class

W = "WORKSPACE"            # replaced by the workspace folder in every argument


def _idx(array: np.ndarray, dims=None) -> bytes:
    dims = array.shape if dims is None else dims
    return bytes([0, 0, 8, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims) + array.tobytes()


def _dataset(folder: Path, n_train=100, n_test=20, labels_max=9, train_labels=None, image_dims=None,
             gz=True) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    parts = {"train-images-idx3-ubyte": _idx(rng.integers(0, 255, (n_train, 28, 28), dtype=np.uint8), image_dims),
             "train-labels-idx1-ubyte": _idx(np.full(train_labels or n_train, labels_max, np.uint8)),
             "t10k-images-idx3-ubyte": _idx(rng.integers(0, 255, (n_test, 28, 28), dtype=np.uint8)),
             "t10k-labels-idx1-ubyte": _idx(np.zeros(n_test, np.uint8))}
    for name, raw in parts.items():
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as f:
                f.write(raw)
        else:
            (folder / name).write_bytes(raw)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace with a good store (one finished run) and every kind of bad file."""
    d = tmp_path_factory.mktemp("bad_input")
    assert main(["search", "--estimator", "synthetic", "--budget", "3", "--store", str(d / "good.sqlite"),
                 "--json"]) == 0
    con = sqlite3.connect(d / "good.sqlite")               # fold the WAL into the file: one file to checksum
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    good = (d / "good.sqlite").read_bytes()
    (d / "adir").mkdir()
    (d / "text.sqlite").write_text("not a database\n")
    (d / "random.sqlite").write_bytes(os.urandom(4096))
    (d / "truncated.sqlite").write_bytes(good[: len(good) // 3])
    damaged = bytearray(good)
    for i in range(100, min(len(damaged), 12_000), 5):
        damaged[i] = 0xA5
    (d / "damaged.sqlite").write_bytes(bytes(damaged))
    con = sqlite3.connect(d / "foreign.sqlite")
    con.execute("CREATE TABLE runs (id INTEGER, name TEXT)")
    con.execute("INSERT INTO runs VALUES (1, 'somebody else')")
    con.commit()
    con.close()
    (d / "readonly.sqlite").write_bytes(good)
    os.chmod(d / "readonly.sqlite", 0o444)
    # data folders
    _dataset(d / "data_tiny")
    _dataset(d / "data_labels", n_train=30_000, labels_max=12)
    _dataset(d / "data_mismatch", n_train=30_000, train_labels=29_000)
    _dataset(d / "data_rank", n_train=10, image_dims=(10, 28, 28, 600_000_000), gz=False)
    _dataset(d / "data_gzdamaged")
    p = d / "data_gzdamaged" / "train-images-idx3-ubyte.gz"
    raw = bytearray(p.read_bytes())
    raw[40:60] = os.urandom(20)
    p.write_bytes(bytes(raw))
    _dataset(d / "data_gztrunc")
    p = d / "data_gztrunc" / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:200])
    # table files
    (d / "junk.npz").write_bytes(b"1234567")
    np.savez(d / "nometa.npz", archs=np.array(["x"]))
    np.savez(d / "badmeta.npz", archs=np.array(["x"]), meta=np.frombuffer(b"\xff\xfe\x00{", dtype=np.uint8))
    (d / "genotype_deep.txt").write_text("Genotype(normal=" + "[" * 500 + "]" * 500 + ")")
    return d


def _run_id(ws: Path) -> str:
    con = sqlite3.connect(f"file:{ws / 'good.sqlite'}?mode=ro", uri=True)
    rid = con.execute("SELECT run_id FROM runs").fetchone()[0]
    con.close()
    return rid


STORE_FILES = ["adir", "text.sqlite", "random.sqlite", "truncated.sqlite", "damaged.sqlite", "foreign.sqlite"]
STORE_WORDS = {"adir": "directory", "text.sqlite": "not a nasbench_lab store", "random.sqlite": "not a nasbench_lab store",
               "truncated.sqlite": "damaged", "damaged.sqlite": "damaged", "foreign.sqlite": "another program"}


def _store_cases():
    for f in STORE_FILES:
        store = f"{W}/{f}"
        yield ["search", "--estimator", "synthetic", "--budget", "2", "--store", store], STORE_WORDS[f]
        yield ["runs", "--store", store], STORE_WORDS[f]
        yield ["show", "RUN", "--store", store], STORE_WORDS[f]
        yield ["resume", "RUN", "--store", store], STORE_WORDS[f]
    yield ["search", "--estimator", "synthetic", "--budget", "2", "--store", f"{W}/readonly.sqlite"], "read-only"
    yield ["resume", "RUN", "--store", f"{W}/readonly.sqlite"], "read-only"
    yield ["runs", "--store", f"{W}/missing.sqlite"], "no store at"
    yield ["show", "RUN", "--store", f"{W}/missing.sqlite"], "no store at"
    yield ["show", "nosuchrun", "--store", f"{W}/good.sqlite"], "no run 'nosuchrun'"
    yield ["search", "--estimator", "synthetic", "--budget", "2", "--store", f"{W}/text.sqlite/x.sqlite"], "not a directory"
    yield ["show", "RUN", "--store", f"{W}/good.sqlite", "--export", "/nonexistent/x.csv"], "does not exist"
    yield ["show", "RUN", "--store", f"{W}/good.sqlite", "--export", f"{W}/adir"], "is a directory"
    yield ["show", "RUN", "--store", f"{W}/good.sqlite", "--export", f"{W}/x.txt"], "unknown export format"
    yield ["resume", "RUN", "--store", f"{W}/good.sqlite", "--budget", "1"], "cannot continue"
    yield ["resume", "RUN", "--store", f"{W}/good.sqlite", "--budget", "-4"], "budget"


def _bad_value(kind: str):
    return {"bool": "no", "int": "1.5", "float": "abc", "str": "[1]", "tuple": "abc", "dict": "[1]"}.get(kind, "[1]")


def _option_cases():
    """One wrong-typed value for every option of every strategy and estimator (their ``config_class``)."""
    for name in list_strategies():
        cfg = strategy_class(name).config_class
        yield ["search", "--estimator", "synthetic", "--strategy", name, "--budget", "2",
               "--option", "no_such_option=1"], "unknown option"
        if cfg is None:
            continue
        space = {"proxyless": "mobile"}.get(name, "nb201")
        for spec in fields(cfg):
            yield (["search", "--estimator", "synthetic", "--space", space, "--strategy", name, "--budget", "2",
                    "--option", f"{spec.name}={_bad_value(spec.kind)}"], f"'{spec.name}'")
    for name in list_estimators():
        cls = estimator_class(name)
        if cls.config_key is not None:          # train, lowfi: the fidelity has flags of its own (--epochs ...)
            continue
        for spec in fields(cls.config_class):
            yield (["search", "--estimator", name, "--budget", "2", "--estimator-option",
                    f"{spec.name}={_bad_value(spec.kind)}"], f"'{spec.name}'")


NUMBER_CASES = [
    (["search", "--budget", "2", "--estimator", "synthetic", "--time-budget", "-5"], "time_budget"),
    (["search", "--budget", "2", "--estimator", "synthetic", "--time-budget", "nan"], "time_budget"),
    (["search", "--budget", "2", "--strategy", "hyperband", "--estimator", "supernet"], "cannot"),
    (["search", "--budget", "2", "--estimator", "zerocost", "--estimator-option", "proxy=bogus"], "'proxy'"),
    (["search", "--budget", "2", "--estimator", "train", "--estimator-option", "fidelity={}"], "own flag"),
    (["search", "--budget", "2", "--lr", "nan"], "'lr'"),
    (["search", "--budget", "2", "--lr", "inf"], "'lr'"),
    (["search", "--budget", "2", "--lr", "-1"], "'lr'"),
    (["search", "--budget", "2", "--val-subset", "0"], "'val_subset'"),
    (["search", "--budget", "2", "--val-subset", "-3"], "'val_subset'"),
    (["search", "--budget", "2", "--epochs", "0"], "'epochs'"),
    (["search", "--budget", "2", "--batch-size", "0"], "'batch_size'"),
    (["search", "--budget", "2", "--train-subset", "-5"], "'train_subset'"),
    (["search", "--budget", "2", "--test-subset", "-1"], "'test_subset'"),
    (["search", "--budget", "2", "--skeleton", '{"C": "a"}'], "'C'"),
    (["search", "--budget", "2", "--skeleton", '{"C": -1}'], "'C'"),
    (["search", "--budget", "2", "--skeleton", '{"N": 0}'], "'N'"),
    (["search", "--budget", "2", "--skeleton", '{"C": 100000000}'], "'C'"),
    (["search", "--budget", "2", "--skeleton", "[1]"], "JSON object"),
    (["search", "--budget", "2", "--skeleton", "{"], "not valid JSON"),
    (["search", "--budget", "2", "--skeleton", '{"bogus": 1}'], "bogus"),
    (["search", "--budget", "2", "--space", "darts", "--skeleton", '{"layers": 0}'], "'layers'"),
    (["search", "--budget", "2", "--space", "mobile", "--skeleton", '{"width_mult": -1}'], "'width_mult'"),
    (["search", "--budget", "2", "--seed", "9" * 40], "seed"),
    (["search", "--budget", "2", "--seed", "-1"], "seed"),
    (["search", "--budget", "0"], "budget"),
    (["search", "--budget", "-5"], "budget"),
    (["search", "--budget", "1000000000", "--estimator", "synthetic"], "budget"),
    (["search", "--budget", "x"], "invalid int"),
    (["search", "--budget", "2", "--epochs", "1e3"], "invalid int"),
    (["train", "--arch", "best_cifar10", "--seed", "-3"], "seed"),
    (["train", "--arch", "best_cifar10", "--lr", "nan"], "'lr'"),
    (["train", "--arch", "best_cifar10", "--epochs", "-2"], "'epochs'"),
]

HUGE_CASES = [
    (["train", "--arch", "|" + "x" * 100_000], "100,001 characters"),
    (["train", "--space", "darts", "--arch", "Genotype(normal=" + "[" * 500 + "]" * 500 + ")"], "nested"),
    (["train", "--space", "darts", "--arch", "Genotype(normal=range(1000000000000000000))"], "digits"),
    (["train", "--space", "darts", "--arch", "Genotype(normal=range(100000))"], "range()"),
    (["train", "--space", "darts", "--arch", "Genotype(normal=[('sep_conv_3x3', " + "7" * 5000 + ")])"], "digits"),
    (["train", "--space", "chain", "--arch", "conv3x3 " * 20_000], "characters"),
    (["train", "--space", "mobile", "--arch", "|".join(["mb3_e3"] * 5000)], "characters"),
    (["train", "--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "unknown nb201 op"),
    (["bench", "query", "|x~0|" * 3000], "characters"),
]

DATA_CASES = [
    ("data_tiny", "only 100 training images"),
    ("data_labels", "out of range"),
    ("data_mismatch", "labels"),
    ("data_rank", "4-dimensional"),
    ("data_gzdamaged", "damaged"),
    ("data_gztrunc", "damaged"),
]


def _data_cases():
    for folder, words in DATA_CASES:
        yield ["train", "--arch", "best_cifar10", "--epochs", "1", "--data-root", f"{W}/{folder}"], words
        yield ["search", "--budget", "1", "--data-root", f"{W}/{folder}"], words


TABLE_CASES = [
    (["bench", "info", "--table", f"{W}/junk.npz"], "not a benchmark table"),
    (["bench", "info", "--table", f"{W}/nometa.npz"], "no meta"),
    (["bench", "info", "--table", f"{W}/badmeta.npz"], "metadata is damaged"),
    (["bench", "info", "--table", f"{W}/adir"], "is a directory"),
    (["bench", "info", "--table", f"{W}/missing.npz"], "not found"),
    (["bench", "query", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", f"{W}/junk.npz"], "not a benchmark"),
    (["bench", "build", "--settings", "nope", "--out", f"{W}/b1"], "unknown benchmark setting"),
    (["bench", "build", "--settings", "tiny", "--start", "10", "--end", "5", "--out", f"{W}/b2"], "start < end"),
    (["bench", "build", "--settings", "tiny", "--workers", "0", "--out", f"{W}/b3"], "workers"),
    (["bench", "build", "--settings", "tiny", "--executor", "slurm", "--out", f"{W}/b4"], "invalid choice"),
    (["bench", "build", "--settings", "tiny", "--out", f"{W}/text.sqlite"], "not a directory"),
    (["bench", "merge", f"{W}/missing_folder", "--table", f"{W}/t.npz"], "no build records"),
    (["bench", "merge", f"{W}/adir", "--table", f"{W}/t.npz"], "no build records"),
    (["bench"], "subcommand"),
]

MISC_CASES = [
    (["search", "--space", "nope", "--budget", "1"], "unknown space"),
    (["search", "--strategy", "nope", "--budget", "1"], "unknown strategy"),
    (["search", "--estimator", "nope", "--budget", "1"], "unknown estimator"),
    (["search", "--dataset", "nope", "--budget", "1"], "unknown dataset"),
    (["search", "--device", "tpu", "--budget", "1", "--estimator", "synthetic"], "device"),
    (["search", "--objective", "flops<20e6", "--budget", "1", "--estimator", "synthetic"], "'<='"),
    (["search", "--objective", "speed<=3", "--budget", "1", "--estimator", "synthetic"], "unknown metric"),
    (["search", "--objective", "", "--budget", "1", "--estimator", "synthetic"], "empty objective"),
    (["search", "--option", "justakey", "--budget", "1", "--estimator", "synthetic"], "KEY=VALUE"),
    (["search", "--strategy", "proxyless", "--space", "nb201", "--budget", "1", "--estimator", "synthetic"], "mobile"),
    (["train", "--arch", "nope_reference"], "nb201"),
    (["course", "export", f"{W}/text.sqlite", "--edition", "student"], "text.sqlite"),
    (["course", "export", f"{W}/cx", "--edition", "pupil"], "invalid choice"),
    (["nope"], "invalid choice"),
    # issue 30: a port in another script's digits answered "invalid literal for int() with base 10: '²'"
    (["search", "--estimator", "synthetic", "--budget", "1", "--executor", "ray", "--ray-address", "host:²"],
     "ray address 'host:²': the port must be a number from 1 to 65535"),
    (["search", "--estimator", "synthetic", "--budget", "1", "--executor", "ray", "--ray-address", "ray://h:٣"],
     "port must be a number from 1 to 65535"),
    (["search", "--estimator", "synthetic", "--budget", "1", "--executor", "ray", "--ray-address", "h:99999"],
     "port must be a number from 1 to 65535"),
    (["search", "--estimator", "synthetic", "--budget", "1", "--executor", "ray", "--ray-address", "h:0"],
     "port must be a number from 1 to 65535"),
    (["bench", "build", "--settings", "tiny", "--executor", "ray", "--ray-address", "h:²", "--out", f"{W}/b5"],
     "port must be a number from 1 to 65535"),
]


def _all_cases():
    yield from _store_cases()
    yield from _option_cases()
    yield from NUMBER_CASES
    yield from HUGE_CASES
    yield from _data_cases()
    yield from TABLE_CASES
    yield from MISC_CASES


CASES = list(_all_cases())


def _sums(ws: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ws.iterdir()
            if p.is_file() and p.suffix in (".sqlite", ".npz", ".gz")}


def test_the_corpus_is_large():
    assert len(CASES) >= 150, len(CASES)


@pytest.mark.parametrize("argv,words", CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_bad_input_exits_2_with_one_line(ws, argv, words, capsys, monkeypatch):
    monkeypatch.setenv("NASBENCH_LAB_OFFLINE", "1")
    rid = _run_id(ws)
    args = [rid if a == "RUN" else a.replace(W, str(ws)) for a in argv]
    before = _sums(ws)
    capsys.readouterr()
    try:
        rc = main(args)
    except SystemExit as exc:               # argparse's own errors go through _Parser.error -> SystemExit(2)
        rc = exc.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err[-500:])
    assert len(lines) == 1, err
    assert "Traceback" not in err and len(lines[0]) < 400, err
    assert words.lower() in lines[0].lower(), lines[0]
    assert _sums(ws) == before                   # nothing already stored was changed


def test_a_rejected_option_leaves_no_run_behind(ws, capsys):
    store = ws / "fresh.sqlite"
    assert main(["search", "--estimator", "synthetic", "--strategy", "evolution", "--budget", "3",
                 "--option", "aging=no", "--store", str(store)]) == 2
    if store.exists():
        con = sqlite3.connect(store)
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
        con.close()


def test_read_only_store_can_still_be_read(ws, capsys):
    assert main(["runs", "--store", str(ws / "readonly.sqlite"), "--json"]) == 0
    assert _run_id(ws) in capsys.readouterr().out


# ---------------------------------------------------------------------- fuzzing
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("space", ["nb201", "darts", "chain", "mobile"])
@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.text(alphabet="|+~()[],'=_ 0123456789abcdefgnorstuvxyz", max_size=300)))
def test_fuzz_architecture_parsers_refuse_only_with_valueerror(space, text):
    from nasbench_lab.spaces import get_space
    sp = get_space(space)
    try:
        arch = sp.from_str(text)
    except ValueError as exc:
        assert len(str(exc)) < 400
    else:
        assert sp.from_str(sp.to_str(arch)) == arch


@FUZZ
@given(text=st.text(alphabet="flopsarmcyt_<=:;,.0123456789eMkGw-+ ", max_size=80))
def test_fuzz_objective_parser(text):
    from nasbench_lab.objectives import parse_objective
    try:
        parse_objective(text)
    except ValueError:
        pass


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=8)


@pytest.mark.parametrize("strategy", list_strategies())
@FUZZ
@given(values=st.dictionaries(st.text(max_size=12), JSON, max_size=3), pick=st.data())
def test_fuzz_strategy_options_are_checked_before_anything_runs(strategy, values, pick):
    """Any option values either build a config or raise ValueError (never TypeError & co.)."""
    from nasbench_lab.config import build
    cfg = strategy_class(strategy).config_class
    names = [f.name for f in fields(cfg)]
    opts = {pick.draw(st.sampled_from(names)) if names and k.startswith("a") else k: v for k, v in values.items()}
    try:
        build(cfg, opts, strategy)
    except ValueError as exc:
        assert len(str(exc)) < 400


@FUZZ
@given(pairs=st.lists(st.text(max_size=30), max_size=4))
def test_fuzz_cli_option_pairs(pairs):
    from nasbench_lab.cli import _parse_options
    try:
        _parse_options(pairs)
    except ValueError:
        pass


# ---------------------------------------------------------------------- the Python API
API_CASES = [
    (dict(budget="3"), "budget"), (dict(budget=2.5), "budget"), (dict(budget=True), "budget"),
    (dict(seed=-1), "seed"), (dict(seed=2 ** 70), "seed"), (dict(seed="0"), "seed"),
    (dict(space="nope"), "unknown space"), (dict(strategy="nope"), "unknown strategy"),
    (dict(estimator="nope"), "unknown estimator"), (dict(device="tpu"), "device"),
    (dict(strategy="evolution", strategy_options={"crossover": [1]}), "'crossover'"),
    (dict(strategy="evolution", strategy_options={"aging": "no"}), "'aging'"),
    (dict(strategy="reinforce", strategy_options={"baseline_decay": "x"}), "'baseline_decay'"),
    (dict(strategy="predictor", strategy_options={"ridge": None}), "'ridge'"),
    (dict(strategy="darts", strategy_options={"arch_betas": "abc"}), "'arch_betas'"),
    (dict(objective="flops<1"), "'<='"), (dict(objective=42), "objective"),
    (dict(estimator="train", estimator_options={"fidelity": {"lr": float("nan")}}), "'lr'"),
    (dict(estimator="train", estimator_options={"fidelity": {"epochs": "2"}}), "'epochs'"),
    (dict(estimator="train", estimator_options={"fidelity": {"bogus": 1}}), "bogus"),
    (dict(estimator="train", estimator_options={"fidelity": 3}), "fidelity"),
    (dict(store=42), "store"), (dict(store="STOREDIR"), "directory"),
    (dict(time_budget=0), "time_budget"), (dict(time_budget="60"), "time_budget"),
    (dict(time_budget=float("inf")), "time_budget"),
    (dict(strategy="successive_halving", strategy_options={"max_epochs": 9}), "more than the 4 epochs"),
    (dict(strategy="hyperband", strategy_options={"min_epochs": 0}), "min_epochs"),
    (dict(strategy="hyperband", estimator="train", estimator_options={"fidelity": {"epochs": 1}},
          strategy_options={"min_epochs": 2}), "min_epochs 2 is more than the 1 epochs"),
    (dict(strategy="successive_halving", executor="process"), "drop the executor"),
    (dict(strategy="tpe", strategy_options={"n_startup": 0}), "n_startup"),
]


@pytest.mark.parametrize("kwargs,words", API_CASES, ids=[str(k)[:60] for k, _ in API_CASES])
def test_the_api_answers_bad_input_with_valueerror(ws, kwargs, words):
    import nasbench_lab as nl
    kwargs = {k: (str(ws / "adir") if v == "STOREDIR" else v) for k, v in kwargs.items()}
    base = dict(space="nb201", strategy="random", estimator="synthetic", budget=2)
    with pytest.raises(ValueError) as info:
        nl.search(**{**base, **kwargs})
    assert words.lower() in str(info.value).lower() and len(str(info.value)) < 400
