"""dalel: the app that wires monitor/ → transcribe/ → store/ (CLI, config, daemon)."""
__version__ = "0.1.0"
__all__ = ["__version__"]
