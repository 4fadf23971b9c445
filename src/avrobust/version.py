"""The package version (one place; ``avrobust.__version__`` and the model cards read it)."""

__version__ = "0.1.0"
