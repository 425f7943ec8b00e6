"""Named public datasets (ann-benchmarks, big-ann-benchmarks): catalogue, downloads, status.

Sits above `bench.corpora`: a named dataset resolves to a `kind: file` corpus spec over files
in the cache, so every file check and conversion is the corpora package's.
"""
