"""The lab's version, in a module of its own so that anything may read it without importing the package
root (which loads search, strategies and estimators)."""
__version__ = "0.1.0"
