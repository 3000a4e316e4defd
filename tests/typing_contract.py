"""What a type checker sees of the helpers; checked by mypy in tests/test_typing.py, never run.

Each ``assert_type`` states the type a call has. Each ``# type: ignore[...]`` states a
call that must not type-check: mypy's strict mode reports an ignore that is not needed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from typing_extensions import assert_type

import jsm_nb

KEYS = ["ITH-1", "ITH-2"]


def frames_by_default(s: jsm_nb.JsmSession) -> None:
    assert_type(jsm_nb.me(), pd.DataFrame)
    assert_type(jsm_nb.me(session=s, raw=False), pd.DataFrame)
    assert_type(jsm_nb.sites(session=s), pd.DataFrame)
    assert_type(jsm_nb.service_desks(concurrency=2, max_rows=10, progress=False), pd.DataFrame)
    assert_type(jsm_nb.request_types("ITH"), pd.DataFrame)
    assert_type(jsm_nb.customer_requests(), pd.DataFrame)
    assert_type(
        jsm_nb.customer_requests(1, request_type=2, status="open", expand="sla"), pd.DataFrame
    )
    assert_type(jsm_nb.request_status_history(KEYS), pd.DataFrame)
    assert_type(jsm_nb.sla("ITH-1"), pd.DataFrame)
    assert_type(jsm_nb.sla(pd.Series(KEYS), missing="skip"), pd.DataFrame)
    assert_type(jsm_nb.comments(KEYS, public=False, missing="raise"), pd.DataFrame)
    assert_type(jsm_nb.approvals(KEYS), pd.DataFrame)
    assert_type(jsm_nb.queues("ITH", include_count=False), pd.DataFrame)
    assert_type(jsm_nb.queue_issues("ITH", 5), pd.DataFrame)
    assert_type(jsm_nb.organizations(), pd.DataFrame)
    assert_type(jsm_nb.customers("CS", query="ann"), pd.DataFrame)
    assert_type(jsm_nb.jql("project = ITH", fields=["summary"]), pd.DataFrame)
    assert_type(jsm_nb.sla(jql="project = ITH"), pd.DataFrame)
    assert_type(jsm_nb.fields(), pd.DataFrame)
    assert_type(jsm_nb.frame("request/ITH-1/participant", limit=10), pd.DataFrame)
    assert_type(jsm_nb.feedback(KEYS, missing="skip"), pd.DataFrame)
    assert_type(jsm_nb.participants("ITH-1"), pd.DataFrame)
    assert_type(jsm_nb.request_type_fields("ITH", 1), pd.DataFrame)
    assert_type(jsm_nb.request_type_groups(1, max_rows=3), pd.DataFrame)
    assert_type(jsm_nb.articles("password"), pd.DataFrame)
    assert_type(jsm_nb.articles("leave", service_desk="HR"), pd.DataFrame)
    assert_type(jsm_nb.queue("ITH", 5, include_count=False), pd.DataFrame)
    assert_type(jsm_nb.info(session=s), pd.DataFrame)
    assert_type(jsm_nb.organization_users(3), pd.DataFrame)


def records_with_raw_true() -> None:
    assert_type(jsm_nb.me(raw=True), jsm_nb.Records)
    assert_type(jsm_nb.sites(raw=True), jsm_nb.Records)
    assert_type(jsm_nb.service_desks(raw=True), jsm_nb.Records)
    assert_type(jsm_nb.request_types(1, raw=True), jsm_nb.Records)
    assert_type(jsm_nb.customer_requests(raw=True, max_rows=5), jsm_nb.Records)
    assert_type(jsm_nb.request_status_history(KEYS, raw=True), jsm_nb.Records)
    assert_type(jsm_nb.sla("ITH-1", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.comments(KEYS, raw=True, internal=False), jsm_nb.Records)
    assert_type(jsm_nb.approvals(KEYS, raw=True, missing="skip"), jsm_nb.Records)
    assert_type(jsm_nb.queues("ITH", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.queue_issues("ITH", "5", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.organizations("ITH", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.customers("CS", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.jql("project = ITH", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.sla(jql="project = ITH", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.fields(raw=True), jsm_nb.Records)
    assert_type(jsm_nb.frame("organization", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.sla("ITH-1", raw=True).attrs, dict[str, Any])
    assert_type(jsm_nb.feedback("ITH-1", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.participants(KEYS, raw=True), jsm_nb.Records)
    assert_type(jsm_nb.request_type_fields(1, "2", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.request_type_groups("HR", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.articles("vpn", 1, raw=True), jsm_nb.Records)
    assert_type(jsm_nb.queue(1, "5", raw=True), jsm_nb.Records)
    assert_type(jsm_nb.info(raw=True), jsm_nb.Records)
    assert_type(jsm_nb.organization_users("3", raw=True), jsm_nb.Records)


def records_are_lists_of_dicts() -> list[dict[str, Any]]:
    return jsm_nb.sla("ITH-1", raw=True)


def either_with_a_flag(raw: bool) -> None:
    assert_type(jsm_nb.sla("ITH-1", raw=raw), pd.DataFrame | jsm_nb.Records)
    assert_type(jsm_nb.me(raw=raw), pd.DataFrame | jsm_nb.Records)
    assert_type(jsm_nb.frame("organization", raw=raw), pd.DataFrame | jsm_nb.Records)


def refused() -> None:
    jsm_nb.sla("ITH-1", raw="yes")  # type: ignore[call-overload]
    jsm_nb.sla("ITH-1", missing="ignore")  # type: ignore[call-overload]
    jsm_nb.service_desks(missing="skip")  # type: ignore[call-overload]
    jsm_nb.me(concurrency=2)  # type: ignore[call-overload]
    jsm_nb.sla(42)  # type: ignore[call-overload]
    jsm_nb.queues(1.5)  # type: ignore[call-overload]
