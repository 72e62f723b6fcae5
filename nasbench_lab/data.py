"""Datasets as tensors, with a fixed train / validation / test split.

``load_dataset(name)`` returns a ``Splits`` of normalised float tensors. Small image datasets fit in
memory, so they live on the training device as whole tensors and batches are index slices (no
DataLoader, no worker processes: on a 2-core laptop and on a GPU this is the fastest way).

Where files are looked for, in order: an explicit ``root``, ``$NASBENCH_LAB_DATA``, ``./data``, the user
cache (``~/.cache/nasbench_lab``), Debian's ``/usr/share/datasets/<name>`` (package
``dataset-fashion-mnist``), then a download through torchvision when ``download=True`` and online
(``NASBENCH_LAB_OFFLINE=1`` turns downloads off, as the tests do).

The validation split is carved from the training set with a fixed permutation (independent of the
search seed), so every run of every strategy sees the same split, and search never sees the test set.
"""
from __future__ import annotations

import dataclasses
import gzip
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    in_channels: int
    image_size: int
    num_classes: int
    mean: tuple
    std: tuple
    val_size: int
    """Images held out of the official training set for validation."""
    description: str


DATASETS = {
    "fashion-mnist": DatasetInfo("fashion-mnist", 1, 28, 10, (0.2860,), (0.3530,), 10_000,
                                 "Zalando Fashion-MNIST: 60k train / 10k test, 28x28 grey, 10 classes"),
    "cifar10": DatasetInfo("cifar10", 3, 32, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                           25_000, "CIFAR-10: 50k train / 10k test, 32x32 RGB, 10 classes "
                                   "(validation = half the training set, as NB201's cifar10-valid)"),
    "synthetic": DatasetInfo("synthetic", 1, 16, 10, (0.0,), (1.0,), 500,
                             "procedural shapes: 2,000 train / 500 test, 16x16, 10 classes (tests, demos)"),
}

FMNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass
class Splits:
    """Normalised image tensors (N, C, H, W) and int64 labels for the three splits."""

    info: DatasetInfo
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str = ""
    """Where the files came from (a path, 'generated', ...)."""
    extra: dict = field(default_factory=dict)

    def to(self, device) -> "Splits":
        device = torch.device(device)
        t = {k: getattr(self, k).to(device) for k in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
        return Splits(self.info, **t, source=self.source, extra=dict(self.extra))

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def sizes(self) -> dict:
        return {"train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y)}


def list_datasets() -> list[str]:
    return list(DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None


def search_roots(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders looked in for ``name``'s files, in order."""
    roots = []
    if root is not None:
        roots.append(Path(root))
    if os.environ.get("NASBENCH_LAB_DATA"):
        roots.append(Path(os.environ["NASBENCH_LAB_DATA"]))
    roots.append(Path.cwd() / "data")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nasbench_lab"
    roots.append(cache)
    roots.append(Path("/usr/share/datasets") / name)
    return roots


# ---------------------------------------------------------------------- file readers (no pickle)
MAX_IDX_BYTES = 2 ** 31
"""No MNIST-family file is larger than 200 MB unpacked; a header claiming more is damaged."""


def _read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (the MNIST family's format), gzipped or not; ``ndim``: the rank it must have.

    Why the checks come before the allocation: a damaged header can claim a 600 GB array.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:      # damaged or truncated .gz, unreadable file
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                        f"the file is damaged, download or install it again") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of bytes (bad header); the file is damaged")
    rank = raw[3]
    if ndim is not None and rank != ndim:
        raise DataError(f"{path} holds a {rank}-dimensional array; expected {ndim} dimensions")
    if len(raw) < 4 + 4 * rank:
        raise DataError(f"{path} is truncated inside its header")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    expected = int(np.prod(dims, dtype=np.float64))
    found = len(raw) - 4 - 4 * rank
    if expected != found:
        raise DataError(f"{path} is damaged or truncated: its header says {expected:,} values, the file has {found:,}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str, num_classes: int = 10) -> None:
    """Images and labels that belong together: same count, labels in range, a usable image size."""
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images):,} images but {len(labels):,} labels")
    if labels.size and int(labels.max()) >= num_classes:
        raise DataError(f"{where}: label {int(labels.max())} is out of range (classes are 0..{num_classes - 1})")
    if images.ndim != 3 or not 4 <= images.shape[1] <= 512 or images.shape[1] != images.shape[2]:
        raise DataError(f"{where}: images of shape {images.shape[1:]} (expected square images, 4 to 512 pixels)")


def _find_idx(folder: Path, stem: str) -> Path | None:
    for sub in ("", "FashionMNIST/raw", "fashion-mnist", "raw"):
        for suffix in (".gz", ""):
            p = folder / sub / (stem + suffix)
            if p.is_file():
                return p
    return None


def _load_fashion_mnist(roots: list[Path], download: bool):
    for folder in roots:
        found = {split: tuple(_find_idx(folder, s) for s in stems) for split, stems in FMNIST_FILES.items()}
        if all(p is not None for pair in found.values() for p in pair):
            out = {split: (_read_idx(x, 3), _read_idx(y, 1)) for split, (x, y) in found.items()}
            for split, (x, y) in out.items():
                _check_pair(x, y, f"fashion-mnist {split} files in {found[split][0].parent}")
            return out, str(found["train"][0].parent)
    if download:
        target = roots[0] if roots else Path.cwd() / "data"
        try:
            from torchvision.datasets import FashionMNIST      # ~2 s: torchvision only downloads
            FashionMNIST(str(target), train=True, download=True)
            FashionMNIST(str(target), train=False, download=True)
        except Exception as exc:  # offline, or torchvision missing
            raise DataError(f"fashion-mnist not found and the download failed ({type(exc).__name__}: {exc}); "
                            + _where_hint("fashion-mnist", roots)) from None
        return _load_fashion_mnist([target], download=False)
    raise DataError("fashion-mnist not found; " + _where_hint("fashion-mnist", roots))


def _load_cifar10(roots: list[Path], download: bool):
    """CIFAR-10 from the *binary* distribution (cifar-10-batches-bin): plain bytes, no pickle."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for folder in roots:
        d = folder / "cifar-10-batches-bin"
        if all((d / n).is_file() for n in names):
            def read(n):
                rec = np.fromfile(d / n, dtype=np.uint8).reshape(-1, 3073)
                return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0]
            parts = [read(n) for n in names[:5]]
            train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            return {"train": train, "test": read(names[5])}, str(d)
    if download:
        target = roots[0] if roots else Path.cwd() / "data"
        try:
            from torchvision.datasets.utils import download_and_extract_archive   # ~2 s: only to download
            download_and_extract_archive("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", str(target))
        except Exception as exc:
            raise DataError(f"cifar10 not found and the download failed ({type(exc).__name__}: {exc}); "
                            + _where_hint("cifar10", roots)) from None
        return _load_cifar10([target], download=False)
    raise DataError("cifar10 not found; " + _where_hint("cifar10", roots))


def _where_hint(name: str, roots: list[Path]) -> str:
    how = {"fashion-mnist": "apt-get install dataset-fashion-mnist, or put the four *-ubyte.gz files in one of "
                            "these folders, or run once online (it downloads unless --no-download)",
           "cifar10": "put cifar-10-batches-bin (the binary version) in one of these folders, or "
                      "run once online (it downloads unless --no-download)"}[name]
    return f"looked in: {', '.join(str(r) for r in roots)}; to get it: {how}"


def _synthetic(n_train: int = 2000, n_test: int = 500, size: int = 16, seed: int = 1234):
    """Ten procedural classes: oriented bars, rings, blobs, checkers, each with random placement and noise.

    Why procedural: tests and CI need a dataset that exists everywhere, takes milliseconds, and on which
    a good architecture still beats a bad one (convolutions beat pooling-only cells here).
    """
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")

    def one(c, cx, cy, ph):
        r = torch.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        if c < 4:                        # bars at 0, 45, 90, 135 degrees
            ang = c * math.pi / 4
            d = (xx - cx) * math.cos(ang) + (yy - cy) * math.sin(ang)
            return (torch.cos(d * 1.6 + ph) > 0.3).float()
        if c == 4:
            return ((r > 3) & (r < 5)).float()                       # ring
        if c == 5:
            return torch.exp(-r ** 2 / 6)                             # blob
        if c == 6:
            return (((xx + ph).div(3).floor() + yy.div(3).floor()) % 2).float()  # checker
        if c == 7:
            return ((xx - cx).abs() < 2).float() + ((yy - cy).abs() < 2).float()  # cross
        if c == 8:
            return ((xx - cx).abs() + (yy - cy).abs() < 4).float()   # diamond
        return ((xx > cx) & (yy > cy)).float()                        # corner

    def make(n):
        y = torch.randint(0, 10, (n,), generator=g)
        cxy = torch.rand(n, 2, generator=g) * (size / 2) + size / 4
        ph = torch.rand(n, generator=g) * 6.28
        x = torch.stack([one(int(c), float(a), float(b), float(p)) for c, (a, b), p in zip(y, cxy, ph)])
        x = x + 0.5 * torch.randn(x.shape, generator=g)
        return x.unsqueeze(1), y

    return make(n_train), make(n_test)


# ---------------------------------------------------------------------- public API
def load_dataset(name: str = "fashion-mnist", root=None, device="cpu", download: bool = False,
                 val_size: int | None = None, split_seed: int = 0, image_size: int | None = None) -> Splits:
    """Load ``name`` as normalised tensors on ``device`` with a fixed validation split.

    ``split_seed`` fixes which training images form the validation split; keep the default so that
    all runs share one split. ``image_size`` area-downsamples every image to that size (the laptop
    benchmark trains on 16x16 Fashion-MNIST: 3x fewer pixels, still 70-86 % accuracy).
    """
    info = dataset_info(name)
    if os.environ.get("NASBENCH_LAB_OFFLINE"):
        download = False                  # tests and air-gapped machines: never touch the network
    explicit = val_size is not None
    val_size = info.val_size if val_size is None else int(val_size)
    if name == "synthetic":
        (trx, tr_y), (tex, te_y) = _synthetic()
        source = "generated"
    else:
        roots = search_roots(name, root)
        loader = _load_fashion_mnist if name == "fashion-mnist" else _load_cifar10
        arrays, source = loader(roots, download)
        trx, tr_y = (torch.from_numpy(np.array(a)) for a in arrays["train"])
        tex, te_y = (torch.from_numpy(np.array(a)) for a in arrays["test"])
        if trx.dim() == 3:
            trx, tex = trx.unsqueeze(1), tex.unsqueeze(1)
        trx, tex = trx.float().div_(255), tex.float().div_(255)
    if not explicit and len(tr_y) < 2 * val_size:
        # Why a message about the files: the user never chose val_size; what is wrong is the data.
        raise DataError(f"{name} at {source} has only {len(tr_y):,} training images; the lab holds out {val_size:,} "
                        f"for validation and needs at least {2 * val_size:,} (is the file set complete?)")
    if not 0 < val_size < len(tr_y):
        raise DataError(f"val_size must be between 1 and {len(tr_y) - 1} for {name}, got {val_size}")
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    trx, tex = (trx - mean) / std, (tex - mean) / std
    perm = torch.randperm(len(tr_y), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if image_size is not None and image_size != info.image_size:
        if isinstance(image_size, bool) or not isinstance(image_size, int) or not 4 <= image_size <= 512:
            raise DataError(f"image size must be an integer between 4 and 512, got {image_size!r}")
        # Why area (adaptive average) pooling to shrink: each output pixel is the mean of the input
        # pixels it covers, also for 28 -> 16 where the windows overlap (no aliasing, unlike strided
        # subsampling). Enlarging (28 -> 32 to match CIFAR skeletons) interpolates bilinearly.
        if image_size < info.image_size:
            trx, tex = (torch.nn.functional.adaptive_avg_pool2d(t, image_size) for t in (trx, tex))
        else:
            trx, tex = (torch.nn.functional.interpolate(t, size=(image_size, image_size), mode="bilinear",
                                                        align_corners=False) for t in (trx, tex))
        info = dataclasses.replace(info, image_size=image_size)
    splits = Splits(info, trx[train_idx].contiguous(), tr_y[train_idx].long(), trx[val_idx].contiguous(),
                    tr_y[val_idx].long(), tex.contiguous(), te_y.long(), source=source)
    return splits.to(device)


def find_datasets(root=None) -> dict[str, str | None]:
    """Which datasets can be loaded without a download, and from where (for ``nasbench-lab info``)."""
    out = {}
    for name in DATASETS:
        if name == "synthetic":
            out[name] = "generated"
            continue
        roots = search_roots(name, root)
        hit = None
        for folder in roots:
            if name == "fashion-mnist" and _find_idx(folder, FMNIST_FILES["train"][0]) is not None:
                hit = str(folder)
            if name == "cifar10" and (folder / "cifar-10-batches-bin" / "test_batch.bin").is_file():
                hit = str(folder)
            if hit:
                break
        out[name] = hit
    return out
