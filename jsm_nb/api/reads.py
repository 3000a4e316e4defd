"""How a helper reads: a paged listing, one object, or one object per request key.

The helpers' modules name a path, a label and a :class:`~jsm_nb.frames.Spec`; these run
them through the pagination engine (:mod:`jsm_nb.paging`) and give the frame (or the
:class:`Records` of ``raw=True``) with what it cost in ``attrs["jsm_nb"]``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict
from urllib.parse import quote

import pandas as pd

from .. import cost, frames, paging, windows
from .. import progress as progress_bar
from ..arguments import as_bool, as_id, choice, resolve_session, texts
from ..errors import ApiError, InvalidArgument

if TYPE_CHECKING:
    from ..sessions import JsmSession

__all__ = [
    "JSM",
    "MISSING",
    "Keys",
    "Missing",
    "Options",
    "PerRequest",
    "Record",
    "Records",
    "Result",
    "ServiceDesk",
    "Single",
    "desk_id",
    "listing",
    "one_object",
    "per_key_objects",
    "request_path",
    "session_before_lookup",
]

Record = dict[str, Any]
Keys = str | Iterable[str]
ServiceDesk = int | str
Missing = Literal["raise", "skip"]

JSM = "/rest/servicedeskapi"
MISSING = {"raise": "raise", "skip": "skip"}
_PROJECT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SHOWN_KEYS = 20  # missing keys named in an error's message; the rest are counted


class Records(list[Record]):
    """The JSON records of ``raw=True``: a list of dicts, with ``attrs`` as a frame has.

    ``attrs`` holds what :attr:`pandas.DataFrame.attrs` holds for the same call
    (``skipped_keys`` for the per-request helpers), so code that reads it works
    whatever ``raw`` is.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        super().__init__(records)
        self.attrs: dict[str, Any] = {}


Result = pd.DataFrame | Records


class Single(TypedDict, total=False):
    """The options of a helper that makes one request (besides ``raw``)."""

    session: JsmSession | None


class Options(Single, total=False):
    """The options every paged helper takes, besides ``raw`` (see the module's docstring)."""

    concurrency: int
    max_rows: int | None
    progress: bool | None
    wait: bool


class PerRequest(Options, total=False):
    """The options of the per-request helpers: :class:`Options` and ``missing``."""

    missing: Missing


def listing(
    spec: frames.Spec | None,
    label: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    keys: Keys | None = None,
    missing: Missing = "raise",
    cursor: bool = False,
    experimental: bool = False,
    limit: int = paging.DEFAULT_LIMIT,
    fields: Sequence[str] = (),
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    wait: bool = False,
    count: str | None = None,
) -> Result:
    """Every record of one paged listing (one per key of ``keys``), as ``spec``'s frame.

    With ``raw``, the records; with no ``spec``, a frame whose columns follow the
    records (:func:`frames.infer_spec`). A frame of a known ``spec`` is built
    page by page as they arrive, so the pages' JSON is never all held at once.
    ``label`` says what is fetched, for the progress bar ("Comments"; with keys,
    "Comments of 12 requests"): words of ours, never API text. A ``path`` with
    a ``{key}`` placeholder is fetched once per key of ``keys``; keys whose
    request does not exist raise :class:`ApiError` once all keys are fetched,
    or with ``missing="skip"`` are left out, and listed in the result's
    ``attrs["skipped_keys"]`` (empty when none are). With ``count``, the JQL of a
    search, its approximate count is asked for first, the progress bar's total; a
    large search is then split into windows of ids fetched at once
    (:func:`windows.plan`, :func:`windows.search`). The result's ``attrs["jsm_nb"]``
    is what it cost.
    """
    paging.check_options(concurrency=concurrency, max_rows=max_rows, limit=limit)
    raw = as_bool(raw, "raw")
    if progress is not None:
        progress = as_bool(progress, "progress")
    wait = as_bool(wait, "wait")
    skip = choice(MISSING, missing, "missing") == "skip"
    per_key = "{key}" in path  # keys=None is then a bad argument, not "no keys"
    unique = texts(keys, "keys", "request keys such as 'ITH-42'") if per_key else None
    opened = resolve_session(session)
    if unique is not None:
        label = f"{label} of {len(unique):,} request{'' if len(unique) == 1 else 's'}"
    skipped: list[str] = []
    options: paging.FetchOptions = {
        "keys": unique,
        "cursor": cursor,
        "experimental": experimental,
        "limit": limit,
        "concurrency": concurrency,
        "max_rows": max_rows,
        "progress": progress,
        "label": label,
        "wait": wait,
        "on_missing": None if unique is None else skipped.append,
    }
    result: Result
    split = None
    with cost.metered() as spent:
        if count is not None:
            total = options["total"] = windows.approximate_count(opened, count)
            split = windows.plan(
                count, total, limit=limit, concurrency=concurrency, max_rows=max_rows
            )
        if split is not None:
            records = windows.search(
                opened,
                split[0],
                descending=split[1],
                fields=str(dict(params or {})["fields"]),
                count=total,
                limit=limit,
                concurrency=concurrency,
                progress=progress,
                label=label,
                wait=wait,
            )
            if not raw and spec is not None:
                built = frames.FrameBuilder(spec, fields)
                built.add(records)
        elif raw or spec is None:
            records = paging.fetch(opened, path, params, **options)
        else:
            kind = ("frame", id(spec), tuple(fields))  # specs are constants of frames
            built = paging.collect(
                opened,
                path,
                params,
                sink=lambda: frames.FrameBuilder(spec, fields),
                kind=kind,
                **options,
            )
    if skipped and not skip:
        raise _missing_keys(path, skipped, len(unique or ()))
    if raw:
        result = Records(records)
    elif spec is None:
        result = frames.to_frame(records, frames.infer_spec(records), fields)
    else:
        result = built.frame()
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    if unique is not None:
        result.attrs["skipped_keys"] = skipped
    return result


