"""One entry point for every report format: ``render(model, fmt)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def render(report: Mapping[str, Any], fmt: str) -> str:
    """The report model rendered as ``fmt`` (md, html, json or csv)."""
    from treatyflow.reports import html, text

    renderers: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "md": text.render_markdown,
        "html": html.render_html,
        "json": text.render_json,
        "csv": text.render_csv,
    }
    try:
        renderer = renderers[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}") from None
    return renderer(report)
