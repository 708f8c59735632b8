"""Intermediate files a stage's distributed parts hand each other, under the job's work
prefix in the bucket (`BucketLayout.work`): never published, cleared when done."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from storage import ObjectNotFoundError, ObjectStore


def clear(store: ObjectStore, prefix: str) -> int:
    """Delete everything under `prefix`; returns how many objects went."""
    keys = [info.key for info in store.list(prefix)]
    for key in keys:
        with contextlib.suppress(ObjectNotFoundError):  # another attempt cleared it first
            store.delete(key)
    return len(keys)


def put_array(store: ObjectStore, key: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    store.put(key, buffer.getvalue(), content_type="application/octet-stream")


def get_array(store: ObjectStore, key: str) -> np.ndarray:
    out: np.ndarray = np.load(io.BytesIO(store.get(key).data), allow_pickle=False)
    return out
