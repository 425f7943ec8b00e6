"""Exchange with other benchmark tools (ann-benchmarks results layout)."""
