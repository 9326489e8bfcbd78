"""The lake as a file system, local directory or ``s3://bucket/prefix`` alike (pyarrow.fs), for the pipeline.

The pipeline lists inputs, writes snapshots and swaps pointers through this one class, so the Glue jobs
(S3) and the embedded mode (a directory) share one code path. (The ingest Lambda does not use it: it must
not import pyarrow on a cold start.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow.fs as pafs


class LakeFiles:
    def __init__(self, root: str | Path) -> None:
        text = str(root)
        self.is_local = "://" not in text
        if self.is_local:
            text = str(Path(text).expanduser().resolve())
        filesystem, base = pafs.FileSystem.from_uri(text)
        self.fs: pafs.FileSystem = filesystem
        self.base = base.rstrip("/")
        self._scheme = "" if self.is_local else text.split("://", 1)[0] + "://"

    def path(self, relative: str) -> str:
        """The file system path (no scheme) of a lake-relative path."""
        return f"{self.base}/{relative.strip('/')}" if relative else self.base

    def uri(self, relative: str) -> str:
        """What engines read and write: a local path or ``s3://bucket/key``."""
        return self._scheme + self.path(relative)

    def find(self, prefix: str, keep: Callable[[str], bool]) -> list[str]:
        """Lake-relative paths of the files under ``prefix`` whose relative path ``keep`` accepts, sorted."""
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        found = []
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            relative = info.path[len(self.base) + 1 :]
            if keep(relative):
                found.append(relative)
        return sorted(found)

    def exists(self, relative: str) -> bool:
        return bool(self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound)

    def read_bytes(self, relative: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as stream:
                return bytes(stream.read())
        except FileNotFoundError:
            return None

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Readers see all of ``data`` or nothing: temp + rename locally, one PUT on S3."""
        target = self.path(relative)
        parent = target.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        if not self.is_local:
            with self.fs.open_output_stream(target) as stream:
                stream.write(data)
            return
        temp = f"{parent}/.tmp-{uuid.uuid4().hex}.partial"
        try:
            with self.fs.open_output_stream(temp) as stream:
                stream.write(data)
            self.fs.move(temp, target)
        except BaseException:
            if self.fs.get_file_info(temp).type == pafs.FileType.File:
                self.fs.delete_file(temp)
            raise

    def delete_dir(self, relative: str) -> None:
        if self.fs.get_file_info(self.path(relative)).type == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(relative))

    def make_parent(self, relative: str) -> None:
        self.fs.create_dir(self.path(relative).rsplit("/", 1)[0], recursive=True)
