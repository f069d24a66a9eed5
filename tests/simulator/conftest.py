"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator.helpers import Server, flat_config, serve


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A fast (time x0.2) flat-latency simulator shared by a test module."""
    with serve(flat_config()) as srv:
        yield srv
