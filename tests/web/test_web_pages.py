"""The web view's pages: what they show, and that they are safe by construction."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from _webdata import HOSTILE, IMG, SCRIPT


class Dom(HTMLParser):
    """Tag names, attributes (name, value) and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def links(self) -> list[str]:
        return [v for k, v in self.attrs if k == "href"]


PAGES = ["/", "/cases", "/cases/EST-ottawa-2025", "/matrix", "/search?q=Riigikogu", "/changes"]


@pytest.mark.parametrize("path", [*PAGES, "/nope", "/api/pending", "/calendar.ics"])
def test_security_headers_on_every_response(client: Any, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'none'" in csp
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_elsewhere_and_run_no_script(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    dom = Dom(response.text)
    assert "script" not in dom.tags and "iframe" not in dom.tags
    assert not [k for k, _ in dom.attrs if k.startswith("on") or k == "style"]
    loaded = [v for k, v in dom.attrs if k in ("src",)] + [
        v for k, v in dom.attrs if k == "href" and v.endswith((".css", ".svg"))
    ]
    assert loaded and all(v.startswith("/static/") for v in loaded)


def test_static_files_are_the_package_files(client: Any) -> None:
    from importlib import resources

    css = client.get("/static/report.css")
    assert css.headers["content-type"].startswith("text/css")
    assert (
        css.content == resources.files("treatyflow").joinpath("templates/report.css").read_bytes()
    )
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/app.py").status_code == 404


def test_dashboard_lists_pending_nearest_first_and_marks_overdue(
    client: Any, demo_ws: Any
) -> None:
    listing = demo_ws.pending(as_of="2026-03-01")
    page = client.get("/?as_of=2026-03-01").text
    positions = [page.index(f'data-case="{i.id}"') for i in listing.cases]
    assert positions == sorted(positions) and listing.cases
    overdue = [i.id for i in listing.cases if i.overdue]
    assert overdue  # the demo is not ticked: clocks due by March 2026 are overdue
    assert page.count('<span class="flag overdue">OVERDUE</span>') == len(overdue)
    assert 'value="2026-03-01"' in page


def shown_states(page: str) -> dict[str, str]:
    """Case id -> the state its dashboard row shows."""
    rows = re.findall(r'data-case="([^"]+)">.*?<span class="state">([^<]*)</span>', page, re.S)
    return dict(rows)


def test_as_of_changes_what_is_pending(client: Any, demo_ws: Any) -> None:
    early = {i.id: i.state for i in demo_ws.pending(as_of="2025-05-01").cases}
    late = {i.id: i.state for i in demo_ws.pending(as_of="2025-07-01").cases}
    assert early != late
    assert shown_states(client.get("/?as_of=2025-05-01").text) == early
    assert shown_states(client.get("/?as_of=2025-07-01").text) == late


def test_case_page_is_the_live_report(client: Any, demo_ws: Any) -> None:
    page = client.get("/cases/LTU-ottawa-2025").text
    dom = Dom(page)
    assert "svg" in dom.tags  # the diagram and the timeline
    assert 'class="node current' in page
    assert "Clocks" in page and "Integrity" in page and "Verified" in page
    assert 'id="case-1-e1"' in page  # search results link to events
    demo_ws.note("LTU-ottawa-2025", "Recorded just now: zyzzyva.", on="2025-07-01")
    assert "zyzzyva" in client.get("/cases/LTU-ottawa-2025").text


def test_unknown_case_is_a_404_page(client: Any) -> None:
    response = client.get("/cases/NOPE")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "no case &#39;NOPE&#39;." in response.text
    assert "Traceback" not in response.text


def test_errors_are_pages_without_tracebacks(client: Any) -> None:
    for path, status in (
        ("/nope", 404),
        ("/?as_of=someday", 400),
        ("/cases?country=" + "X" * 101, 400),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert 'id="error-message"' in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/cases/EST-ottawa-2025", "/api/pending", "/search"])
def test_no_write_endpoints(client: Any, demo_ws: Any, method: str, path: str) -> None:
    before = demo_ws.revision()
    response = client.request(method, path)
    assert response.status_code == 405
    assert demo_ws.revision() == before


def test_query_strings_are_bounded(client: Any) -> None:
    assert client.get("/search?q=" + "a" * 1100).status_code == 414
    long_words = client.get("/search?q=" + "+".join(["w"] * 17))
    assert long_words.status_code == 400 and "the limit is 16" in long_words.text


def test_search_page_links_to_the_events(client: Any) -> None:
    page = client.get("/search?q=Riigikogu").text
    assert "/cases/EST-ottawa-2025#case-1-e" in page
    assert "<mark>Riigikogu</mark>" in page
    assert client.get("/search").status_code == 200
    refused = client.get("/search?q=%22%2A")
    assert refused.status_code == 400 and "no word" in refused.text


def test_cases_filters(client: Any, demo_ws: Any) -> None:
    everything = client.get("/cases").text
    assert all(f">{c.id}</a>" in everything for c in demo_ws.cases())
    est = client.get("/cases?country=est").text
    assert ">EST-ottawa-2025</a>" in est and ">LTU-ottawa-2025</a>" not in est
    state = demo_ws.cases()[0].state
    by_state = client.get(f"/cases?state={state}").text
    assert {c.id for c in demo_ws.cases(state=state)} == {
        c.id for c in demo_ws.cases() if f">{c.id}</a>" in by_state
    }
    overdue = {i.id for i in demo_ws.pending(as_of="2026-03-01").cases if i.overdue}
    flagged = client.get("/cases?flag=overdue&as_of=2026-03-01").text
    assert overdue and {c.id for c in demo_ws.cases() if f">{c.id}</a>" in flagged} == overdue
    assert client.get("/cases?treaty=ccm").text.count("</a></td>") == 0


def test_matrix_changes_and_calendar(client: Any, demo_ws: Any) -> None:
    matrix = client.get("/matrix").text
    assert all(f">{c.id}</a>" in matrix for c in demo_ws.cases())
    changes = client.get("/changes?since=2000-01-01").text
    assert all(f">{c.id}</a></h2>" in changes for c in demo_ws.cases())
    assert ">0 event(s)" in client.get("/changes?since=2999-01-01").text
    ics = client.get("/calendar.ics?as_of=2025-07-01")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.content.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VEVENT" in ics.content


def test_whole_database_reads_follow_new_events(client: Any, demo_ws: Any) -> None:
    """The cached dashboard is recomputed once an event is recorded."""
    first = client.get("/?as_of=2026-03-01").text
    assert "OVERDUE" in first
    demo_ws.tick(as_of="2026-03-01")
    assert "OVERDUE" not in client.get("/?as_of=2026-03-01").text


def test_payloads_stay_inert(hostile_ws: Any) -> None:
    """A script payload in a note, a source and a search term is shown as text: no element,
    attribute or link comes out of it."""
    from starlette.testclient import TestClient

    from treatyflow.web.app import create_app

    with TestClient(create_app(hostile_ws)) as c:
        pages = [
            c.get("/cases/FIN-1").text,
            c.get("/search?q=zyzzyva").text,
            c.get("/search?q=" + SCRIPT.replace("<", "%3C").replace(">", "%3E")).text,
            c.get("/search", params={"q": f"zyzzyva {IMG}"}).text,
            c.get("/changes?since=2000-01-01").text,
        ]
    for page in pages:
        dom = Dom(page)
        assert "script" not in dom.tags and "img" not in dom.tags
        assert not [k for k, _ in dom.attrs if k.startswith("on")]
        assert not [h for h in dom.links() if h.lower().startswith("javascript")]
    assert HOSTILE in "".join(Dom(pages[0]).text)  # the note, as text
    assert SCRIPT in "".join(Dom(pages[1]).text)  # the snippet, as text
    assert ("value", SCRIPT) in Dom(pages[2]).attrs  # the search term, as a field's value
    assert ("value", f"zyzzyva {IMG}") in Dom(pages[3]).attrs


def test_the_cache_stays_bounded(demo_ws: Any) -> None:
    """Failed reads keep nothing, and at most ``size`` results are kept."""
    from treatyflow.web.app import RevisionCache

    cache = RevisionCache(demo_ws, size=2)

    def fail() -> None:
        raise ValueError("bad date")

    for i in range(5):
        with pytest.raises(ValueError):
            cache.get(("bad", i), fail)
    for i in range(5):
        assert cache.get(("good", i), lambda i=i: i) == i
    assert len(cache._values) == 2 and set(cache._locks) == set(cache._values)
    calls = []
    assert cache.get(("good", 4), lambda: calls.append(1)) == 4 and calls == []