def _missing_keys(path: str, missing: list[str], asked: int) -> ApiError:
    """The error for requests whose listing does not exist: how many, which, what to do."""
    named = ", ".join(missing[:_SHOWN_KEYS])
    more = len(missing) - _SHOWN_KEYS
    if more > 0:
        named += f" and {more:,} more"
    message = (
        f"{len(missing):,} of {asked:,} requests do not exist or you cannot see them: {named}. "
        'Correct or drop these keys, or pass missing="skip" to get the others '
        '(the result\'s attrs["skipped_keys"] then lists the keys left out).'
    )
    return ApiError(404, message, "GET", path)


def request_path(listing: str) -> str:
    return f"{JSM}/request/{{key}}/{listing}"


def one_object(
    spec: frames.Spec,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    session: JsmSession | None = None,
    raw: bool = False,
    gateway: bool = False,
) -> Result:
    """One unpaged answer (an object, or a list of them), as ``spec``'s frame.

    ``path`` is on the site (``/rest/servicedeskapi/info``), or with ``gateway``
    on the API host itself (``/me``). The result's ``attrs["jsm_nb"]`` is what it cost.
    """
    raw = as_bool(raw, "raw")
    opened = resolve_session(session)
    with cost.metered() as spent:
        body = paging.get_json(opened, f"{opened.api_url}{path}" if gateway else path, params)
    records = body if isinstance(body, list) else [body]
    result: Result = Records(records) if raw else frames.to_frame(records, spec)
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    return result


def per_key_objects(
    spec: frames.Spec,
    label: str,
    path: str,
    keys: Keys,
    *,
    experimental: bool = False,
    missing: Missing = "raise",
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    wait: bool = False,
) -> Result:
    """One unpaged object per key of ``keys`` (``path`` has ``{key}``), as :func:`listing` gives.

    Each record gets its key as ``issueKey``; keys whose request does not exist raise
    once all are fetched, or with ``missing="skip"`` are left out and listed in
    ``attrs["skipped_keys"]``.
    """
    paging.check_options(concurrency=concurrency, max_rows=max_rows)
    raw = as_bool(raw, "raw")
    if progress is not None:
        progress = as_bool(progress, "progress")
    skip = choice(MISSING, missing, "missing") == "skip"
    unique = texts(keys, "keys", "request keys such as 'ITH-42'")
    opened = resolve_session(session)
    wanted = unique if max_rows is None else unique[:max_rows]

    def one(key: str) -> Record | None:
        try:
            body = paging.get_json(
                opened, path.format(key=quote(key, safe="")), experimental=experimental
            )
        except ApiError as error:
            if error.status != 404:
                raise
            return None
        return {**body, "issueKey": key}

    records: list[Record] = []
    skipped: list[str] = []
    label = f"{label} of {len(wanted):,} request{'' if len(wanted) == 1 else 's'}"
    with (
        cost.metered(wait=as_bool(wait, "wait")) as spent,
        progress_bar.bar(progress, label, len(wanted)) as bar,
        contextlib.closing(paging.ordered_map(one, wanted, concurrency)) as found,
    ):
        for key, record in zip(wanted, found, strict=True):
            if record is None:
                skipped.append(key)
            else:
                records.append(record)
            bar.update(1)
    if skipped and not skip:
        raise _missing_keys(path, skipped, len(wanted))
    result: Result = Records(records) if raw else frames.to_frame(records, spec)
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    result.attrs["skipped_keys"] = skipped
    return result


def session_before_lookup(options: Options, raw: object = False) -> JsmSession:
    """The session of a helper that sends a request of its own before its fetch (a desk
    looked up by project key, the field catalogue); sets ``options["session"]``.

    The options (and ``raw``) are checked first, so that a bad one fails before that request.
    """
    paging.check_options(
        concurrency=options.get("concurrency", paging.DEFAULT_CONCURRENCY),
        max_rows=options.get("max_rows"),
    )
    as_bool(raw, "raw")
    if options.get("progress") is not None:
        as_bool(options.get("progress"), "progress")
    options["session"] = session = resolve_session(options.get("session"))
    return session


def desk_id(service_desk: ServiceDesk, options: Options) -> str:
    """The id of a service desk given by id or project key; sets ``options["session"]``.

    The options are checked first, so that a bad one fails before the lookup's request.
    """
    wanted = as_id(service_desk)
    if wanted is None and not (
        isinstance(service_desk, str) and _PROJECT_KEY.fullmatch(service_desk)
    ):
        raise InvalidArgument(
            "service_desk must be a service desk's id (such as 1) or project key "
            f"(such as 'ITH'), got {service_desk!r}; jsm_nb.service_desks() lists them."
        )
    session = session_before_lookup(options)
    if wanted is not None:
        return wanted
    for desk in paging.fetch(session, f"{JSM}/servicedesk", label="Service desks"):
        if str(desk.get("projectKey", "")).upper() == str(service_desk).upper():
            return str(desk["id"])
    raise InvalidArgument(
        f"No service desk has the project key {service_desk!r}; "
        "jsm_nb.service_desks() lists the ones you can see."
    )
