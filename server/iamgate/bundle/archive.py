"""Writing a bundle as a .tar.gz: deterministic bytes, written atomically.

Entries are sorted, owned by 0:0, mode 0644, with one fixed mtime, and gzip's own timestamp is
zeroed, so building the same content with the same manifest yields the same archive. The file is
written beside its destination and renamed into place: a watcher never sees half an archive.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Mapping
from pathlib import Path


def archive_bytes(files: Mapping[str, bytes], *, mtime: int = 0) -> bytes:
    import tarfile  # (with shutil, lzma, bz2) only when a bundle is built or persisted, never to serve

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a temporary file in the destination's directory, then rename it over ``path``."""
    import tempfile  # (with shutil, lzma, bz2) only with --persist-dir or a bundle build

    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
