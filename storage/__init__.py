"""Object stores: S3 (any endpoint) and a local folder with the same semantics."""

from storage.base import ObjectInfo, ObjectStore, StoredObject
from storage.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    ConflictError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    TransientStorageError,
)
from storage.local import LocalStore
from storage.s3 import S3Store, make_client
from storage.uri import open_store

__all__ = [
    "AccessDeniedError",
    "BucketNotFoundError",
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
    "make_client",
    "open_store",
]
