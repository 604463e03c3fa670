"""flextrap: reproducible pipeline for 'The Flexibility Trap' (Ni et al., 2026)."""
__version__ = "0.1.0"
