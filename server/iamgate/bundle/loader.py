"""Reading a bundle's bytes from a directory, a .tar.gz, or a single authorization-details JSON file.

Nothing here parses an organization document: the loader only yields ``path -> bytes`` so that
verification can run on exactly the bytes that will be parsed, before any of them is parsed.
Archives are read in memory, never extracted to disk, under hard caps on member count, member
size and total expanded size (a gzip bomb is stopped as it crosses the cap). Absolute paths,
``..`` components, links that leave the bundle and device files are refused.

Hidden names (a component starting with ``.``) are skipped: editors' and VCS files, and the
``..data`` / ``..2024_...`` entries Kubernetes uses to swap a ConfigMap volume atomically (the
visible names are symlinks into them and are followed, as long as they stay inside the bundle).
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO

from iamgate.bundle import format as fmt
from iamgate.bundle.errors import BundleFormatError

if TYPE_CHECKING:  # tarfile (with shutil, lzma, bz2) loads when an archive is read, not to serve a directory
    import tarfile

DIRECTORY = "directory"
ARCHIVE = "archive"
DETAILS = "details"


@dataclass(frozen=True, slots=True)
class BundleFiles:
    """The raw files of a bundle, keyed by their POSIX path relative to the bundle root."""

    source: str
    kind: str
    """``directory``, ``archive`` or ``details`` (a lone authorization-details JSON file)."""
    files: Mapping[str, bytes]

    @property
    def default_name(self) -> str:
        """The bundle's name when it has no manifest: the directory or file name without suffixes."""
        base = os.path.basename(self.source.rstrip("/")) or "bundle"
        for suffix in (".tar.gz", ".tgz", ".tar", ".json"):
            if base.endswith(suffix):
                return base[: -len(suffix)] or "bundle"
        return base


def load_files(source: str | os.PathLike[str]) -> BundleFiles:
    """Read a bundle directory, a (gzipped) tar archive, or an authorization-details JSON file."""
    path = Path(source)
    display = str(source)
    if path.is_dir():
        return BundleFiles(display, DIRECTORY, MappingProxyType(read_directory(path)))
    if not path.exists():
        raise BundleFormatError(f"{display}: no such file or directory")
    if not path.is_file():
        raise BundleFormatError(f"{display}: not a regular file or directory")
    with path.open("rb") as stream:
        head = stream.read(512)
    if head[:2] == b"\x1f\x8b" or _is_tar_header(head):
        return BundleFiles(display, ARCHIVE, MappingProxyType(read_archive(path)))
    if head.lstrip()[:1] == b"{":
        size = path.stat().st_size
        if size > fmt.MAX_FILE_BYTES:
            raise BundleFormatError(f"{display}: {size} bytes exceeds the {fmt.MAX_FILE_BYTES}-byte file cap")
        return BundleFiles(display, DETAILS, MappingProxyType({path.name: path.read_bytes()}))
    raise BundleFormatError(
        f"{display}: neither a bundle directory, a .tar.gz bundle nor a JSON "
        "(get-account-authorization-details) file"
    )


def read_directory(root: Path) -> dict[str, bytes]:
    """Every visible regular file under ``root``; symlinks are followed only while they stay inside."""
    real_root = os.path.realpath(root)
    files: dict[str, bytes] = {}
    total = 0
    seen_dirs: set[str] = set()

    def walk(directory: str, prefix: str) -> None:
        nonlocal total
        real_dir = os.path.realpath(directory)
        if real_dir in seen_dirs:
            raise BundleFormatError(f"{root}: symlink loop at {prefix or '.'}")
        seen_dirs.add(real_dir)
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda item: item.name):
                if entry.name.startswith("."):
                    continue
                relative = f"{prefix}{entry.name}"
                target = os.path.realpath(entry.path)
                if not _inside(real_root, target):
                    raise BundleFormatError(f"{root}: {relative} links outside the bundle (to {target})")
                info = os.stat(target)
                if stat.S_ISDIR(info.st_mode):
                    walk(entry.path, relative + "/")
                    continue
                if not stat.S_ISREG(info.st_mode):
                    raise BundleFormatError(f"{root}: {relative} is not a regular file")
                if info.st_size > fmt.MAX_FILE_BYTES:
                    raise BundleFormatError(
                        f"{root}: {relative} is {info.st_size} bytes, over the {fmt.MAX_FILE_BYTES}-byte cap"
                    )
                total += info.st_size
                if total > fmt.MAX_TOTAL_BYTES or len(files) >= fmt.MAX_FILES:
                    raise BundleFormatError(
                        f"{root}: bundle exceeds {fmt.MAX_FILES} files or {fmt.MAX_TOTAL_BYTES} bytes"
                    )
                with open(target, "rb") as handle:
                    files[relative] = handle.read(fmt.MAX_FILE_BYTES + 1)

    walk(str(root), "")
    return files


