"""The default reference data both ends start from: the category tree and the units.

One definition, so the server's seeded records and the app's built-in fallback (before its
first sync) use the same ids. Ids are short slugs (``infra``, ``infra.road``), which the record
model accepts for references; names live in the catalog (``sync/locale/reference.json``), and
the server publishes the Chinese ones.
``deadline_days`` is the category's deadline rule: working days from dispatch to the deadline.
"""

from __future__ import annotations

from typing import NamedTuple

from sync.i18n import t


class Category(NamedTuple):
    id: str
    deadline_days: int
    children: tuple[str, ...]  # slugs; the child id is "<id>.<slug>"
    # Every tree ends with 其他 at the top; a top category with children ends them with its own 其他.


# The names live once, in the catalog (sync/locale/reference.json: ``reference.cat.<id>``).
CATEGORIES: tuple[Category, ...] = (
    Category("infra", 10, ("road", "water", "power", "lighting", "other")),
    Category("env", 7, ("garbage", "sewage", "noise", "other")),
    Category("livelihood", 5, ("elderly", "children", "medical", "allowance", "other")),
    Category("safety", 3, ("fire", "traffic", "dispute", "other")),
    Category("wish", 20, ("goods", "service", "study", "other")),
    Category("other", 10, ()),  # no child: a second 其他 under 其他 says nothing more
)


def category_name(category_id: str, lang: str | None = None) -> str:
    """A default category's name in ``lang`` (default: the current language)."""
    return t(f"reference.cat.{category_id}", lang)


UNITS: tuple[tuple[str, str], ...] = (
    ("town-office", "乡镇党政办"),
    ("town-agri", "农业农村办"),
    ("town-civil", "社会事务办"),
    ("town-safety", "综治中心"),
    ("town-power", "供电所"),
    ("town-water", "水务站"),
    ("town-env", "环卫所"),
    ("town-police", "派出所"),
    ("village-committee", "村委会"),
)

DEFAULT_DEADLINE_DAYS = 10

# The channels a problem comes in by (docs/model.md "County"); an issue without a source came
# from a grid worker. Names: ``reference.source.<id>``; the admin renames, adds and retires.
SOURCES: tuple[str, ...] = (
    "grid", "hotline", "petition", "spot_check", "superior", "inspection", "walk_in", "other",
)  # fmt: skip
GRID_SOURCE = "grid"
# The appeal types: the record model's old choices, so every older issue keeps its meaning.
APPEALS: tuple[str, ...] = ("consult", "help", "complaint", "report", "suggestion")


def source_name(source_id: str | None, lang: str | None = None) -> str:
    """A default source's name (an issue without a source came from a grid worker)."""
    return t(f"reference.source.{source_id or GRID_SOURCE}", lang)


def ordered_records(kind: str) -> list[tuple[str, dict]]:
    """(id, fields) of the default ``source`` or ``appeal`` records, named in Chinese."""
    ids = {"source": SOURCES, "appeal": APPEALS}[kind]
    return [(rid, {"name": t(f"reference.{kind}.{rid}", "zh"), "order": n}) for n, rid in enumerate(ids, 1)]


def category_records() -> list[tuple[str, dict]]:
    """(id, fields) of every category, parents first, named in Chinese (what the server
    publishes)."""
    out: list[tuple[str, dict]] = []
    for order, top in enumerate(CATEGORIES, 1):
        out.append((top.id, {"name": category_name(top.id, "zh"), "order": order,
                             "deadline_days": top.deadline_days}))
        for j, slug in enumerate(top.children, 1):
            cid = f"{top.id}.{slug}"
            out.append((cid, {"name": category_name(cid, "zh"), "parent": top.id, "order": j}))
    return out


def deadline_days(category_id: str | None) -> int:
    """Working days allowed for a category (a child takes its parent's rule)."""
    top = (category_id or "").split(".", 1)[0]
    for c in CATEGORIES:
        if c.id == top:
            return c.deadline_days
    return DEFAULT_DEADLINE_DAYS
