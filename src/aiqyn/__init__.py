"""Aiqyn: open anti-corruption monitoring of public procurement in Kazakhstan."""

__version__ = "0.1.0"
