"""A real Docker daemon for the container tests (one per test process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.docker import DockerDaemon


@pytest.fixture(scope="session")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    daemon = DockerDaemon(tmp_path_factory.mktemp("docker")).start()
    yield daemon
    daemon.stop()
