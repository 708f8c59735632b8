from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from handlers.auth import check_token
from handlers.errors import EventAuthError

TOKEN = SecretStr("correct-horse-battery-staple")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer_and_basic_are_accepted() -> None:
    check_token({"authorization": "Bearer correct-horse-battery-staple"}, TOKEN)
    check_token({"authorization": _basic("sns", "correct-horse-battery-staple")}, TOKEN)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer wrong",
        "Bearer ",
        _basic("correct-horse-battery-staple", "x"),
        "Basic !!!",
        "Token correct-horse-battery-staple",
    ],
)
def test_anything_else_is_refused(header: str) -> None:
    with pytest.raises(EventAuthError):
        check_token({"authorization": header}, TOKEN)


def test_no_configured_token_refuses_everything() -> None:
    with pytest.raises(EventAuthError, match="INGEST_WEBHOOK_TOKEN"):
        check_token({"authorization": "Bearer anything"}, None)
