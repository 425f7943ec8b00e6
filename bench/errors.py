"""Errors the user can act on: each message names what was wrong and what was expected."""


class BenchError(ValueError):
    """Bad input or configuration; the CLI prints the message without a traceback."""


class BackendUnavailable(BenchError):
    """A backend's library is not importable here; the message says why and how to install it."""


def utf8_text(data: bytes, source: str, expected: str) -> str:
    """`data` decoded as UTF-8, or a BenchError naming `source`, the first byte that is not
    UTF-8 with its offset and line, and what was `expected`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchError(
            f"{source} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            f"(line {line}): expected {expected}"
        ) from exc
