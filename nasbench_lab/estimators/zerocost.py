"""Estimator ``zerocost``: the score of a zero-cost proxy of the untrained network, from one minibatch.

The proxies and their scoring API are ``nasbench_lab.zerocost`` (the literature and the conventions are
told there); this estimator puts one of them behind the estimator contract so that any strategy can
search on it. ``val_acc`` is the proxy's score (higher = predicted better, not an accuracy), the raw
(published) value is in ``metrics['raw']``, ``test_acc`` is None and ``cost`` the seconds spent.

Options (``ZeroCostOptions``): ``proxy``, ``batch_size``, ``image_size``, ``skeleton``; and, as for
``train``, ``dataset``, ``device``, ``data`` (a loaded Splits, used as is), ``data_root``, ``download``.
"""
from __future__ import annotations

import time

from ..data import DataError, Splits, dataset_info
from ..errors import EstimatorError
from ..train import resolve_device
from ..zerocost import ZeroCostOptions, load_data, score_all
from .base import Estimator, Evaluation


class ZeroCostEstimator(Estimator):
    """``val_acc`` = the proxy's score (not an accuracy), ``test_acc`` None, ``cost`` = seconds spent."""

    name = "zerocost"
    config_class = ZeroCostOptions

    def __init__(self, dataset: str = "fashion-mnist", device="auto", data: Splits | None = None, data_root=None,
                 download: bool = True, **options):
        self.options = self.configure(options)
        if data is None:
            try:
                dataset_info(dataset)
            except DataError as exc:
                raise EstimatorError(str(exc)) from None
        self.dataset, self.device = dataset, resolve_device(device)
        self.data_root, self.download, self._data = data_root, download, data
        self.deterministic = self.device.type == "cpu"

    @property
    def data(self) -> Splits:
        if self._data is None:                     # loaded on first use: constructing an estimator is free
            self._data = load_data(self.dataset, self.options.image_size, self.device, self.data_root, self.download)
        return self._data

    def evaluate(self, space, arch, seed=0, emit=None, stop=None) -> Evaluation:
        data = self.data                             # a first call loads it: not part of the cost
        o, t0 = self.options, time.perf_counter()
        r = score_all(space, arch, [o.proxy], data=data, seed=seed, batch_size=o.batch_size,
                      image_size=o.image_size, skeleton=o.skeleton, device=self.device)
        return Evaluation(arch, r.scores[o.proxy], None, time.perf_counter() - t0,
                          {"proxy": o.proxy, "score": r.scores[o.proxy], "raw": r.raw[o.proxy], "params": r.params,
                           "flops": r.flops, "batch_size": o.batch_size, "zero_cost": True})

    def describe(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "device": str(self.device),
                "proxy": self.options.proxy, "batch_size": self.options.batch_size,
                "image_size": self.options.image_size, "skeleton": self.options.skeleton}
