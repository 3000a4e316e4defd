"""The sandbox's JQL subset: a tokenizer, a recursive-descent parser, and the matching.

The subset is what analysts' searches and an incremental mirror need: ``project`` and
``status`` (``=`` or ``in``), ``created`` and ``updated`` (``>=``, ``>``, ``<=``, ``<``; dates
to the minute, in the site's zone), ``id`` (those and ``=``, or ``in``) and ``key`` (``=`` or
``in``; a moved issue's old key names it too) clauses joined by AND, in parentheses or not,
and ORDER BY created, updated or id (ASC or DESC), optionally then by id. ``id in`` and
``key`` clauses naming an issue the site does not have are refused as Jira refuses them
("An issue with key ... does not exist"); anything outside the subset is refused with
Jira's 400 body, as Jira refuses bad JQL.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..data import FIRST_ISSUE_ID, STATUSES, Request, SiteData
from .calls import Refusal, jira_error

__all__ = ["Jql", "jql_matches", "parse_jql"]


@dataclass(frozen=True)
class Jql:
    """The sandbox's JQL subset, parsed.

    Ranges are half-open, ``[from, before)``, in epoch ms or issue ids (None: unbounded);
    ``issues`` are the issue ids ``id in`` and ``key`` clauses allow; ``order`` the sort
    keys as ``(field, descending)``, the first the primary.
    """

    desks: frozenset[int] | None = None
    statuses: frozenset[int] | None = None
    created_from: int | None = None
    created_before: int | None = None
    updated_from: int | None = None
    updated_before: int | None = None
    id_from: int | None = None
    id_before: int | None = None
    issues: frozenset[int] | None = None
    order: tuple[tuple[str, bool], ...] = (("created", True),)


_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<op>!=|>=|<=|[=<>(),~])|(?P<word>[^\s"'=!<>(),~]+))"""
)
_SUBSET = (
    "the sandbox's JQL supports project (= or in), status (= or in), created and updated"
    " (>=, >, <=, <), id (=, >=, >, <=, <, in) and key (= or in) clauses joined by AND,"
    " and ORDER BY created, updated or id, then optionally by id"
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_SORT_KEYS: dict[str, Callable[[Request], int]] = {
    "created": lambda r: r.created,
    "updated": lambda r: r.updated,
    "id": lambda r: r.issue_id,
}
_RANGES = {"created": "created", "createddate": "created", "updated": "updated",
           "updateddate": "updated"}  # fmt: skip


def parse_jql(site: SiteData, text: str) -> Jql:
    """Parse ``text`` as the sandbox's JQL subset, against ``site``'s projects and issues.

    Parameters
    ----------
    site : SiteData
        The site whose projects ``project`` clauses name (by key, id or name), and whose
        issues ``id in`` and ``key`` clauses name.
    text : str
        The JQL; dates in ``created`` and ``updated`` clauses are in the site's zone.

    Returns
    -------
    Jql
        The parsed query; without ORDER BY the newest issues come first.

    Raises
    ------
    Refusal
        Jira's 400 for JQL outside the subset, unknown values, or no restriction at all.
    """
    return _JqlParser(site, text).parse()


def jql_matches(site: SiteData, query: Jql) -> tuple[int, ...]:
    """Indices of the requests that ``query`` matches, in its order."""
    requests = site.requests
    pool = _candidates(site, query)
    created = _within(query.created_from, query.created_before)
    updated = _within(query.updated_from, query.updated_before)
    hits = [
        i
        for i in pool
        if created(requests[i].created)
        and updated(requests[i].updated)
        and (query.statuses is None or requests[i].timeline[-1][0] in query.statuses)
        and (query.desks is None or requests[i].desk in query.desks)
    ]
    (field, descending), *then = query.order
    if then:  # by id, then stably by the primary key
        if then[0][1]:
            hits.reverse()
        hits.sort(key=lambda i: _SORT_KEYS[field](requests[i]), reverse=descending)
        return tuple(hits)
    if field == "updated":  # the pool is in creation and id order already
        hits.sort(key=lambda i: requests[i].updated)
    return tuple(reversed(hits)) if descending else tuple(hits)


def _within(low: int | None, high: int | None) -> Callable[[int], bool]:
    """Whether a value is in the half-open range ``[low, high)``; None bounds nothing."""
    first = -1 if low is None else low
    if high is None:
        return lambda value: first <= value
    return lambda value: first <= value < high


def _candidates(site: SiteData, query: Jql) -> Sequence[int]:
    """Positions of the requests ``query``'s issues (else its desks, else the site) hold
    within its id range, ascending.

    A request's position is its issue id less :data:`.FIRST_ISSUE_ID`, and each desk's
    positions (and the site's live ones) are ascending: an id range (a parallel search's
    window) is cut out of them, not looked for among every request of the site.
    """
    first = 0 if query.id_from is None else max(query.id_from - FIRST_ISSUE_ID, 0)
    last = len(site.requests) if query.id_before is None else query.id_before - FIRST_ISSUE_ID
    if query.issues is not None:
        return sorted(p for p in (i - FIRST_ISSUE_ID for i in query.issues) if first <= p < last)
    if query.desks is None:
        return _between(site.live, first, last)
    return sorted(i for d in query.desks for i in _between(site.desk_requests[d], first, last))


def _between(ascending: Sequence[int], first: int, last: int) -> Sequence[int]:
    """The items of ``ascending`` from ``first`` up to (not including) ``last``."""
    return ascending[bisect.bisect_left(ascending, first) : bisect.bisect_left(ascending, last)]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """``(kind, text, position)`` for each token; strings come unquoted."""
    found = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise jira_error(
                f"Error in the JQL Query: The character '{text[position]}' is a "
                f"reserved JQL character. (line 1, character {position + 1})"
            )
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append((kind, value, match.start(kind)))
        position = match.end()
    return found


class _JqlParser:
    """A recursive-descent parser of the sandbox's JQL subset."""

    def __init__(self, site: SiteData, text: str) -> None:
        self.site = site
        self.tokens = _tokens(text)
        self.at = 0

    desks: frozenset[int] | None = None
    statuses: frozenset[int] | None = None
    issues: frozenset[int] | None = None
    ranges: dict[str, tuple[int | None, int | None]]  # half-open [low, high) by field

    def parse(self) -> Jql:
        self.ranges = {}
        self._conjunction(nested=False)
        order: tuple[tuple[str, bool], ...] = (("created", True),)
        if self.tokens[self.at :]:
            self._expect_keyword("order")
            self._expect_keyword("by")
            order = (self._sort_key(),)
            if self.tokens[self.at :] and self.tokens[self.at][1] == "," and order[0][0] != "id":
                self.at += 1
                order = (*order, self._sort_key(only="id"))
            if self.tokens[self.at :]:
                raise self._unsupported(*self._take("the end of the query"))
        if (
            self.desks is None
            and self.statuses is None
            and self.issues is None
            and not any(bound is not None for bounds in self.ranges.values() for bound in bounds)
        ):
            raise jira_error(
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            )
        created, updated, ids = (self.ranges.get(f, (None, None)) for f in _SORT_KEYS)
        return Jql(self.desks, self.statuses, *created, *updated, *ids, self.issues, order)

    def _sort_key(self, only: str | None = None) -> tuple[str, bool]:
        """One key of ORDER BY: a field (``only`` that one) and its direction."""
        field, position = self._take("a field name")
        name = field.lower()
        if name not in _SORT_KEYS or only not in (None, name):
            raise self._unsupported(field, position)
        descending = name != "id"  # Jira's default directions
        if self.tokens[self.at :] and self.tokens[self.at][1] != ",":
            direction, position = self._take("ASC or DESC")
            if direction.lower() not in ("asc", "desc"):
                raise self._unsupported(direction, position)
            descending = direction.lower() == "desc"
        return name, descending

    def _conjunction(self, *, nested: bool) -> None:
        """Clauses joined by AND, up to the end, ORDER BY, or (``nested``) a ``)``."""
        started = False
        while self.tokens[self.at :] and not self._keyword("order"):
            if nested and self.tokens[self.at][1] == ")":
                self.at += 1
                return
            if started:
                self._expect_keyword("and")
            started = True
            if self.tokens[self.at :] and self.tokens[self.at][1] == "(":
                self.at += 1
                self._conjunction(nested=True)
            else:
                self._clause()
        if nested:
            self._take("')'")  # at the end: says a ')' was expected
            raise self._unsupported(*self.tokens[self.at - 1][1:])

    def _clause(self) -> None:
        name, position = self._take("a field name")
        name = name.lower()
        if name == "project":
            values = self._values(name)
            self.desks = self._intersect(self.desks, {self._project(v) for v in values})
        elif name == "status":
            values = self._values(name)
            self.statuses = self._intersect(self.statuses, {self._status(v) for v in values})
        elif name in _RANGES:
            operator, where = self._take("an operator")
            if operator not in (">=", ">", "<=", "<"):
                raise self._unsupported(operator, where)
            self._narrow(_RANGES[name], operator, self._date(self._take("a date")[0], name))
        elif name == "id":
            operator, where = self._take("an operator")
            if operator.lower() == "in":
                self.at -= 1
                self._allow({self._issue(v, name) for v in self._values(name)})
                return
            if operator not in ("=", ">=", ">", "<=", "<"):
                raise self._unsupported(operator, where)
            value, at = self._take("an issue id")
            if not value.isdigit():
                raise self._unsupported(value, at)
            if operator == "=":
                self._narrow("id", ">=", int(value))
                operator = "<="
            self._narrow("id", operator, int(value))
        elif name in ("key", "issuekey"):
            self._allow({self._issue(v, name) for v in self._values(name)})
        else:
            raise self._unsupported(name, position)

    def _narrow(self, field: str, operator: str, value: int) -> None:
        """The half-open range ``[low, high)`` of ``field`` narrowed by ``operator value``."""
        low, high = self.ranges.get(field, (None, None))
        if operator in (">=", ">"):
            self.ranges[field] = max(low or 0, value + (operator == ">")), high
        else:
            limit = value + (operator == "<=")
            self.ranges[field] = low, limit if high is None else min(high, limit)

    def _allow(self, issue_ids: set[int]) -> None:
        self.issues = self._intersect(self.issues, issue_ids)

    def _issue(self, value: str, field: str) -> int:
        """The id of the issue ``value`` names, by id or key (an old key too); else Jira's 400."""
        found = self.site.request(value)
        if found is None:
            raise jira_error(f"An issue with key '{value}' does not exist for field '{field}'.")
        return found.issue_id

    def _take(self, expected: str) -> tuple[str, int]:
        if not self.tokens[self.at :]:
            raise jira_error(
                f"Error in the JQL Query: Expecting {expected} but reached the end of the query."
            )
        _, value, position = self.tokens[self.at]
        self.at += 1
        return value, position

    def _keyword(self, word: str) -> bool:
        kind, value, _ = self.tokens[self.at]
        return kind == "word" and value.lower() == word

    def _expect_keyword(self, word: str) -> None:
        value, position = self._take(f"'{word.upper()}'")
        if value.lower() != word:
            raise self._unsupported(value, position)

    def _values(self, name: str) -> list[str]:
        operator, position = self._take("an operator")
        if operator == "=":
            return [self._take("a value")[0]]
        if operator.lower() != "in":
            raise self._unsupported(operator, position)
        values = []
        self._expect_symbol("(")
        while True:
            values.append(self._take(f"a value for {name}")[0])
            separator, position = self._take("',' or ')'")
            if separator == ")":
                return values
            if separator != ",":
                raise self._unsupported(separator, position)

    def _expect_symbol(self, symbol: str) -> None:
        value, position = self._take(f"'{symbol}'")
        if value != symbol:
            raise self._unsupported(value, position)

    @staticmethod
    def _intersect(old: frozenset[int] | None, new: set[int]) -> frozenset[int]:
        return frozenset(new) if old is None else old & new

    def _project(self, value: str) -> int:
        wanted = value.upper()
        for desk in self.site.desks:
            if wanted in (desk.key, str(desk.project_id), desk.name.upper()):
                return desk.index
        raise jira_error(f"The value '{value}' does not exist for the field 'project'.")

    @staticmethod
    def _status(value: str) -> int:
        for index, status in enumerate(STATUSES):
            if value.lower() in (status.name.lower(), status.id):
                return index
        raise jira_error(f"The value '{value}' does not exist for the field 'status'.")

    def _date(self, value: str, field: str) -> int:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value, pattern).replace(tzinfo=self.site.tz)
            except ValueError:
                continue
            return int(moment.timestamp() * 1000)
        raise jira_error(
            f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )

    @staticmethod
    def _unsupported(token: str, position: int) -> Refusal:
        return jira_error(
            f"Error in the JQL Query: {_SUBSET}; got '{token}'. (line 1, character {position + 1})"
        )
