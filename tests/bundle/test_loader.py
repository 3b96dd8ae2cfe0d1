"""Reading bundle bytes: directories, archives and details files, safely."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from iamgate.bundle import format as fmt
from iamgate.bundle.archive import archive_bytes
from iamgate.bundle.errors import BundleFormatError
from iamgate.bundle.loader import ARCHIVE, DETAILS, DIRECTORY, load_files

from .helpers import DETAILS_FIXTURE


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_a_directory_is_read_with_posix_relative_paths(make_bundle):
    files = load_files(make_bundle())
    assert files.kind == DIRECTORY
    assert "accounts/123456789012/users.json" in files.files


def test_hidden_files_in_a_directory_are_skipped(make_bundle):
    root = make_bundle()
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / ".DS_Store").write_bytes(b"\0")
    assert not any(part.startswith(".") for path in load_files(root).files for part in path.split("/"))


def test_an_archive_holds_the_same_files_as_its_directory(make_bundle, tmp_path):
    root = make_bundle()
    directory = load_files(root)
    path = tmp_path / "b.tar.gz"
    path.write_bytes(archive_bytes(dict(directory.files)))
    archive = load_files(path)
    assert archive.kind == ARCHIVE
    assert dict(archive.files) == dict(directory.files)


def test_a_json_file_is_read_as_authorization_details():
    files = load_files(DETAILS_FIXTURE)
    assert files.kind == DETAILS
    assert list(files.files) == [DETAILS_FIXTURE.name]
    assert files.default_name == "authorization-details"


def test_a_missing_source_is_a_format_error(tmp_path):
    with pytest.raises(BundleFormatError, match="no such file or directory"):
        load_files(tmp_path / "nope")


def test_a_file_that_is_neither_archive_nor_json_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(BundleFormatError, match="neither a bundle directory"):
        load_files(path)


def test_a_corrupt_archive_is_a_format_error_not_a_traceback(tmp_path):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(gzip.compress(b"x" * 1000)[:40])
    with pytest.raises(BundleFormatError, match=r"not a readable \.tar\.gz bundle"):
        load_files(path)


def test_an_archive_member_with_an_absolute_path_is_refused(tmp_path):
    path = _tar(tmp_path / "abs.tar.gz", [(_file("/etc/passwd"), b"root")])
    with pytest.raises(BundleFormatError, match="absolute path"):
        load_files(path)


def test_an_archive_member_escaping_with_dotdot_is_refused(tmp_path):
    path = _tar(tmp_path / "up.tar.gz", [(_file("tests/../../evil.json"), b"{}")])
    with pytest.raises(BundleFormatError, match="escapes the bundle"):
        load_files(path)


def test_an_archive_symlink_pointing_outside_is_refused(tmp_path):
    path = _tar(tmp_path / "link.tar.gz", [(_link("users.json", "../../etc/passwd"), None)])
    with pytest.raises(BundleFormatError, match="links outside the bundle"):
        load_files(path)


def test_an_archive_symlink_to_an_absolute_target_is_refused(tmp_path):
    path = _tar(tmp_path / "link.tar.gz", [(_link("users.json", "/etc/passwd"), None)])
    with pytest.raises(BundleFormatError, match="absolute path"):
        load_files(path)


def test_an_archive_link_inside_the_bundle_resolves_to_its_target(tmp_path):
    path = _tar(
        tmp_path / "inside.tar.gz",
        [(_file("data/tests.json"), b'{"tests": []}'), (_link("tests/t.json", "../data/tests.json"), None)],
    )
    assert load_files(path).files["tests/t.json"] == b'{"tests": []}'


def test_an_archive_device_file_is_refused(tmp_path):
    info = _file("dev")
    info.type = tarfile.CHRTYPE
    path = _tar(tmp_path / "dev.tar.gz", [(info, None)])
    with pytest.raises(BundleFormatError, match="not a regular file"):
        load_files(path)


def test_an_archive_member_given_twice_is_refused(tmp_path):
    path = _tar(tmp_path / "twice.tar.gz", [(_file("a.json"), b"{}"), (_file("a.json"), b"[]")])
    with pytest.raises(BundleFormatError, match="appears twice"):
        load_files(path)


def test_an_archive_member_over_the_size_cap_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(fmt, "MAX_FILE_BYTES", 1024)
    path = _tar(tmp_path / "big.tar.gz", [(_file("big.json"), b" " * 4096)])
    with pytest.raises(BundleFormatError, match="over the 1024-byte cap"):
        load_files(path)


def test_a_gzip_bomb_is_stopped_at_the_total_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(fmt, "MAX_TOTAL_BYTES", 64 * 1024)
    monkeypatch.setattr(fmt, "MAX_FILE_BYTES", 1024 * 1024)
    members = [(_file(f"f{i}.json"), b"\0" * 30_000) for i in range(10)]
    path = _tar(tmp_path / "bomb.tar.gz", members)
    assert path.stat().st_size < 10_000  # highly compressible: a small archive expanding to 300 kB
    with pytest.raises(BundleFormatError, match="expands beyond"):
        load_files(path)


def test_a_directory_symlink_pointing_outside_is_refused(make_bundle, tmp_path):
    root = make_bundle()
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    os.symlink(secret, root / "tests" / "leak.json")
    with pytest.raises(BundleFormatError, match="links outside the bundle"):
        load_files(root)


def test_a_configmap_volume_with_a_data_symlink_is_read_through_it(tmp_path, make_bundle):
    """Kubernetes mounts keys as symlinks into ..data, itself a symlink to a timestamped directory."""
    source = make_bundle()
    volume = tmp_path / "volume"
    volume.mkdir()
    timestamped = volume / "..2026_11_28_03_00_00.000000001"
    timestamped.mkdir()
    for path in load_files(source).files:
        target = timestamped / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((source / path).read_bytes())
    os.symlink(timestamped.name, volume / "..data")
    for top in ("accounts", "tests"):
        os.symlink(f"..data/{top}", volume / top)
    assert dict(load_files(volume).files) == dict(load_files(source).files)


def test_oversized_tar_headers_are_stopped_by_the_stream_cap(tmp_path, monkeypatch):
    """A PAX header is read by tarfile itself: the decompressed stream is capped as a whole."""
    monkeypatch.setattr(fmt, "MAX_TOTAL_BYTES", 16 * 1024)
    monkeypatch.setattr(fmt, "MAX_ARCHIVE_OVERHEAD", 16 * 1024)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("a" * 100 + "/" + "b" * 200_000)
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    with pytest.raises(BundleFormatError, match="expands beyond"):
        load_files(path)
