"""ANN backends: one module per library behind the small protocol in `base`."""
