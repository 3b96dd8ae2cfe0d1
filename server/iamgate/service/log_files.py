"""Where decision-log lines go: a size-capped, rotating file, or a stream such as stderr.

Both sinks are used only by the decision logger's writer thread, so rotation, reopening and every
other file operation happen off the request path. Errors are raised to the caller, which counts
the lost lines; the file sink recovers by reopening at its next write.
"""

from __future__ import annotations

import os
import stat
from typing import Protocol, TextIO, runtime_checkable

FILE_MODE = 0o640
"""New log files are readable by the owner and its group only: decisions name principals."""


@runtime_checkable
class LineSink(Protocol):
    """What the decision logger's writer thread writes to."""

    def write_lines(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...


class StreamSink:
    """Lines to an already open text stream (stderr with ``--decision-log -``): no rotation."""

    def __init__(self, stream: TextIO, *, close_stream: bool = False) -> None:
        self._stream = stream
        self._close_stream = close_stream

    def write_lines(self, lines: list[str]) -> None:
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._close_stream:
            self._stream.close()


class RotatingFile:
    """Appends lines to ``path``; before a line would take it past ``max_bytes`` it is rotated.

    Rotation renames ``path`` -> ``path.1`` -> ... -> ``path.<max_files>`` (the oldest is removed)
    and starts a new ``path``; with ``max_files`` 0 the full file is simply removed. Every line
    is at most ``max_bytes`` (the logger bounds lines well below it), so the disk used is at most
    ``max_bytes * (max_files + 1)``. When something else renames or deletes ``path`` (logrotate),
    the next write notices that ``path`` is no longer the open file and reopens it; when it is
    truncated in place (``copytruncate``) the next write re-reads its size. A path that is not a
    regular file (``/dev/stdout``, a named pipe) is written to as it is, never rotated.
    """

    def __init__(self, path: str, *, max_bytes: int, max_files: int) -> None:
        if max_bytes < 1 or max_files < 0:
            raise ValueError("max_bytes must be at least 1 and max_files at least 0")
        self.path = path
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._fd: int | None = None
        self._size = 0
        self._regular = True
        self._open()  # fails at start-up, not at the first decision, when the path is unusable

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        opened = os.fstat(self._fd)
        self._size = opened.st_size
        self._regular = stat.S_ISREG(opened.st_mode)

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _still_ours(self) -> bool:
        """Is ``path`` still the file we have open (not renamed or deleted behind our back)?

        Also re-reads its size, which another writer or a truncation may have changed.
        """
        assert self._fd is not None
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fd)
        if (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            return False
        self._size = mine.st_size  # truncated in place (logrotate's copytruncate) or appended to
        return True

    def _rotate(self) -> None:
        self._close_fd()
        if self._max_files == 0:
            os.remove(self.path)
        else:
            oldest = f"{self.path}.{self._max_files}"
            if os.path.lexists(oldest):
                os.remove(oldest)
            for index in range(self._max_files - 1, 0, -1):
                older = f"{self.path}.{index}"
                if os.path.lexists(older):
                    os.replace(older, f"{self.path}.{index + 1}")
            os.replace(self.path, f"{self.path}.1")
        self._open()

    def write_lines(self, lines: list[str]) -> None:
        try:
            if self._fd is None or (self._regular and not self._still_ours()):
                self._close_fd()
                self._open()
            data = ("\n".join(lines) + "\n").encode("utf-8")
            if not self._regular or self._size + len(data) <= self._max_bytes:  # the usual case
                self._write_all(data)
                return
            chunk: list[bytes] = []
            chunk_size = 0
            for line in lines:
                data = line.encode("utf-8") + b"\n"
                if self._size + chunk_size + len(data) > self._max_bytes and self._size + chunk_size > 0:
                    self._write_all(b"".join(chunk))
                    chunk, chunk_size = [], 0
                    self._rotate()
                chunk.append(data)
                chunk_size += len(data)
            self._write_all(b"".join(chunk))
        except OSError:
            self._close_fd()  # reopen (and re-measure) at the next write
            raise

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            self._size += written
            view = view[written:]

    def close(self) -> None:
        self._close_fd()
