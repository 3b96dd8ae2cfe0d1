"""``bundle build`` stamps ``created`` to the millisecond, so two builds in one second still order."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime, timedelta, timezone

from iamgate.bundle import format as fmt
from iamgate.bundle.activation import manifest_time
from iamgate.bundle.commands import build_command

from .helpers import default_bundle_dir


def test_a_moment_with_a_fraction_is_stamped_to_the_millisecond_in_utc():
    moment = datetime(2026, 2, 1, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert fmt.created_stamp(moment) == "2026-02-01T12:00:00.123Z"


def test_a_whole_second_keeps_the_short_form_for_reproducible_builds():
    assert fmt.created_stamp(datetime(2026, 2, 1, 12, tzinfo=UTC)) == "2026-02-01T12:00:00Z"


def test_two_builds_in_the_same_second_order_by_their_created_time(tmp_path):
    first, second = datetime(2026, 2, 1, 12, 0, 0, 100000, UTC), datetime(2026, 2, 1, 12, 0, 0, 900000, UTC)
    stamps = []
    for index, moment in enumerate((first, second)):
        output = tmp_path / f"{index}.tar.gz"
        assert build_command(default_bundle_dir(), output, revision=str(index), created=moment).exit_code == 0
        with tarfile.open(output) as archive:
            manifest = json.loads(archive.extractfile(fmt.MANIFEST).read())
        stamps.append(manifest_time(manifest["created"]))
    assert stamps[0] < stamps[1]
