from __future__ import annotations

import pytest

from handlers.filtering import Kind, classify
from ingest_service.settings import Settings

SETTINGS = Settings()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/sh0040.mov", Kind.PLATE),
        ("incoming/a/b/SH0040.MOV", Kind.PLATE),
        ("incoming/clip.MXF", Kind.PLATE),
        ("incoming/sh0040.mov.json", Kind.SIDECAR),
        ("incoming/notes.json", "not a plate's sidecar"),
        ("incoming/notes.txt", "not a footage file (.txt)"),
        ("incoming/README", "not a footage file (no extension)"),
        ("incoming/folder/", "a folder marker"),
        ("incoming/sh0040.mov.partial", "a temporary, partial or system file"),
        ("incoming/sh0040.mov.crdownload", "a temporary, partial or system file"),
        ("incoming/._sh0040.mov", "a temporary, partial or system file"),
        ("incoming/.DS_Store", "a temporary, partial or system file"),
        ("published/sh0040/v001/x.mov", "outside the watched prefix incoming/"),
        (".ingest/jobs/x.json", "outside the watched prefix incoming/"),
        ("incoming/.mov", "not a footage file (.mov)"),
    ],
)
def test_classify(key: str, expected: object) -> None:
    assert classify(key, SETTINGS) == expected
