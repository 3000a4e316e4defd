"""An answer's JSON body, decoded once for every reader (the pacer, then the helper)."""

from __future__ import annotations

import pytest
import requests

from jsm_nb.answers import json_body


def response(body: bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer._content = body
    answer.headers["Content-Type"] = "application/json"
    return answer


def test_the_body_is_decoded_once_and_shared() -> None:
    answer = response(b'{"issues": [{"id": "10001"}], "isLast": true}')
    first = json_body(answer)
    assert first == {"issues": [{"id": "10001"}], "isLast": True}
    assert json_body(answer) is first
    assert json_body(response(answer.content)) is not first  # another response, its own


def test_a_body_that_is_not_json_raises_as_requests_does() -> None:
    with pytest.raises(requests.JSONDecodeError):
        json_body(response(b"<html>a proxy's page</html>"))
