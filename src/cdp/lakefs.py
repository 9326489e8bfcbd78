"""The lake as a file system, local directory or ``s3://bucket/prefix`` alike (pyarrow.fs), for the pipeline.

The pipeline lists inputs, writes snapshots and swaps pointers through this one class, so the Glue jobs
(S3) and the embedded mode (a directory) share one code path. (The ingest Lambda does not use it: it must
not import pyarrow on a cold start.)

**Mounts.** A zone may live somewhere else than the lake's root: on AWS the pseudonymized zone is a bucket
of its own, encrypted with its own key (SPEC 4: an Athena view alone protects nothing, so the analysts' data
is materialized apart). ``LakeFiles("s3://lake", mounts={"pseudonymized": "s3://zone-bucket/pseudonymized"})``
resolves every lake-relative path under ``pseudonymized/`` to the other root, and every method (``path``,
``uri``, ``find``, ``exists``, reads, writes, deletes) honours it, so pipeline code keeps naming tables by
their lake-relative prefix and never learns where a zone lives. Locally there are no mounts: every zone is a
folder of the one directory. A mount shares the root's file system (same scheme; on S3, a bucket of the same
region, which one stack's buckets are), so ``fs`` and ``path()`` still go together for callers that hand
both to pyarrow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import pyarrow.fs as pafs


class MountError(ValueError):
    """A mount that cannot work (wrong scheme, nested, not a plain zone prefix); the message says which."""


class LakeFiles:
    def __init__(self, root: str | Path, *, mounts: Mapping[str, str | Path] | None = None) -> None:
        text = str(root)
        self.is_local = "://" not in text
        if self.is_local:
            text = str(Path(text).expanduser().resolve())
        filesystem, base = pafs.FileSystem.from_uri(text)
        self.fs: pafs.FileSystem = filesystem
        self.base = base.rstrip("/")
        self._scheme = "" if self.is_local else text.split("://", 1)[0] + "://"
        #: (lake-relative prefix, file system path it resolves to), longest prefix first
        self._mounts = tuple(
            sorted(
                ((prefix, self._mount_base(prefix, target)) for prefix, target in (mounts or {}).items()),
                key=lambda mount: len(mount[0]),
                reverse=True,
            )
        )
        for prefix, _base in self._mounts:
            nested = [other for other, _ in self._mounts if other != prefix and _contains(other, prefix)]
            if nested:
                raise MountError(f"mount {prefix!r} lies inside mount {nested[0]!r}: mounts cannot nest")

    def _mount_base(self, prefix: str, target: str | Path) -> str:
        if not prefix or prefix != prefix.strip("/") or "*" in prefix or "//" in prefix or ".." in prefix:
            raise MountError(f"mount {prefix!r}: give a lake-relative zone prefix such as 'pseudonymized'")
        text = str(target)
        if self.is_local != ("://" not in text):
            raise MountError(
                f"mount {prefix!r} -> {text!r}: a mount must be on the lake's own file system "
                f"({'a local directory' if self.is_local else self._scheme + '…'})"
            )
        if self.is_local:
            return str(Path(text).expanduser().resolve()).rstrip("/")
        scheme, _, location = text.partition("://")
        if scheme + "://" != self._scheme or not location.split("/", 1)[0] or "?" in location:
            raise MountError(f"mount {prefix!r} -> {text!r}: give {self._scheme}bucket[/prefix], no options")
        return location.rstrip("/")

    def _resolve(self, relative: str) -> tuple[str, str, str]:
        """``(lake-relative prefix of the root it falls in, that root's path, the path below it)``."""
        relative = relative.strip("/")
        for prefix, base in self._mounts:
            if _contains(prefix, relative):
                return prefix, base, relative[len(prefix) :].strip("/")
        return "", self.base, relative

    def path(self, relative: str) -> str:
        """The file system path (no scheme) of a lake-relative path."""
        _prefix, base, rest = self._resolve(relative)
        return f"{base}/{rest}" if rest else base

    def uri(self, relative: str) -> str:
        """What engines read and write: a local path or ``s3://bucket/key``."""
        return self._scheme + self.path(relative)

    def find(self, prefix: str, keep: Callable[[str], bool]) -> list[str]:
        """Lake-relative paths of the files under ``prefix`` whose relative path ``keep`` accepts, sorted.

        A directory that holds a mount lists the mount's files in its place (the root's own files under a
        mounted prefix are not the lake's: the zone lives elsewhere)."""
        found = self._find_in(prefix, keep)
        for mounted, _base in self._mounts:
            if mounted != self._resolve(prefix)[0] and _contains(prefix.strip("/"), mounted):
                found.extend(self._find_in(mounted, keep))
        return sorted(found)

    def _find_in(self, prefix: str, keep: Callable[[str], bool]) -> list[str]:
        mounted, base, _rest = self._resolve(prefix)
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        found = []
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            below = info.path[len(base) + 1 :]
            relative = f"{mounted}/{below}" if mounted else below
            if not mounted and self._resolve(relative)[0]:
                continue  # under a mounted prefix of the root: not where that zone lives
            if keep(relative):
                found.append(relative)
        return found

    def exists(self, relative: str) -> bool:
        return bool(self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound)

    def read_bytes(self, relative: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as stream:
                return bytes(stream.read())
        except FileNotFoundError:
            return None

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Readers see all of ``data`` or nothing: temp + rename locally, one PUT on S3 (and only that PUT: S3
        has no directories, and pyarrow's ``create_dir`` would write an empty marker object at every parent
        prefix, which a role granted only its table's prefix may not write)."""
        target = self.path(relative)
        parent = target.rsplit("/", 1)[0]
        if not self.is_local:
            with self.fs.open_output_stream(target) as stream:
                stream.write(data)
            return
        self.fs.create_dir(parent, recursive=True)
        temp = f"{parent}/.tmp-{uuid.uuid4().hex}.partial"
        try:
            with self.fs.open_output_stream(temp) as stream:
                stream.write(data)
            self.fs.move(temp, target)
        except BaseException:
            if self.fs.get_file_info(temp).type == pafs.FileType.File:
                self.fs.delete_file(temp)
            raise

    def delete_file(self, relative: str) -> None:
        """Remove one file (no error when it is already gone)."""
        if self.fs.get_file_info(self.path(relative)).type == pafs.FileType.File:
            self.fs.delete_file(self.path(relative))

    def delete_dir(self, relative: str) -> None:
        """Remove a directory and everything under it, mounted zones below it included."""
        for mounted, _base in self._mounts:
            if mounted != self._resolve(relative)[0] and _contains(relative.strip("/"), mounted):
                self._delete_dir_at(self.path(mounted))
        self._delete_dir_at(self.path(relative))

    def _delete_dir_at(self, path: str) -> None:
        if self.fs.get_file_info(path).type == pafs.FileType.Directory:
            self.fs.delete_dir(path)

    def make_parent(self, relative: str) -> None:
        """The folder a writer is about to fill (locally; on S3 a key needs no parent, see write_bytes)."""
        if self.is_local:
            self.fs.create_dir(self.path(relative).rsplit("/", 1)[0], recursive=True)


def lake_uri_of(relative: str, *, root: str, mounts: Mapping[str, str] | None = None) -> str:
    """The URI :meth:`LakeFiles.uri` gives ``relative`` under ``root`` and ``mounts``, computed from the text
    alone: no file system is opened, so CloudFormation tokens in ``root`` or a mount are fine (``infra/``)."""
    relative = relative.strip("/")
    for prefix in sorted(mounts or {}, key=len, reverse=True):
        if _contains(prefix, relative):
            rest = relative[len(prefix) :].strip("/")
            target = str((mounts or {})[prefix]).rstrip("/")
            return f"{target}/{rest}" if rest else target
    return f"{root.rstrip('/')}/{relative}" if relative else root.rstrip("/")


def _contains(directory: str, relative: str) -> bool:
    """Whether lake-relative ``relative`` is ``directory`` or below it (``""`` holds everything)."""
    return not directory or relative == directory or relative.startswith(directory + "/")
