"""The default reference data both ends start from: the category tree and the units.

One definition, so the server's seeded records and the app's built-in fallback (before its
first sync) use the same ids. Ids are short slugs (``infra``, ``infra.road``), which the record
model accepts for references; names are the Chinese the server publishes.
``deadline_days`` is the category's deadline rule: working days from dispatch to the deadline.
"""

from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    id: str
    name: str
    deadline_days: int
    children: tuple[tuple[str, str], ...]  # (slug, name); the child id is "<id>.<slug>"
    # Every tree ends with 其他 at the top; a top category with children ends them with its own 其他.


CATEGORIES: tuple[Category, ...] = (
    Category("infra", "基础设施", 10, (("road", "道路桥梁"), ("water", "供水"), ("power", "用电"),
                                       ("lighting", "路灯"), ("other", "其他"))),
    Category("env", "环境卫生", 7, (("garbage", "垃圾清运"), ("sewage", "污水"), ("noise", "噪音"),
                                    ("other", "其他"))),
    Category("livelihood", "民生保障", 5, (("elderly", "养老"), ("children", "儿童关爱"),
                                            ("medical", "看病就医"), ("allowance", "低保救助"),
                                            ("other", "其他"))),
    Category("safety", "平安建设", 3, (("fire", "消防"), ("traffic", "交通"), ("dispute", "矛盾纠纷"),
                                       ("other", "其他"))),
    Category("wish", "微心愿", 20, (("goods", "物品"), ("service", "服务"), ("study", "助学"),
                                    ("other", "其他"))),
    Category("other", "其他", 10, ()),  # no child: a second 其他 under 其他 says nothing more
)

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


def category_records() -> list[tuple[str, dict]]:
    """(id, fields) of every category, parents first."""
    out: list[tuple[str, dict]] = []
    for order, top in enumerate(CATEGORIES, 1):
        out.append((top.id, {"name": top.name, "order": order, "deadline_days": top.deadline_days}))
        for j, (slug, name) in enumerate(top.children, 1):
            out.append((f"{top.id}.{slug}", {"name": name, "parent": top.id, "order": j}))
    return out


def deadline_days(category_id: str | None) -> int:
    """Working days allowed for a category (a child takes its parent's rule)."""
    top = (category_id or "").split(".", 1)[0]
    for c in CATEGORIES:
        if c.id == top:
            return c.deadline_days
    return DEFAULT_DEADLINE_DAYS
