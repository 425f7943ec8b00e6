"""Corpora: vectors to index, held-out queries, their metric and optional class labels."""
