"""Shared figure style: matplotlib settings (in a context, never global), colours, saving.

Text is stored as glyph outlines (``svg.fonttype = "path"``) in DejaVu Sans, which
ships with matplotlib, so figures render identically offline on any machine.
Colours follow the Okabe-Ito colour-blind-safe palette.

References
----------
.. [1] Okabe M, Ito K. Color Universal Design (CUD): how to make figures and
   presentations that are friendly to colorblind people. 2008.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from aftercar.report.model import CategoryStyle
from aftercar.schema import response_levels

#: matplotlib settings used for every report figure (applied in a context).
RC: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "aftercar",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "figure.dpi": 100,
    "lines.solid_capstyle": "butt",
}

#: Okabe-Ito colours (black omitted) for groups of a Kaplan-Meier figure.
GROUP_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

#: Colours of categories the study's taxonomy does not list (a stable hash picks one).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#1B9E77",
    "#7570B3",
    "#E7298A",
    "#66A61E",
    "#A6761D",
    "#E6AB02",
    "#666666",
    "#1F78B4",
    "#B2DF8A",
    "#FB9A99",
)


@dataclass(frozen=True)
class Palette:
    """Labels, colours and order of therapy categories and IMWG response groups.

    Built from the study's taxonomy (:class:`~aftercar.report.model.CategoryStyle`)
    and ``response_codes.csv``; the report never hard-codes a category.
    """

    categories: Mapping[str, CategoryStyle]
    responses: Mapping[str, str]

    @classmethod
    def of(cls, styles: tuple[CategoryStyle, ...]) -> Palette:
        """The palette of a study's category styles and the IMWG response groups."""
        responses: dict[str, str] = {}
        for level in response_levels():
            responses.setdefault(level.figure_group, level.colour)
        return cls({s.name: s for s in styles}, responses)

    def colour(self, category: object) -> str:
        """Colour of a category (stable for categories the taxonomy does not list)."""
        name = str(category)
        if name in self.categories:
            return self.categories[name].colour
        return FALLBACK_COLOURS[zlib.crc32(name.encode()) % len(FALLBACK_COLOURS)]

    def label(self, category: object) -> str:
        """Display label of a category (its name, spaced, when the taxonomy has none)."""
        name = str(category)
        if name in self.categories:
            return self.categories[name].label
        return name.replace("_", " ")

    def order(self, names: list[str]) -> list[str]:
        """Taxonomy categories in taxonomy order, then the others alphabetically."""
        known = [c for c in self.categories if c in names]
        return known + sorted(c for c in set(names) if c not in self.categories)

    def is_category(self, name: object) -> bool:
        """True when ``name`` is a category of the taxonomy."""
        return str(name) in self.categories


@dataclass(frozen=True)
class FigureOutput:
    """One rendered figure: SVG text (standalone file), PNG bytes, caption."""

    key: str
    title: str
    caption: str
    svg: str
    png: bytes

    def inline_svg(self) -> str:
        """SVG for inlining in HTML: no XML prolog/DTD/metadata/namespaces; ids prefixed.

        Ids get the figure key as prefix so several figures can share one page
        without id clashes; the root ``<svg>`` gets ``id="fig-<key>"``.
        """
        svg = self.svg[self.svg.index("<svg") :]
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
        svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
        svg = re.sub(r'\s+version="[^"]*"', "", svg, count=1)
        prefix = f"{self.key}-"
        svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
        svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
        label = re.sub(r"[<>&\"]", "", self.title)
        return svg.replace("<svg", f'<svg id="fig-{self.key}" role="img" aria-label="{label}"', 1)


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply :data:`RC` for the duration of a block (global rcParams are restored)."""
    with mpl.rc_context(RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """Create a figure with the Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


#: Resolution of the PNG figures (Word tables and the docx report).
PNG_DPI = 200


def _tight_bbox(fig: Figure) -> Bbox:
    """The figure's tight bounding box (inches) with :data:`RC`'s padding, from one
    layout pass: what ``savefig.bbox = "tight"`` computes for every file it writes."""
    dpi = fig.dpi
    fig.set_dpi(PNG_DPI)  # text extents as the PNG draws them (hinting varies with dpi)
    try:
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    finally:
        fig.set_dpi(dpi)
    return bbox.padded(mpl.rcParams["savefig.pad_inches"])


def save(fig: Figure, key: str, title: str, caption: str) -> FigureOutput:
    """Render ``fig`` to SVG and 200-dpi PNG (inside :func:`figure_style`)."""
    meta_svg = {"Date": None, "Creator": "aftercar", "Format": None, "Type": None}
    bbox = _tight_bbox(fig)  # once for both formats ('tight' would lay out each again)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=meta_svg, bbox_inches=bbox)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": "aftercar"},
                bbox_inches=bbox)  # fmt: skip
    return FigureOutput(
        key=key, title=title, caption=caption, svg=buf.getvalue(), png=png.getvalue()
    )
