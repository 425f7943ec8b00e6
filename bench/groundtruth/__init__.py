"""Exact k nearest neighbours: the blocked kernel, its cache, and adopting a file's own truth."""
