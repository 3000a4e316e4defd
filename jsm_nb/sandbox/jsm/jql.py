"""The sandbox's JQL subset: a tokenizer, a recursive-descent parser, and the matching.

The subset is what analysts' searches need: ``project`` and ``status`` (``=`` or ``in``),
``created`` (``>=``, ``>``, ``<=``, ``<``) and ``id`` (those and ``=``) clauses joined by
AND, in parentheses or not, and ORDER BY created or id (ASC or DESC). Anything else is
refused with Jira's 400 body, as Jira refuses bad JQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..data import NOW_MS, STATUSES, SiteData
from .calls import Refusal, jira_error

__all__ = ["Jql", "jql_matches", "parse_jql"]


@dataclass(frozen=True)
class Jql:
    """The sandbox's JQL subset, parsed: ``project``, ``status``, ``created``, ``id`` and
    ORDER BY (``order`` is ``created`` or ``id``)."""

    desks: frozenset[int] | None
    statuses: frozenset[int] | None
    created_from: int | None
    created_before: int | None
    descending: bool
    id_from: int | None = None
    id_before: int | None = None
    order: str = "created"


_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<op>!=|>=|<=|[=<>(),~])|(?P<word>[^\s"'=!<>(),~]+))"""
)
_SUBSET = (
    "the sandbox's JQL supports project (= or in), status (= or in), created (>=, >, <=, <)"
    " and id (=, >=, >, <=, <) clauses joined by AND, and ORDER BY created or id"
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_jql(site: SiteData, text: str) -> Jql:
    """Parse ``text`` as the sandbox's JQL subset, against ``site``'s projects.

    Parameters
    ----------
    site : SiteData
        The site whose projects ``project`` clauses name (by key, id or name).
    text : str
        The JQL; dates in ``created`` clauses are in the site's zone.

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
    if query.desks is None:
        pool: Sequence[int] = range(len(site.requests))
    else:
        pool = sorted(i for d in query.desks for i in site.desk_requests[d])
    low = query.created_from if query.created_from is not None else -1
    high = query.created_before if query.created_before is not None else NOW_MS + 1
    first = query.id_from if query.id_from is not None else -1
    last = query.id_before
    hits = [
        i
        for i in pool
        if low <= site.requests[i].created < high
        and first <= site.requests[i].issue_id
        and (last is None or site.requests[i].issue_id < last)
        and (query.statuses is None or site.requests[i].timeline[-1][0] in query.statuses)
    ]
    if query.order == "id":
        hits.sort(key=lambda i: site.requests[i].issue_id)
    return tuple(reversed(hits)) if query.descending else tuple(hits)


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
    low: int | None = None  # created, epoch ms: the half-open range [low, high)
    high: int | None = None
    first: int | None = None  # issue ids: the half-open range [first, last)
    last: int | None = None

    def parse(self) -> Jql:
        self._conjunction(nested=False)
        descending, order = True, "created"
        if self.tokens[self.at :]:
            self._expect_keyword("order")
            self._expect_keyword("by")
            field, position = self._take("a field name")
            order = field.lower()
            if order not in ("created", "id"):
                raise self._unsupported(field, position)
            if self.tokens[self.at :]:
                direction, position = self._take("ASC or DESC")
                if direction.lower() not in ("asc", "desc"):
                    raise self._unsupported(direction, position)
                descending = direction.lower() == "desc"
            elif order == "id":
                descending = False  # Jira's default direction for id
            if self.tokens[self.at :]:
                raise self._unsupported(*self._take("the end of the query"))
        bounds = (self.desks, self.statuses, self.low, self.high, self.first, self.last)
        if all(bound is None for bound in bounds):
            raise jira_error(
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            )
        return Jql(
            self.desks,
            self.statuses,
            self.low,
            self.high,
            descending,
            self.first,
            self.last,
            order,
        )

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
        elif name in ("created", "createddate"):
            operator, where = self._take("an operator")
            if operator not in (">=", ">", "<=", "<"):
                raise self._unsupported(operator, where)
            moment = self._date(self._take("a date")[0])
            self.low, self.high = self._narrowed(self.low, self.high, operator, moment)
        elif name == "id":
            operator, where = self._take("an operator")
            if operator not in ("=", ">=", ">", "<=", "<"):
                raise self._unsupported(operator, where)
            value, at = self._take("an issue id")
            if not value.isdigit():
                raise self._unsupported(value, at)
            if operator == "=":
                self.first, self.last = self._narrowed(self.first, self.last, ">=", int(value))
                operator = "<="
            self.first, self.last = self._narrowed(self.first, self.last, operator, int(value))
        else:
            raise self._unsupported(name, position)

    @staticmethod
    def _narrowed(
        low: int | None, high: int | None, operator: str, value: int
    ) -> tuple[int | None, int | None]:
        """The half-open range ``[low, high)`` narrowed by ``operator value``."""
        if operator in (">=", ">"):
            return max(low or 0, value + (operator == ">")), high
        limit = value + (operator == "<=")
        return low, limit if high is None else min(high, limit)

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

    def _date(self, value: str) -> int:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value, pattern).replace(tzinfo=self.site.tz)
            except ValueError:
                continue
            return int(moment.timestamp() * 1000)
        raise jira_error(
            f"Date value '{value}' for field 'created' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )

    @staticmethod
    def _unsupported(token: str, position: int) -> Refusal:
        return jira_error(
            f"Error in the JQL Query: {_SUBSET}; got '{token}'. (line 1, character {position + 1})"
        )
