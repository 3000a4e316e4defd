"""The sandbox's knobs for the adversarial suite: hangs, answers lost after the fact,
cut-off and malformed bodies, Retry-After dates, a skewed clock, the secrets it issued."""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import pytest
import requests

import jsm_nb
from jsm_nb.entries import login_entry
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.faults import GARBAGE

RESOURCES = "/oauth/token/accessible-resources"


def _tokens(sb: Sandbox) -> dict[str, Any]:
    config = sb.sign_in()
    token = jsm_nb.FileStore(config.token_path).read(login_entry(config))
    assert isinstance(token, dict)
    return token


def _api(sb: Sandbox, token: dict[str, Any], timeout: float = 10) -> requests.Response:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return requests.get(sb.api_url + RESOURCES, headers=headers, timeout=timeout)


def _refresh(sb: Sandbox, refresh_token: str, timeout: float = 10) -> requests.Response:
    body = {
        "grant_type": "refresh_token",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "refresh_token": refresh_token,
    }
    return requests.post(f"{sb.auth_url}/oauth/token", json=body, timeout=timeout)


def test_hang_holds_until_the_client_gives_up(sb: Sandbox) -> None:
    token = _tokens(sb)
    sb.faults.hang()
    with pytest.raises(requests.ReadTimeout):
        _api(sb, token, timeout=0.3)
    sb.faults.clear()
    assert _api(sb, token).status_code == 200


def test_a_timed_hang_ends_with_a_closed_connection(sb: Sandbox) -> None:
    token = _tokens(sb)
    sb.faults.hang(seconds=0.1, every=1)
    with pytest.raises(requests.ConnectionError):
        _api(sb, token, timeout=10)


def test_clear_lets_hanging_requests_go(sb: Sandbox) -> None:
    token = _tokens(sb)
    sb.faults.hang()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            _api(sb, token, timeout=30)
        except requests.RequestException as error:
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    while sb.stats.api_requests == 0:
        time.sleep(0.01)
    sb.faults.clear()
    caller.join(10)
    assert not caller.is_alive()
    assert isinstance(errors[0], requests.ConnectionError)


@pytest.mark.parametrize("fault", ["drop", "hang"])
def test_an_answered_fault_rotates_the_token_and_loses_the_answer(sb: Sandbox, fault: str) -> None:
    token = _tokens(sb)
    getattr(sb.faults, fault)(target="auth", answered=True)
    with pytest.raises((requests.ConnectionError, requests.ReadTimeout)):
        _refresh(sb, token["refresh_token"], timeout=0.5)
    assert sb.stats.refreshes == 1  # Atlassian did the work; the answer never came
    sb.faults.clear()
    sb.settings.refresh_reuse_leeway = 0
    assert _refresh(sb, token["refresh_token"]).status_code == 403  # it was rotated


def test_an_unanswered_fault_leaves_the_token_alone(sb: Sandbox) -> None:
    token = _tokens(sb)
    sb.faults.drop(target="auth")
    with pytest.raises(requests.ConnectionError):
        _refresh(sb, token["refresh_token"])
    sb.faults.clear()
    sb.settings.refresh_reuse_leeway = 0
    assert _refresh(sb, token["refresh_token"]).status_code == 200
    assert sb.stats.reused_refreshes == 0


def test_truncate_cuts_the_real_answer_short(sb: Sandbox) -> None:
    token = _tokens(sb)
    sb.faults.truncate(every=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _api(sb, token)
    raw = requests.get(
        sb.api_url + RESOURCES,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        stream=True,
        timeout=10,
    )
    assert raw.status_code == 200
    assert int(raw.headers["Content-Length"]) > 0
    raw.close()


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_answers_are_not_atlassians_json(sb: Sandbox, kind: str) -> None:
    token = _tokens(sb)
    sb.faults.garbage(kind, target="both")
    for answer in (_api(sb, token), _refresh(sb, token["refresh_token"])):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == GARBAGE[kind][0]
        assert answer.text == GARBAGE[kind][1]
        if kind != "object":
            with pytest.raises(requests.JSONDecodeError):
                answer.json()
    assert sb.stats.refreshes == 0


def test_bad_garbage_and_hang_arguments_are_refused(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="kind="):
        sb.faults.garbage("xml")
    with pytest.raises(ValueError, match="seconds="):
        sb.faults.hang(seconds=-1)


@pytest.mark.parametrize("offset", [-300.0, 0.0, 420.0])
def test_the_clock_offset_moves_dates_not_lifetimes(sb: Sandbox, offset: float) -> None:
    sb.settings.clock_offset = offset
    token = _tokens(sb)
    answer = _api(sb, token)
    assert answer.status_code == 200  # a token is as good as its relative lifetime
    date = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert abs(date - (time.time() + offset)) < 5
    sb.faults.rate_limit(retry_after=2, as_date=True)
    limited = _api(sb, token)
    after = email.utils.parsedate_to_datetime(limited.headers["Retry-After"]).timestamp()
    server_now = email.utils.parsedate_to_datetime(limited.headers["Date"]).timestamp()
    assert 1 <= after - server_now <= 3


def test_secrets_lists_what_was_issued_by_kind(sb: Sandbox) -> None:
    token = _tokens(sb)
    found = sb.secrets()
    assert found["client_secret"] == {sb.client_secret}
    assert token["access_token"] in found["access_token"]
    assert token["refresh_token"] in found["refresh_token"]
    assert len(found["code"]) == len(found["state"]) == len(found["code_challenge"]) == 1
