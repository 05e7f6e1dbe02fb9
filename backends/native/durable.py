"""Durability on disk, standard library only (a compiling process imports this
without the state store and its json)."""
from __future__ import annotations

import os


def fsync_dir(path) -> None:
    """Make a directory's entries (a rename, a new file) reach the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
