"""Object stores: S3 (any endpoint) and a local folder with the same semantics."""

from storage import conditional
from storage.base import ObjectInfo, ObjectStore, StoredObject
from storage.conditional import ABSENT, Backoff, Codec, Versioned
from storage.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    ConflictError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    TransientStorageError,
    UnsupportedError,
    UpdateGaveUpError,
)
from storage.local import LocalStore
from storage.s3 import S3Store, make_client
from storage.uri import open_store

__all__ = [
    "ABSENT",
    "AccessDeniedError",
    "Backoff",
    "BucketNotFoundError",
    "Codec",
    "ConflictError",
    "InvalidKeyError",
    "LocalStore",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectStore",
    "PreconditionFailedError",
    "S3Store",
    "StorageError",
    "StoredObject",
    "TransientStorageError",
    "UnsupportedError",
    "UpdateGaveUpError",
    "Versioned",
    "conditional",
    "make_client",
    "open_store",
]
