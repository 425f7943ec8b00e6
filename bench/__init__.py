"""Benchmark harness for approximate nearest-neighbour search and image feature extractors."""

__version__ = "0.1.0"
