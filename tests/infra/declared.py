"""What infra/modal_app.py asks Modal for, read offline: the app's module is loaded afresh
while `App.function` and `App.cls` note each declaration's keyword arguments by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import modal
import pytest

APP_FILE = Path(__file__).resolve().parents[2] / "infra" / "modal_app.py"


def _name(target: Any) -> str:
    """A decorated function's or class's name, through Modal's decorator wrappers."""
    while not hasattr(target, "__name__"):
        target = target._get_raw_f()
    return str(target.__name__)


def load_declared(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, dict[str, dict[str, Any]]]:
    """A fresh copy of the app's module, and {function or class name: its options}."""
    declared: dict[str, dict[str, Any]] = {}

    def noting(original: Any) -> Any:
        def declare(self: modal.App, *args: Any, **options: Any) -> Any:
            decorator = original(self, *args, **options)

            def note(target: Any) -> Any:
                declared[_name(target)] = options
                return decorator(target)

            return note

        return declare

    monkeypatch.setattr(modal.App, "function", noting(modal.App.function))
    monkeypatch.setattr(modal.App, "cls", noting(modal.App.cls))
    spec = importlib.util.spec_from_file_location("declared_modal_app", APP_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, declared
