"""The results appendix: every number of ``results.json`` with its path, collapsible and
searchable offline.

One ``<details>`` element (closed by default) holds a two-column
table (``results.json`` path, value) and a search box; a few lines of inline
JavaScript filter the rows as one types (no network, no library). Without
JavaScript the table is simply complete. The study configuration follows as a
second table (its TOML keys). Figure coordinates (``figures.*``: one value per
curve step) are in ``results.json`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from aftercar.report.html_tables import format_value

#: Top-level ``results.json`` keys left out of the appendix (drawing data of figures).
SKIPPED: frozenset[str] = frozenset({"figures"})

#: The filter: rows whose text does not hold every typed word are hidden.
SCRIPT = """
(function () {
  var box = document.getElementById("appendix-search");
  var count = document.getElementById("appendix-count");
  if (!box) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#appendix .kv tbody tr"));
  box.addEventListener("input", function () {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !hit;
      shown += hit ? 1 : 0;
    });
    count.textContent = shown + " of " + rows.length + " values shown";
  });
})();
"""


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(path, value)`` of every leaf: dict keys joined by ``.``, list items as ``[i]``."""
    if isinstance(obj, Mapping):
        if not obj:
            return [(prefix, "{}")]
        pairs: list[tuple[str, Any]] = []
        for key, value in obj.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(obj, list | tuple):
        if not obj:
            return [(prefix, "[]")]
        pairs = []
        for i, value in enumerate(obj):
            pairs += flatten(value, f"{prefix}[{i}]")
        return pairs
    return [(prefix, obj)]


def _value(value: Any) -> str:
    """A value as results.json holds it, floats to 6 significant digits."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.6g}"
    return format_value(value)


def _rows(pairs: list[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><th><code>{escape(k)}</code></th><td>{escape(_value(v))}</td></tr>"
        for k, v in pairs
    )


def appendix_html(results: dict[str, Any], config: dict[str, Any] | None = None) -> Markup:
    """The appendix: every ``results.json`` value by path, and the study configuration."""
    pairs = flatten({k: v for k, v in results.items() if k not in SKIPPED})
    table = (
        '<table class="kv" id="appendix-results"><thead><tr><th>results.json path</th>'
        f"<th>Value</th></tr></thead><tbody>{_rows(pairs)}</tbody></table>"
    )
    conf = ""
    if config:
        conf = (
            "<h3>Study configuration (study TOML keys)</h3>"
            '<table class="kv" id="appendix-config"><thead><tr><th>Key</th><th>Value</th>'
            f"</tr></thead><tbody>{_rows(flatten(config))}</tbody></table>"
        )
    return Markup(
        '<details id="appendix-details"><summary>Show all '
        f"{len(pairs):,} values of results.json with their paths</summary>"
        '<p class="search"><label for="appendix-search">Search paths and values: </label>'
        '<input type="search" id="appendix-search" autocomplete="off" '
        'placeholder="e.g. median or first_salvage.orr"> '
        '<span id="appendix-count" class="note"></span></p>'
        f"{table}{conf}"
        '<p class="note">Figure coordinates (results.json figures.*) are left out here.</p>'
        f"</details><script>{SCRIPT}</script>"
    )
