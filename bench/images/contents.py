"""What each image file of a folder holds: a digest of its bytes, re-read only when it changed.

Image features and image corpora are keyed by these digests, so a replaced image (re-cropped,
relabelled, or a truncated file fixed) gets new features and a new corpus fingerprint, as a
file corpus does. The digests of a folder are kept in one record under the cache
(`DigestRecord`): a warm run costs one stat per image and one small JSON read.
"""

from __future__ import annotations

from pathlib import Path

from bench.storage import DigestRecord


def image_contents(root: Path, paths: tuple[str, ...]) -> tuple[str, ...]:
    """The content digest of each of `paths` (relative to `root`), in order.

    A file that cannot be read gets a digest of its error (so it stays left out, by the
    decoder, and a later fix of it changes the digest).
    """
    root = root.resolve()
    record = DigestRecord("image-contents", str(root))
    digests = []
    for relative in paths:
        try:
            digests.append(record.digest(relative, root / relative))
        except OSError as exc:
            digests.append(f"unreadable:{exc.errno}")
    record.save()
    return tuple(digests)
