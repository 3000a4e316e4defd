"""Bad arguments to the helpers: one table.

Every row makes one bad call with a signed-in session. Each must raise
:class:`~jsm_nb.InvalidArgument` (a ``JsmError`` and a ``ValueError``) whose message
names the argument, shows what it got and says what to pass instead, and must fail
before anything is sent: the sandbox counts no request.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jsm_nb
from jsm_nb import errors
from jsm_nb.sandbox import Sandbox

Shared = tuple[Sandbox, jsm_nb.JsmSession]
README = Path(__file__).resolve().parents[2] / "README.md"


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[jsm_nb.JsmSession], object]
    says: str  # what is wrong and what to pass instead (a regular expression)


CASES = [
    # the paging options, on a listing, a per-request helper and before a desk's lookup
    Case(
        "concurrency zero",
        lambda s: jsm_nb.service_desks(session=s, concurrency=0),
        r"concurrency must be a whole number of at least 1, got 0: pass 1 .* leave it out",
    ),
    Case(
        "concurrency a fraction",
        lambda s: jsm_nb.sla(["ITH-1"], session=s, concurrency=2.5),  # type: ignore[call-overload]
        r"concurrency must be a whole number .* got 2\.5",
    ),
    Case(
        "concurrency a bool",
        lambda s: jsm_nb.comments("ITH-1", session=s, concurrency=True),
        r"concurrency must be a whole number .* got True",
    ),
    Case(
        "concurrency zero before a desk's lookup",
        lambda s: jsm_nb.request_types("ITH", session=s, concurrency=0),
        r"concurrency must be .* got 0",
    ),
    Case(
        "max_rows negative",
        lambda s: jsm_nb.customer_requests(session=s, max_rows=-1),
        r"max_rows must be a whole number of at least 0, got -1: pass the most rows .* None",
    ),
    Case(
        "max_rows a fraction before a desk's lookup",
        lambda s: jsm_nb.queues("ITH", session=s, max_rows=1.5),  # type: ignore[call-overload]
        r"max_rows must be a whole number .* got 1\.5",
    ),
    Case(
        "limit zero",
        lambda s: jsm_nb.frame("servicedesk", session=s, limit=0),
        r"limit must be a whole number of at least 1, got 0: pass the page size",
    ),
    Case(
        "limit a text",
        lambda s: jsm_nb.frame("servicedesk", session=s, limit="ten"),
        r"limit must be a whole number .* got 'ten'",
    ),
    Case(
        "session not a session",
        lambda s: jsm_nb.sla("ITH-1", session=s.config),  # type: ignore[call-overload]
        r"session must be a JsmSession, got Config: pass session=jsm_nb\.session\(\)",
    ),
    Case(
        "raw a text",
        lambda s: jsm_nb.customer_requests(session=s, raw="no"),  # type: ignore[call-overload]
        r"raw must be True or False, got 'no'",
    ),
    Case(
        "raw a number, on a single request",
        lambda s: jsm_nb.me(session=s, raw=1),  # type: ignore[call-overload]
        r"raw must be True or False, got 1",
    ),
    Case(
        "progress a text",
        lambda s: jsm_nb.sla("ITH-1", session=s, progress="off"),  # type: ignore[call-overload]
        r"progress must be True or False, got 'off'",
    ),
    # request keys
    Case(
        "keys a number",
        lambda s: jsm_nb.sla(42, session=s),  # type: ignore[call-overload]
        r"keys must be a text or a list of texts \(request keys such as 'ITH-42'\), got int",
    ),
    Case(
        "keys None",
        lambda s: jsm_nb.approvals(None, session=s),  # type: ignore[call-overload]
        r"keys must be a text or a list of texts .* got NoneType",
    ),
    Case(
        "a key empty",
        lambda s: jsm_nb.request_status_history(["ITH-1", ""], session=s),
        r"keys must hold only non-empty texts .* got '': drop the empty or missing ones",
    ),
    Case(
        "a key missing from a column",
        lambda s: jsm_nb.sla(pd.Series(["ITH-1", None], dtype="string"), session=s),
        r"keys must hold only non-empty texts .* got <NA>: .*dropna\(\)",
    ),
    Case(
        "a key a number",
        lambda s: jsm_nb.comments(["ITH-1", 7], session=s),  # type: ignore[list-item]
        r"keys must hold only non-empty texts .* got 7",
    ),
    Case(
        "missing not a choice",
        lambda s: jsm_nb.sla("ITH-1", session=s, missing="ignore"),  # type: ignore[call-overload]
        r"missing must be one of \['raise', 'skip'\], got 'ignore'",
    ),
    # service desks, request types, organisations, queues: ids or project keys
    Case(
        "service_desk a float",
        lambda s: jsm_nb.request_types(1.0, session=s),  # type: ignore[call-overload]
        r"service_desk must be a service desk's id \(such as 1\) or project key \(such as 'ITH'\)"
        r", got 1\.0; jsm_nb\.service_desks\(\) lists them",
    ),
    Case(
        "service_desk a bool",
        lambda s: jsm_nb.queues(True, session=s),
        r"service_desk must be .* got True",
    ),
    Case(
        "service_desk negative",
        lambda s: jsm_nb.customers(-1, session=s),
        r"service_desk must be .* got -1",
    ),
    Case(
        "service_desk a request key",
        lambda s: jsm_nb.organizations("ITH-1", session=s),
        r"service_desk must be .* got 'ITH-1'",
    ),
    Case(
        "service_desk empty",
        lambda s: jsm_nb.customer_requests("", session=s),
        r"service_desk must be .* got ''",
    ),
    Case(
        "queue not an id",
        lambda s: jsm_nb.queue_issues("ITH", "triage", session=s),
        r"queue must be an id, a whole number or its digits such as 5 .*queues.* got 'triage'",
    ),
    Case(
        "queue a path",
        lambda s: jsm_nb.queue_issues(1, "1/../2", session=s),
        r"queue must be an id, .* got '1/\.\./2'",
    ),
    Case(
        "request_type not an id",
        lambda s: jsm_nb.customer_requests("ITH", request_type="Get IT help", session=s),
        r"request_type must be an id, .*request_types.* got 'Get IT help'",
    ),
    Case(
        "request_type without a desk",
        lambda s: jsm_nb.customer_requests(request_type=12, session=s),
        r"request_type needs service_desk too: pass the desk",
    ),
    Case(
        "organization a fraction",
        lambda s: jsm_nb.customer_requests(organization=2.0, session=s),  # type: ignore[call-overload]
        r"organization must be an id, .* got 2\.0",
    ),
    Case(
        "ownership organization without one",
        lambda s: jsm_nb.customer_requests(ownership="organization", session=s),
        r"ownership=\"organization\" needs organization too: pass the organisation's id",
    ),
    # choices and flags
    Case(
        "status not a choice, before a desk's lookup",
        lambda s: jsm_nb.customer_requests("ITH", status="pending", session=s),
        r"status must be one of \['all', 'closed', 'open'\], got 'pending'",
    ),
    Case(
        "status None",
        lambda s: jsm_nb.customer_requests(status=None, session=s),  # type: ignore[call-overload]
        r"status must be one of .* got None",
    ),
    Case(
        "ownership not a choice",
        lambda s: jsm_nb.customer_requests(ownership=["owned", "mine"], session=s),
        r"ownership must be one of \['all_organizations', .*\], got 'mine'",
    ),
    Case(
        "ownership a number",
        lambda s: jsm_nb.customer_requests(ownership=3, session=s),  # type: ignore[call-overload]
        r"ownership must be a text or a list of texts .* got int",
    ),
    Case(
        "expand a number",
        lambda s: jsm_nb.customer_requests(expand=[1], session=s),  # type: ignore[list-item]
        r"expand must hold only non-empty texts \(such as 'sla'\), got 1",
    ),
    Case(
        "public a text",
        lambda s: jsm_nb.comments("ITH-1", public="no", session=s),  # type: ignore[call-overload]
        r"public must be True or False, got 'no'",
    ),
    Case(
        "include_count None, before a desk's lookup",
        lambda s: jsm_nb.queues("ITH", include_count=None, session=s),  # type: ignore[call-overload]
        r"include_count must be True or False, got None",
    ),
    # JQL
    Case(
        "jql empty",
        lambda s: jsm_nb.jql("", session=s),
        r"query must be a JQL search such as 'project = ITH ORDER BY created', got ''",
    ),
    Case(
        "jql blank",
        lambda s: jsm_nb.jql("  \n", session=s),
        r"query must be a JQL search .* got '  \\n'",
    ),
    Case(
        "jql None",
        lambda s: jsm_nb.jql(None, session=s),  # type: ignore[call-overload]
        r"query must be a JQL search .* got None",
    ),
    Case(
        "fields empty",
        lambda s: jsm_nb.jql("project = ITH", fields=[], session=s),
        r"fields must name at least one \(field ids such as 'summary'\)",
    ),
    # frame(): JSM listings only
    Case(
        "frame a URL",
        lambda s: jsm_nb.frame("https://evil.example/rest/servicedeskapi/servicedesk", session=s),
        r"path must be a JSM listing's path, such as 'request/ITH-1/participant' .*"
        r"got 'https://evil\.example/.*query parameters go as keyword arguments",
    ),
    Case(
        "frame a Jira path",
        lambda s: jsm_nb.frame("/rest/api/3/project/search", session=s),
        r"path must be a JSM listing's path, .* Jira's issues come from jsm_nb\.jql\(\)",
    ),
    Case(
        "frame climbing out",
        lambda s: jsm_nb.frame("request/../../../../oauth/token/accessible-resources", session=s),
        r"path must be a JSM listing's path, .* got 'request/\.\./",
    ),
    Case(
        "frame a query string",
        lambda s: jsm_nb.frame("servicedesk?limit=5", session=s),
        r"path must be a JSM listing's path, .* got 'servicedesk\?limit=5'",
    ),
    Case(
        "frame empty",
        lambda s: jsm_nb.frame("", session=s),
        r"path must be a JSM listing's path, .* got ''",
    ),
    Case(
        "frame the API's root",
        lambda s: jsm_nb.frame("/rest/servicedeskapi", session=s),
        r"path must be a JSM listing's path, .* got '/rest/servicedeskapi'",
    ),
]


def _sent(sb: Sandbox) -> tuple[int, int]:
    return sb.stats.api_requests, sb.stats.token_requests


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_argument_is_an_invalid_argument_before_any_request(
    case: Case, jsm_shared_session: Shared
) -> None:
    sb, session = jsm_shared_session
    before = _sent(sb)
    with pytest.raises(jsm_nb.InvalidArgument) as raised:
        case.call(session)
    assert isinstance(raised.value, jsm_nb.JsmError)
    assert isinstance(raised.value, ValueError)
    assert re.search(case.says, str(raised.value)), str(raised.value)
    assert str(raised.value).endswith("."), "a sentence"
    assert _sent(sb) == before, "nothing may be sent for a bad argument"


ACCEPTED: dict[str, tuple[Callable[[jsm_nb.JsmSession], Any], Callable[[jsm_nb.JsmSession], Any]]]
ACCEPTED = {
    "expand as one text": (
        lambda s: jsm_nb.customer_requests("HR", expand="sla", raw=True, session=s),
        lambda s: jsm_nb.customer_requests("HR", expand=["sla"], raw=True, session=s),
    ),
    "fields as one text": (
        lambda s: jsm_nb.jql("project = HR", fields="summary", session=s),
        lambda s: jsm_nb.jql("project = HR", fields=["summary"], session=s),
    ),
    "a numpy id": (
        lambda s: jsm_nb.request_types(np.int64(2), session=s),
        lambda s: jsm_nb.request_types("2", session=s),
    ),
    "a numpy flag": (
        lambda s: jsm_nb.comments("ITH-1", internal=np.bool_(False), session=s),  # type: ignore[call-overload]
        lambda s: jsm_nb.comments("ITH-1", internal=False, session=s),
    ),
    "keys as a set of one": (
        lambda s: jsm_nb.sla({"ITH-1"}, session=s),
        lambda s: jsm_nb.sla("ITH-1", session=s),
    ),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_other_spellings_of_good_arguments_mean_the_same(
    name: str, jsm_shared_session: Shared
) -> None:
    session = jsm_shared_session[1]
    given, usual = ACCEPTED[name]
    got, expected = given(session), usual(session)
    if isinstance(expected, pd.DataFrame):
        assert len(expected) > 0
        pd.testing.assert_frame_equal(got, expected)
    else:
        assert got == expected
        assert len(expected) > 0
        assert all("sla" in record for record in expected)


def _readme_errors() -> list[str]:
    """The error classes the README's errors table lists, in order."""
    section = README.read_text().split("\n## Errors\n")[1].split("\n## ")[0]
    return re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)


def test_the_readme_lists_every_public_error() -> None:
    listed = _readme_errors()
    assert sorted(listed) == sorted(errors.__all__)
    assert listed[0] == "JsmError"  # the base class first
    for name in listed:
        assert issubclass(getattr(errors, name), errors.JsmError)
