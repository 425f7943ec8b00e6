"""Scores of answers: recall against exact ground truth, precision and mAP against labels."""
