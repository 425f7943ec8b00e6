"""The image study: image folders, feature corpora, quality stage, fine-tuning, plots."""
