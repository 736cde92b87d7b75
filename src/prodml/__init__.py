"""prodml: production machine learning in one package."""

__version__ = "0.1.0"
