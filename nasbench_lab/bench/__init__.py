"""The lab's own tabular benchmark: every canonical NB201 cell trained on Fashion-MNIST.

``BenchTable()`` opens the shipped table; ``builder.build`` / ``table.merge`` make a new one.
"""
from .protocol import PROTOCOLS, Protocol, get_protocol
from .table import BenchTable, TableError, default_path, merge

__all__ = ["BenchTable", "PROTOCOLS", "Protocol", "TableError", "default_path", "get_protocol", "merge"]
