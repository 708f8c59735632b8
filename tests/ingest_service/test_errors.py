"""Every error of ours survives pickle with its fields: a Modal function's errors reach the
caller pickled, and one that cannot be rebuilt arrives as an unknown (retryable) error."""

from __future__ import annotations

import inspect
import pickle
import typing

import pytest

import ingest_service.errors
import storage.errors
from storage.errors import PicklableError

MODULES = (ingest_service.errors, storage.errors)
SAMPLES: dict[object, object] = {str: "sample", int: 7, float: 2.5, bool: True}


def _subclasses(cls: type[BaseException]) -> list[type[BaseException]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


ERRORS = sorted(
    {c for c in _subclasses(PicklableError) if c.__module__.split(".")[0] != "tests"},
    key=lambda c: f"{c.__module__}.{c.__qualname__}",
)


def _sample(cls: type[BaseException]) -> BaseException:
    """An instance with every keyword field filled in by its annotated type."""
    hints = typing.get_type_hints(cls.__init__)
    fields = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if param.kind is param.KEYWORD_ONLY:
            kinds = typing.get_args(hints[name]) or (hints[name],)
            fields[name] = next(SAMPLES[k] for k in kinds if k in SAMPLES)
    return cls(f"{cls.__name__} happened", **fields)


def test_every_error_class_of_ours_is_covered() -> None:
    declared = {
        value
        for module in MODULES
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert declared <= set(ERRORS)
    # The ones that failed before: keyword-only fields that Exception's pickle dropped.
    names = {c.__name__ for c in ERRORS}
    assert {"JobStateError", "JobLeaseHeldError", "UpdateGaveUpError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_error_round_trips_through_pickle(cls: type[BaseException]) -> None:
    error = _sample(cls)
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just made
    assert type(back) is cls
    assert str(back) == str(error)
    assert back.args == error.args
    assert vars(back) == vars(error)
    assert getattr(back, "retryable", None) == getattr(error, "retryable", None)
