"""Deliberately misbehaving adapters, to prove a bad backend becomes a row and the suite goes on."""

from __future__ import annotations

import ctypes
import time

import numpy as np

from bench.backends.bruteforce import BruteForce


class Crashing(BruteForce):
    """Segfaults in the middle of the query sweep (after the build row was written)."""

    name = "crashing"

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
        raise AssertionError("unreachable")


class Hanging(BruteForce):
    name = "hanging"

    def fit(self, data: np.ndarray) -> None:
        time.sleep(3600)


class Hungry(BruteForce):
    """Allocates and touches memory without end."""

    name = "hungry"

    def fit(self, data: np.ndarray) -> None:
        hoard = []
        while True:
            hoard.append(np.ones(16 * 2**20 // 8))


class Raising(BruteForce):
    name = "raising"

    def fit(self, data: np.ndarray) -> None:
        raise RuntimeError("this adapter always fails to build")


class Slow(BruteForce):
    """Exact, but slower by a fixed sleep per query (for the regression gate)."""

    name = "slow"

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        time.sleep(0.002)
        return super().query(vector, k)


class Inaccurate(BruteForce):
    """Fast, but every third query gets a wrong first neighbour."""

    name = "inaccurate"

    def fit(self, data: np.ndarray) -> None:
        super().fit(data)
        self.calls = 0

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        ids = super().query(vector, k)
        self.calls += 1
        if self.calls % 3 == 0:
            ids = ids.copy()
            ids[0] = next(i for i in range(len(self.data)) if i not in set(ids.tolist()))
        return ids


class Spiking(BruteForce):
    """Touches 300 MiB for an instant during the build, frees it, then works as brute force:
    a peak far shorter than the parent's memory polling interval."""

    name = "spiking"

    def fit(self, data: np.ndarray) -> None:
        spike = np.ones(300 * 2**20 // 8)
        del spike
        super().fit(data)
