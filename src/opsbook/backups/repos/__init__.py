"""Where backups are stored: one module per kind of repository."""

from __future__ import annotations

from opsbook.backups.repos.base import Repository
from opsbook.config.backups import FilesystemRepo, RepoConfig


def open_repository(name: str, config: RepoConfig) -> Repository:
    if isinstance(config, FilesystemRepo):
        from opsbook.backups.repos.filesystem import FilesystemRepository

        return FilesystemRepository(name, config.path)
    from opsbook.backups.repos.s3 import S3Repository

    return S3Repository(name, config)
