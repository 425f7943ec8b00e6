"""What each image file of a folder holds: a digest of its bytes, re-read only when it changed.

Image features and image corpora are keyed by these digests, so a replaced image (re-cropped,
relabelled, or a truncated file fixed) gets new features and a new corpus fingerprint, as a
file corpus does. Hashing a whole Caltech101 (9,000 files, 130 MB) on every run would be
wasted work, so the digests of a folder are kept in one record under the cache, each valid
while its file's size, inode, mtime and ctime (in ns) are unchanged: a warm run costs one
stat per image and one small JSON read.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.storage import cache_path, file_digest, fingerprint, write_bytes_atomic

DIGITS = 16  # of the SHA-256, as content_fingerprint keeps


def image_contents(root: Path, paths: tuple[str, ...]) -> tuple[str, ...]:
    """The content digest of each of `paths` (relative to `root`), in order.

    A file that cannot be read gets a digest of its error (so it stays left out, by the
    decoder, and a later fix of it changes the digest).
    """
    root = root.resolve()
    record_path = cache_path("image-contents", fingerprint(str(root)), ".json")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    record = record if isinstance(record, dict) else {}
    digests, changed = [], False
    for relative in paths:
        file = root / relative
        try:
            info = file.stat()
        except OSError as exc:
            digests.append(f"unreadable:{exc.errno}")
            continue
        stamp = [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
        known = record.get(relative)
        if not (isinstance(known, list) and known[:-1] == stamp):
            try:
                known = [*stamp, file_digest(file)[:DIGITS]]
            except OSError as exc:
                known = [*stamp, f"unreadable:{exc.errno}"]
            record[relative], changed = known, True
        digests.append(str(known[-1]))
    if changed:
        write_bytes_atomic(record_path, json.dumps(record).encode())
    return tuple(digests)
