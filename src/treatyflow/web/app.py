"""The web view's ASGI application: read-only pages and JSON over one :class:`Workspace`.

Safe by construction:

- every page is a Jinja2 template with autoescaping on (the report templates' environment);
  nothing the database holds is marked safe;
- every response carries a strict Content-Security-Policy (``default-src 'self'``, no script
  at all, no inline style, no frame, no form posting elsewhere), ``nosniff`` and
  ``no-referrer``; the CSS and the icon are served from the package, nothing from another host;
- only GET (and HEAD) routes exist: any other method is 405;
- query strings over :data:`MAX_QUERY_STRING` bytes are refused (414) and every read is
  bounded (search words and hits, listed rows, changes);
- an error is a page (or a JSON document under ``/api/``) with one sentence and no traceback.

Reads that fold every case (pending, the matrix, the calendar, flag filters) are cached,
keyed by :meth:`Workspace.revision`, so they are recomputed only after an event is recorded.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from treatyflow.errors import NotFound, TreatyflowError

if TYPE_CHECKING:
    from treatyflow.app.workspace import Workspace

T = TypeVar("T")

#: The Content-Security-Policy of every response.
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
#: The longest query string accepted, in bytes.
MAX_QUERY_STRING = 1024
#: Rows a listing page shows at most (the rest are counted).
MAX_ROWS = 500
#: The longest filter value accepted on /cases.
MAX_FILTER = 100
#: Files served under /static/: name -> (package, file, media type).
STATIC = {
    "report.css": ("treatyflow", "templates/report.css", "text/css; charset=utf-8"),
    "web.css": ("treatyflow.web", "static/web.css", "text/css; charset=utf-8"),
    "favicon.svg": ("treatyflow.web", "static/favicon.svg", "image/svg+xml"),
}
#: The flags /cases filters on besides a case's own: from what is pending.
PENDING_FLAGS = ("overdue", "blocked")


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, and long query strings
    refused before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message["headers"] = headers + list(SECURITY_HEADERS)
            await send(message)

        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING:
            response = Response(
                "The query string is too long.", status_code=414, media_type="text/plain"
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


class RevisionCache:
    """Results of whole-database reads, kept while :meth:`Workspace.revision` is unchanged.

    One lock per key: concurrent requests for the same cold read wait for one computation
    instead of each folding every case.
    """

    def __init__(self, ws: Workspace, size: int = 32) -> None:
        self.ws = ws
        self.size = size
        self._values: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            revision = self.ws.revision()
            with self._guard:
                hit = self._values.get(key)
                if hit is not None and hit[0] == revision:
                    self._values.move_to_end(key)
                    return hit[1]  # type: ignore[no-any-return]
            try:
                value = compute()
            except BaseException:
                with self._guard:  # a key that failed (a bad date) keeps no lock behind
                    if key not in self._values:
                        self._locks.pop(key, None)
                raise
            with self._guard:
                self._values[key] = (revision, value)
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    old, _ = self._values.popitem(last=False)
                    self._locks.pop(old, None)
            return value


def create_app(ws: Workspace) -> ASGIApp:
    """The web view of ``ws`` as an ASGI application (read-only)."""
    from treatyflow.reports.html import environment

    _ = ws.catalog  # load the definitions once, before requests run in threads
    env = environment()
    cache = RevisionCache(ws)
    static = {
        name: (resources.files(pkg).joinpath(path).read_bytes(), media)
        for name, (pkg, path, media) in STATIC.items()
    }

    def page(name: str, request: Request, code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(f"web/{name}.html.j2").render(
            path=request.url.path, today=ws.today().isoformat(), **context
        )
        return HTMLResponse(html, status_code=code)

    def param(request: Request, name: str) -> str | None:
        value = request.query_params.get(name, "").strip()
        return value or None

    def as_of(request: Request) -> str:
        return param(request, "as_of") or ws.today().isoformat()

    # -- pages ---------------------------------------------------------------------------
    def dashboard(request: Request) -> Response:
        day = as_of(request)

        def render() -> bytes:
            listing = ws.pending(as_of=day)
            items = listing.cases
            shown = items[:MAX_ROWS]
            html = page(
                "dashboard",
                request,
                as_of=listing.as_of.isoformat(),
                items=shown,
                more=max(0, len(items) - MAX_ROWS),
                overdue=sum(1 for i in items if i.overdue),
                blocked=sum(1 for i in items if i.blocked),
                review={i.id: getattr(i, "awaiting_review", ()) for i in shown},
            )
            return bytes(html.body)

        # the whole page is kept: it depends on the date and the database's revision only
        return HTMLResponse(cache.get(("dashboard", day), render))

    def case_page(request: Request) -> Response:
        case_id = request.path_params["case_id"]
        day = as_of(request)
        doc = json.loads(ws.report("case", "json", case_ids=[case_id], as_of=day))
        from treatyflow.reports import svg

        case = doc["cases"][0]
        anchors = {case["id"]: "case-1"}
        diagrams = {case["id"]: svg.diagram(case["procedure_graph"], case["path"], case["state"])}
        timelines = {case["id"]: svg.timeline(case, doc["as_of"])}
        return page(
            "case",
            request,
            report=doc,
            case=case,
            anchors=anchors,
            diagrams=diagrams,
            timelines=timelines,
            as_of=doc["as_of"],
        )

    def cases_page(request: Request) -> Response:
        filters = {k: param(request, k) for k in ("country", "treaty", "state", "flag")}
        for key, value in filters.items():
            if value is not None and len(value) > MAX_FILTER:
                raise HTTPException(400, f"The {key} filter is over {MAX_FILTER} characters.")
        country = filters["country"].upper() if filters["country"] else None
        rows = ws.cases(country=country, treaty=filters["treaty"], state=filters["state"])
        flag = filters["flag"]
        flags: dict[str, tuple[str, ...]] = {}
        if flag is not None:
            flags = case_flags(as_of(request))
            rows = [r for r in rows if flag in flags.get(r.id, ())]
        everything = cache.get(("all-cases",), ws.cases)
        choices = {
            "country": sorted({c.country for c in everything}),
            "treaty": sorted({c.treaty for c in everything}),
            "state": sorted({c.state for c in everything}),
            "flag": sorted({f for fs in case_flags(as_of(request)).values() for f in fs})
            if flag is not None or len(everything) <= 2000
            else list(PENDING_FLAGS),
        }
        return page(
            "cases",
            request,
            rows=rows[:MAX_ROWS],
            total=len(rows),
            more=max(0, len(rows) - MAX_ROWS),
            filters=filters,
            choices=choices,
            flags=flags,
            as_of=as_of(request),
        )

    def case_flags(day: str) -> dict[str, tuple[str, ...]]:
        def compute() -> dict[str, tuple[str, ...]]:
            out = {v.id: tuple(v.flags) for v in ws.views(as_of=day)}
            for item in ws.pending(as_of=day).cases:
                marks = zip(PENDING_FLAGS, (item.overdue, item.blocked), strict=True)
                extra = tuple(f for f, on in marks if on)
                out[item.id] = out.get(item.id, ()) + extra
            return out

        return cache.get(("flags", day), compute)

    def matrix_page(request: Request) -> Response:
        day = as_of(request)
        doc = cache.get(("matrix", day), lambda: json.loads(ws.matrix("json", as_of=day)))
        return page("matrix", request, m=doc, as_of=day)

    def search_page(request: Request) -> Response:
        text = request.query_params.get("q", "")
        case_id = param(request, "case")
        if not text.strip():
            return page("search", request, q="", case_id=case_id, result=None, error=None)
        try:
            result = ws.search(text, case_id=case_id, limit=50)
        except NotFound:
            raise
        except TreatyflowError as exc:
            return page(
                "search", request, 400, q=text, case_id=case_id, result=None, error=str(exc)
            )
        segments = {(h.case_id, h.seq): _segments(h.snippet, h.marks) for h in result.hits}
        return page(
            "search",
            request,
            q=text,
            case_id=case_id,
            result=result,
            segments=segments,
            error=None,
        )

    def changes_page(request: Request) -> Response:
        since = param(request, "since") or (ws.today() - dt.timedelta(days=7)).isoformat()
        changes = ws.recorded_since(since, limit=1000)
        return page("changes", request, since=since, changes=changes)

    def calendar(request: Request) -> Response:
        day = as_of(request)
        body, _ = cache.get(("calendar", day), lambda: ws.calendar(as_of=day))
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": 'inline; filename="treatyflow.ics"'},
        )

    def static_file(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404, "There is no such file.")
        body, media = found
        return Response(body, media_type=media, headers={"cache-control": "max-age=3600"})

    # -- JSON ----------------------------------------------------------------------------
    def api_pending(request: Request) -> Response:
        out = io.BytesIO()
        ws.write_pending_json(out, as_of=as_of(request))
        return Response(out.getvalue(), media_type="application/json")

    def api_case(request: Request) -> Response:
        view = ws.case(request.path_params["case_id"], as_of=param(request, "as_of"))
        return Response(_json(view.to_dict()), media_type="application/json")

    def api_search(request: Request) -> Response:
        limit_text = param(request, "limit") or "20"
        if not limit_text.isdigit():
            raise HTTPException(400, "limit must be a whole number from 1 to 200.")
        result = ws.search(
            request.query_params.get("q", ""),
            case_id=param(request, "case"),
            limit=int(limit_text),
        )
        return Response(_json(result.to_dict()), media_type="application/json")

    def api_openapi(request: Request) -> Response:
        from treatyflow.web.openapi import document

        return Response(_json(document()), media_type="application/json")

    # -- errors --------------------------------------------------------------------------
    def error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return page("error", request, status, status=status, message=message)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        default = {404: "There is no such page.", 405: "This view is read-only."}
        message = exc.detail if exc.detail and exc.detail not in _STARLETTE_DEFAULTS else None
        response = error(request, exc.status_code, message or default.get(exc.status_code, "?"))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TreatyflowError)
        return error(request, 404 if isinstance(exc, NotFound) else 400, str(exc))

    async def on_internal_error(request: Request, exc: Exception) -> Response:
        return error(request, 500, "Something went wrong inside treatyflow; see the server log.")

    routes = [
        Route("/", dashboard),
        Route("/cases", cases_page),
        Route("/cases/{case_id:path}", case_page),
        Route("/matrix", matrix_page),
        Route("/search", search_page),
        Route("/changes", changes_page),
        Route("/calendar.ics", calendar),
        Route("/static/{name}", static_file),
        Route("/api/pending", api_pending),
        Route("/api/cases/{case_id:path}", api_case),
        Route("/api/search", api_search),
        Route("/api/openapi.json", api_openapi),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: on_http_error,
            TreatyflowError: on_domain_error,
            Exception: on_internal_error,
        },
    )
    return SecurityHeaders(app)


_STARLETTE_DEFAULTS = {"Not Found", "Method Not Allowed", "Internal Server Error"}


def _json(value: Any) -> bytes:
    """The bytes the CLI prints for ``--json`` (``emit_json``: two-space indent, UTF-8,
    a final newline)."""
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _segments(text: str, marks: Any) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) at ``marks``' offsets."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in marks:
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out
