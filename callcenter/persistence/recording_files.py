"""Recording files in a local folder: the default :class:`RecordingStorage`.

The folder is the one Asterisk writes into; the service reads it under its own path. In the
sandbox Asterisk runs in a chroot, so the two differ: Asterisk writes
``/var/lib/callcenter/instances/<instance>/spool/recordings`` (its own view) and the service
reads the same folder through the root (``<rootfs>/var/lib/...``). In a deployment both name one
shared volume (docker-compose), set by CALLCENTER_RECORDINGS_DIR and
CALLCENTER_RECORDINGS_DIR_IN_ASTERISK. Never inside the web root: the desk's files are served
from agent_ui/, recordings only ever through an audited route.

Layout: ``YYYY/MM/DD/<interaction-id>-<uniqueid>.wav`` (callcenter/crm/recordings.py); the
``.raw`` beside it while Asterisk is still writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from callcenter.crm.recording_alarm import StorageState, problem_of
from callcenter.crm.recordings import FINISHED_SUFFIX, WRITTEN_SUFFIX
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings

CHUNK = 64 * 1024


def recording_storage_for(settings: Settings) -> LocalRecordingStorage:
    """The deployment's folder (CALLCENTER_RECORDINGS_DIR, named in Asterisk as
    CALLCENTER_RECORDINGS_DIR_IN_ASTERISK, else the same path), else the sandbox instance's
    ``spool/recordings`` (MixMonitor creates the folders it writes into). Refused inside the
    web root (:func:`outside_web_root`)."""
    if settings.recordings_dir is not None:
        root = outside_web_root(settings.recordings_dir, settings.agent_ui_dir)
        return LocalRecordingStorage(root, settings.recordings_dir_in_asterisk or str(root))
    instance = AsteriskInstance(settings)
    in_asterisk = instance.dir_in_root / "spool" / "recordings"
    root = outside_web_root(instance.root / in_asterisk.relative_to("/"), settings.agent_ui_dir)
    return LocalRecordingStorage(root, str(in_asterisk))


class UnsafeRecordingPath(ValueError):
    """A path that would leave the storage root."""


class RecordingsInWebRoot(ValueError):
    """A recordings folder the web server would serve (or that holds the web root)."""


def outside_web_root(root: Path, web_root: Path) -> Path:
    """``root`` unless it is inside the folder the desk's files are served from (or holds
    it): a recording there could be fetched by its name, with no role check and no audit
    (issue 17, point 6). Both resolved, so a symlink or ``..`` does not get round it."""
    folder, web = root.resolve(), web_root.resolve()
    if folder == web or folder.is_relative_to(web) or web.is_relative_to(folder):
        raise RecordingsInWebRoot(
            f"the recordings folder {folder} is inside (or holds) the web root {web}: "
            "set CALLCENTER_RECORDINGS_DIR outside it"
        )
    return root


class LocalRecordingStorage:
    def __init__(self, root: Path, root_in_asterisk: str) -> None:
        self.root = root
        self.root_in_asterisk = root_in_asterisk.rstrip("/")

    def _file(self, path: str) -> Path:
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise UnsafeRecordingPath(path)
        return self.root.joinpath(*relative.parts)

    def asterisk_name(self, path: str) -> str:
        self._file(path)  # the same checks
        return f"{self.root_in_asterisk}/{path}"

    async def size(self, path: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._file(path).stat)).st_size
        except FileNotFoundError:
            return None

    async def finish(self, written: str, path: str, header: bytes) -> None:
        await asyncio.to_thread(self._finish, self._file(written), self._file(path), header)

    @staticmethod
    def _finish(source: Path, target: Path, header: bytes) -> None:
        data_bytes = int.from_bytes(header[40:44], "little")
        partial = target.with_name(target.name + ".part")
        with source.open("rb") as raw, partial.open("wb") as out:
            out.write(header)
            left = data_bytes
            while left > 0:
                chunk = raw.read(min(CHUNK, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)  # atomic: the .wav is whole or absent
        _sync_dir(target.parent)
        source.unlink()

    async def digest(self, path: str) -> tuple[str, int] | None:
        try:
            return await asyncio.to_thread(_sha256, self._file(path))
        except FileNotFoundError:
            return None

    async def read(self, path: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        file = self._file(path)
        handle = await asyncio.to_thread(file.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                want = CHUNK if left is None else min(CHUNK, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, path: str) -> bool:
        try:
            await asyncio.to_thread(self._file(path).unlink)
        except FileNotFoundError:
            return False
        return True

    async def paths(self) -> list[str]:
        return await asyncio.to_thread(self._paths)

    async def probe(self, min_free_bytes: int) -> StorageState:
        """Free space (``statvfs``) and writability (a one-byte file written and removed) of
        the folder, for the recording alarm (callcenter/crm/recording_alarm.py). A folder not
        made yet (MixMonitor makes it) is judged by its nearest existing parent."""
        return await asyncio.to_thread(_probe, self.root, min_free_bytes)

    def _paths(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for suffix in (FINISHED_SUFFIX, WRITTEN_SUFFIX):
            for file in self.root.rglob(f"*{suffix}"):
                found.append(file.relative_to(self.root).as_posix())
        return sorted(found)


def _sha256(file: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with file.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _probe(root: Path, min_free_bytes: int) -> StorageState:
    folder = root
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    probe = folder / f".probe-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0")
        finally:
            os.close(fd)
    except OSError as exc:
        problem = problem_of(exc) or "unwritable"
        return StorageState(problem, free, f"{folder}: {exc.strerror or exc}", write_failed=True)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
    if free < min_free_bytes:
        return StorageState("disk-full", free, f"{folder}: {free} bytes free")
    return StorageState(None, free)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
