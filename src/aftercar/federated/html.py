"""``site-summary.html``: every value of a site file, for the site to read before sharing.

The page is generated from the JSON itself (nothing is left out or added): each
object becomes a section, each group of equal-length lists a table, each scalar
a row. It is self-contained (inline CSS, no script, no network resource).
"""

from __future__ import annotations

import html
import json
from typing import Any

from aftercar.schema import Col

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3,h4,h5,h6{font-size:1em}
table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ccc;padding:2px 6px;
font-size:.85em;text-align:right}th{background:#f3f3f3}td.k{text-align:left;font-weight:600}
.box{background:#fff6d5;border:1px solid #e0c060;padding:.6em 1em}
.wrap{max-height:24em;overflow:auto;display:inline-block}
"""

#: Columns shown side by side when an object's lists have equal length.
_MAX_DEPTH = 6


def _scalar(value: Any) -> str:
    if value is None:
        return "<i>withheld / none</i>"
    text = json.dumps(value) if isinstance(value, bool | list) else str(value)
    return html.escape(text)


def _columns(node: dict[str, Any]) -> str:
    lists = {k: v for k, v in node.items() if isinstance(v, list)}
    heads = "".join(f"<th>{html.escape(str(k))}</th>" for k in lists)
    rows = zip(*lists.values(), strict=True)
    body = "".join(
        "<tr>" + "".join(f"<td>{_scalar(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<div class="wrap"><table><tr>{heads}</tr>{body}</table></div>'


def _is_columns(node: dict[str, Any]) -> bool:
    lists = [v for v in node.values() if isinstance(v, list)]
    return len(lists) > 1 and len({len(v) for v in lists}) == 1


def _section(name: str, node: Any, depth: int) -> str:
    level = min(depth + 2, _MAX_DEPTH)
    head = f"<h{level}>{html.escape(name)}</h{level}>"
    if not isinstance(node, dict):
        return head + f"<p>{_scalar(node)}</p>"
    parts = [head]
    if _is_columns(node):
        parts.append(_columns(node))
    scalars = [(k, v) for k, v in node.items() if not isinstance(v, dict | list)]
    loose = [(k, v) for k, v in node.items() if isinstance(v, list) and not _is_columns(node)]
    if scalars or loose:
        rows = "".join(
            f'<tr><td class="k">{html.escape(str(k))}</td><td>{_scalar(v)}</td></tr>'
            for k, v in scalars + loose
        )
        parts.append(f"<table>{rows}</table>")
    parts += [_section(str(k), v, depth + 1) for k, v in node.items() if isinstance(v, dict)]
    return "".join(parts)


def render_summary_html(summary: dict[str, Any], title: str = "What leaves this site") -> str:
    """The page showing every value of ``summary`` (a site summary or a Cox answer)."""
    k = (summary.get("disclosure") or {}).get("suppress_below")
    control = (
        f"Disclosure control: every count is 0 or at least {k} (see 'disclosure')."
        if k
        else "No disclosure control: the aggregates are exact (small counts included)."
    )
    intro = (
        f'<div class="box"><p>Site <b>{html.escape(str(summary.get(Col.SITE)))}</b>. This page '
        "shows every value of the file that leaves the site; nothing else is shared. No "
        f"patient identifier, date or row is in it. {html.escape(control)}</p></div>"
    )
    body = "".join(_section(str(key), value, 0) for key, value in summary.items())
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{intro}{body}</body></html>\n"
    )
