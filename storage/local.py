"""A folder that behaves like a bucket: atomic writes, exclusive create, etags, ordered listing."""

from __future__ import annotations

import fcntl
import hashlib
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import ObjectInfo, StoredObject
from storage.errors import (
    BucketNotFoundError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from storage.keys import check_key

# Temp files and the CAS lock live inside the root so that rename stays on one filesystem.
INTERNAL_DIR = ".localstore"


class LocalStore:
    """An `ObjectStore` over a local folder.

    Etags are derived from (inode, size, mtime): every write goes through a fresh temp
    file that is renamed into place, so any change of content gives a new etag, and a
    10 GB plate dropped in by hand never has to be hashed to be listed.
    """

    def __init__(self, root: Path | str, *, create: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise BucketNotFoundError(f"store folder does not exist: {self.root}")
        self._internal = self.root / INTERNAL_DIR
        (self._internal / "tmp").mkdir(parents=True, exist_ok=True)

    @property
    def bucket(self) -> str:
        return self.root.name

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    def path_for(self, key: str) -> Path:
        check_key(key)
        if key == INTERNAL_DIR or key.startswith(INTERNAL_DIR + "/"):
            raise InvalidKeyError(f"keys under {INTERNAL_DIR}/ are reserved", key=key)
        return self.root / key

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        path = self.path_for(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(f"no such object: {key}", key=key) from exc
        if not path.is_file():
            raise ObjectNotFoundError(f"no such object: {key}", key=key)
        return self._info(key, st)

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject:
        path = self.path_for(key)
        try:
            with path.open("rb") as fh:
                st = os.fstat(fh.fileno())
                data = fh.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(f"no such object: {key}", key=key) from exc
        return StoredObject(data=data, info=self._info(key, st))

    def open_read(
        self, key: str, *, version_id: str | None = None, etag: str | None = None
    ) -> BinaryIO:
        path = self.path_for(key)
        try:
            fh = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(f"no such object: {key}", key=key) from exc
        # An open file keeps reading the inode it opened even if the key is replaced,
        # which pins the content as S3's If-Match would.
        if etag is not None and self._info(key, os.fstat(fh.fileno())).etag != etag:
            fh.close()
            raise PreconditionFailedError(f"object changed since it was noticed: {key}", key=key)
        return fh

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        write_token: str | None = None,
    ) -> ObjectInfo:
        del write_token  # a local write never loses its answer, so none is kept
        path = self.path_for(key)
        tmp = self._write_temp(data)
        return self._commit(key, path, tmp, if_none_match=if_none_match, if_match=if_match)

    def upload(
        self,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        path = self.path_for(key)
        fd, name = tempfile.mkstemp(dir=self._internal / "tmp")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, Path(source).open("rb") as src:
                shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(key, path, tmp, if_none_match=if_none_match, if_match=None)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        # Walk only the deepest folder the prefix names; sorting gives S3's key order
        # (code-point order of str equals byte order of UTF-8).
        base_dir = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base_dir if base_dir else self.root
        if not start.is_dir():
            return
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != INTERNAL_DIR]
                rel_dir = ""
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    keys.append(key)
        for key in sorted(keys):
            try:
                st = (self.root / key).stat()
            except FileNotFoundError:
                continue  # removed while listing, as S3 would eventually show
            yield self._info(key, st)

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        path.unlink(missing_ok=True)

    def presign(self, key: str, *, expires_s: int = 3600) -> str | None:
        return None  # a folder has no URLs: the web app serves its files, signed

    def local_path(self, key: str) -> Path:
        return self.path_for(key)

    def local_key(self, path: Path) -> str | None:
        path = path.resolve()
        if not path.is_relative_to(self.root):
            return None
        return check_key(path.relative_to(self.root).as_posix())

    # -- internals -------------------------------------------------------------

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        fingerprint = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=hashlib.md5(fingerprint.encode(), usedforsecurity=False).hexdigest(),
            # ctime too: a copy that preserves the source's mtime (cp -p, rsync -t) still
            # changes ctime while it writes, so "recently modified" stays true until done.
            last_modified=datetime.fromtimestamp(max(st.st_mtime, st.st_ctime), UTC),
            content_type=mimetypes.guess_type(key)[0],
        )

    def _write_temp(self, data: bytes) -> Path:
        fd, name = tempfile.mkstemp(dir=self._internal / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _commit(
        self, key: str, path: Path, tmp: Path, *, if_none_match: bool, if_match: str | None
    ) -> ObjectInfo:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if if_none_match:
                # link() fails if the name exists: an atomic create-if-absent. The link
                # shares the temp file's inode, so its stat is the new object's.
                try:
                    os.link(tmp, path)
                except FileExistsError as exc:
                    raise PreconditionFailedError(f"object already exists: {key}", key=key) from exc
                return self._info(key, tmp.stat())
            with self._cas_lock():
                if if_match is not None:
                    try:
                        current = self._info(key, path.stat()).etag
                    except FileNotFoundError as exc:
                        raise ObjectNotFoundError(f"no such object: {key}", key=key) from exc
                    if current != if_match:
                        raise PreconditionFailedError(f"object changed: {key}", key=key)
                os.replace(tmp, path)
                return self._info(key, path.stat())
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def _cas_lock(self) -> Iterator[None]:
        # flock works across processes (CLI and server on one folder), not just threads.
        with (self._internal / "cas.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
