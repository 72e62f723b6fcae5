"""Datasets: files found in the documented places, fixed splits, clear errors."""
import pytest
import torch

from nasbench_lab.data import DataError, find_datasets, load_dataset, search_roots


def test_synthetic_is_fixed_and_balanced():
    a, b = load_dataset("synthetic"), load_dataset("synthetic")
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert a.sizes() == {"train": 1500, "val": 500, "test": 500}
    assert a.train_x.shape[1:] == (1, 16, 16)
    assert len(torch.unique(a.train_y)) == 10


def test_fashion_mnist_split(fmnist_available):
    if not fmnist_available:
        pytest.skip("Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
    d = load_dataset("fashion-mnist")
    assert d.sizes() == {"train": 50_000, "val": 10_000, "test": 10_000}
    assert d.train_x.shape[1:] == (1, 28, 28)
    assert abs(float(d.train_x.mean())) < 0.05 and abs(float(d.train_x.std()) - 1) < 0.05   # normalised
    d2 = load_dataset("fashion-mnist")
    assert torch.equal(d.val_y, d2.val_y)          # the validation split does not move between runs


def test_missing_dataset_error_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_LAB_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path / "explicit", download=False)
    msg = str(err.value)
    assert "cifar10 not found" in msg and str(tmp_path / "explicit") in msg and str(tmp_path / "env") in msg
    assert "cifar-10-batches-bin" in msg
    roots = search_roots("cifar10", tmp_path / "explicit")
    assert roots[0] == tmp_path / "explicit" and roots[-1].as_posix() == "/usr/share/datasets/cifar10"


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset 'mnist2'"):
        load_dataset("mnist2")
    assert find_datasets()["synthetic"] == "generated"


def test_cifar10_binary_reader(tmp_path):
    """A fake CIFAR-10 binary distribution in the documented layout is read without pickle."""
    import numpy as np
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = rng.integers(0, 256, size=(20, 3073), dtype=np.uint8)
        rec[:, 0] = rng.integers(0, 10, 20)
        rec.tofile(d / name)
    s = load_dataset("cifar10", root=tmp_path, val_size=30, download=False)
    assert s.sizes() == {"train": 70, "val": 30, "test": 20}
    assert s.train_x.shape[1:] == (3, 32, 32)
