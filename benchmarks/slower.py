"""An hnswlib adapter that does a known amount of extra work per query, for `bench ab` checks.

Every query adds EXTRA (0.15) to a counter; whenever it reaches 1, one more search runs, with
the previous query's vector (a different vector, so no cache makes it cheaper). On average
that is 15 % more searches of the same index at the same parameters, with identical answers.
"""

from __future__ import annotations

import numpy as np

from bench.backends.hnswlib import Hnswlib

EXTRA = 0.15


class SlowerHnswlib(Hnswlib):
    name = "hnswlib-slower"

    def fit(self, data: np.ndarray) -> None:
        super().fit(data)
        self.owed = 0.0
        self.previous: np.ndarray | None = None

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        self.owed += EXTRA
        if self.owed >= 1.0 and self.previous is not None:
            self.owed -= 1.0
            super().query(self.previous, k)
        self.previous = vector
        return super().query(vector, k)
