"""Opening data files, ``.gz`` ones with a bound on how far they may expand (gzip bombs).

DEFLATE expands at most about 1,032 times (a file of spaces: 1,026x); real RDF compresses
far less (measured with gzip's default level: LUBM's University0_0.owl 35x, fhkb.owl 18x). A file that has expanded more than :data:`MAX_RATIO` times its
compressed size, once past :data:`FREE_BYTES`, is refused as it is read, before the parser
holds hundreds of megabytes of padding.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path
from typing import IO, Any

from nesy.errors import LoadError

#: Most decompressed bytes per compressed byte a ``.gz`` data file may reach.
MAX_RATIO = 200
#: Decompressed bytes always allowed, whatever the ratio (small files compress well).
FREE_BYTES = 64 * 1024 * 1024
#: What reading a damaged ``.gz`` file raises (zlib.error: a corrupt stream).
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


class _Bounded(io.RawIOBase):
    """A decompressing stream that raises LoadError once it expands past the bound."""

    def __init__(self, raw: IO[bytes], compressed: int, file: str) -> None:
        super().__init__()
        self.raw, self.inner, self.file = raw, gzip.GzipFile(fileobj=raw), file
        self.limit = max(FREE_BYTES, MAX_RATIO * compressed)
        self.out = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        pos = self.inner.seek(offset, whence)
        self.out = pos
        return pos

    def tell(self) -> int:
        return self.inner.tell()

    def readinto(self, buffer: Any) -> int:
        n = self.inner.readinto(buffer)
        self.out += n
        if self.out > self.limit:
            raise LoadError(f"the file expands more than {MAX_RATIO} times its compressed size (a gzip bomb?); "
                            "nesy stops reading it; decompress it yourself if the content is real", file=self.file)
        return n

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.raw.close()
            super().close()


def open_data(path: Path) -> IO[bytes]:
    """``path`` opened for reading bytes: decompressed, within the bound, when it ends in ``.gz``.

    Raises:
        LoadError: the file is missing, a directory, or cannot be read.
    """
    if not path.exists():
        raise LoadError(f"no such file: {path}", file=str(path))
    if path.is_dir():
        raise LoadError(f"{path} is a directory; give the data files inside it", file=str(path))
    try:
        raw: IO[bytes] = open(path, "rb")
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}", file=str(path)) from exc
    if path.suffix.lower() != ".gz":
        return raw
    size = os.fstat(raw.fileno()).st_size
    return io.BufferedReader(_Bounded(raw, size, str(path)))  # type: ignore[return-value]


__all__ = ["FREE_BYTES", "GZIP_ERRORS", "MAX_RATIO", "open_data"]
