"""Column names from a field catalogue: snake_case, told apart by id, never API markup."""

from __future__ import annotations

import pytest

from jsm_nb.catalogue import Catalogue, resolve
from jsm_nb.errors import InvalidArgument


def field(field_id: str, name: str, schema_type: str = "string") -> dict[str, object]:
    return {
        "id": field_id,
        "name": name,
        "custom": field_id.startswith("customfield_"),
        "clauseNames": [name],
        "schema": {"type": schema_type},
    }


def test_columns_are_snake_case_and_shared_names_carry_the_id() -> None:
    found = Catalogue.of(
        [
            field("customfield_1", "Team"),
            field("customfield_2", "team", "option"),
            field("customfield_3", "<img src=x onerror=alert(1)> Owner"),
            field("customfield_4", "만족"),
            field("customfield_5", "Time to resolution"),
            field("customfield_6", "Status"),
            field("customfield_7", "Issue key"),
            field("status", "Status", "status"),
            field("resolutiondate", "Resolved", "datetime"),
            field("labels", "Labels", "array"),
        ]
    )
    assert dict(found.columns) == {
        "customfield_1": "team__customfield_1",
        "customfield_2": "team__customfield_2",
        "customfield_3": "img_src_x_onerror_alert_1_owner",
        "customfield_4": "customfield_4",
        "customfield_5": "time_to_resolution",
        "customfield_6": "status__customfield_6",
        "customfield_7": "issue_key__customfield_7",
        "status": "status",
        "resolutiondate": "resolution_date",
        "labels": "labels",
    }


def test_names_resolve_in_any_case_and_ambiguity_names_the_ids() -> None:
    found = Catalogue.of([field("customfield_1", "Team"), field("customfield_2", "Team")])
    found_too = Catalogue.of([field("customfield_5", "Time to resolution")])
    assert resolve(["time TO resolution", "key", "*all"], found_too) == [
        "customfield_5",
        "key",
        "*all",
    ]
    with pytest.raises(InvalidArgument, match=r"customfield_1 .*customfield_2"):
        resolve(["team"], found)
