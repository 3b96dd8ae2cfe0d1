from __future__ import annotations

import pytest
from service.fakes import running_server


@pytest.fixture
def address():
    """A real sidecar (fake snapshot) on an ephemeral loopback port."""
    with running_server() as (where, _):
        yield where
