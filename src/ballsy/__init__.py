"""Ballsy: a self-hostable voice AI assistant server."""

__version__ = "0.1.0"