def read_archive(path: Path) -> dict[str, bytes]:
    """The regular files of a (gzipped) tar archive, read in memory under the size caps."""
    try:
        with path.open("rb") as raw:
            return _read_stream(raw, str(path))
    except OSError as error:
        raise BundleFormatError(f"{path}: cannot read ({error.strerror})") from None


def files_from_bytes(data: bytes, display: str) -> BundleFiles:
    """A downloaded bundle: a (gzipped) tar archive, or an authorization-details JSON document."""
    if data[:2] == b"\x1f\x8b" or _is_tar_header(data[:512]):
        return BundleFiles(display, ARCHIVE, MappingProxyType(_read_stream(io.BytesIO(data), display)))
    if data.lstrip()[:1] == b"{":
        if len(data) > fmt.MAX_FILE_BYTES:
            raise BundleFormatError(
                f"{display}: {len(data)} bytes exceeds the {fmt.MAX_FILE_BYTES}-byte file cap"
            )
        name = display.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "authorization-details.json"
        return BundleFiles(display, DETAILS, MappingProxyType({name: data}))
    raise BundleFormatError(
        f"{display}: neither a .tar.gz bundle nor a JSON (get-account-authorization-details) file"
    )


def _read_stream(raw: BinaryIO, display: str) -> dict[str, bytes]:
    import tarfile

    try:
        stream: BinaryIO = raw
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        else:
            raw.seek(0)
        capped = _CappedReader(stream, fmt.MAX_TOTAL_BYTES + fmt.MAX_ARCHIVE_OVERHEAD, display)
        with tarfile.open(fileobj=capped, mode="r|") as archive:  # type: ignore[call-overload]
            return _read_members(archive, display)
    except BundleFormatError:
        raise
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as error:
        raise BundleFormatError(f"{display}: not a readable .tar.gz bundle ({error})") from None


def _read_members(archive: tarfile.TarFile, display: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    total = 0
    members = 0
    for member in archive:
        members += 1
        if members > fmt.MAX_FILES * 2:
            raise BundleFormatError(f"{display}: more than {fmt.MAX_FILES * 2} archive members")
        name = _safe_member_name(member.name, display)
        if name is None or _hidden(name):
            continue
        if member.isdir():
            continue
        if member.issym() or member.islnk():
            links[name] = _link_target(name, member, display)
            continue
        if not member.isreg():
            raise BundleFormatError(f"{display}: {name} is not a regular file (type {member.type!r})")
        if name in files or name in links:
            raise BundleFormatError(f"{display}: {name} appears twice in the archive")
        if member.size > fmt.MAX_FILE_BYTES:
            raise BundleFormatError(
                f"{display}: {name} is {member.size} bytes, over the {fmt.MAX_FILE_BYTES}-byte cap"
            )
        total += member.size
        if total > fmt.MAX_TOTAL_BYTES or len(files) >= fmt.MAX_FILES:
            raise BundleFormatError(
                f"{display}: archive expands beyond {fmt.MAX_FILES} files or {fmt.MAX_TOTAL_BYTES} bytes"
            )
        handle = archive.extractfile(member)
        files[name] = handle.read() if handle is not None else b""
    for name, target in links.items():
        resolved = target
        for _ in range(40):
            if resolved not in links:
                break
            resolved = links[resolved]
        if resolved not in files:
            raise BundleFormatError(
                f"{display}: {name} links to {target}, which is not a file in the archive"
            )
        if name in files:
            raise BundleFormatError(f"{display}: {name} appears twice in the archive")
        files[name] = files[resolved]
    return files


def _safe_member_name(name: str, display: str) -> str | None:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\\" in name:
        raise BundleFormatError(f"{display}: member {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BundleFormatError(f"{display}: member {name!r} escapes the bundle with '..'")
    return "/".join(parts) or None


def _link_target(name: str, member: tarfile.TarInfo, display: str) -> str:
    target = member.linkname
    if target.startswith("/"):
        raise BundleFormatError(f"{display}: {name} links to the absolute path {target!r}")
    base = posixpath.dirname(name) if member.issym() else ""
    joined = posixpath.normpath(posixpath.join(base, target))
    if joined == ".." or joined.startswith("../"):
        raise BundleFormatError(f"{display}: {name} links outside the bundle (to {target!r})")
    return joined


def _hidden(name: str) -> bool:
    return any(part.startswith(".") for part in name.split("/"))


def _inside(root: str, target: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _is_tar_header(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


class _CappedReader(io.RawIOBase):
    """A read-only stream that refuses to yield more than ``limit`` bytes (gzip-bomb guard)."""

    def __init__(self, inner: BinaryIO, limit: int, display: str) -> None:
        self._inner = inner
        self._limit = limit
        self._read = 0
        self._display = display

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size if size is not None and size >= 0 else self._limit + 1)
        self._read += len(data)
        if self._read > self._limit:
            raise BundleFormatError(f"{self._display}: archive expands beyond {self._limit} bytes")
        return data
