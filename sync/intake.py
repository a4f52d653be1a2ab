"""Problems that did not come from a grid worker (issue 14, "every channel in"): where such a
problem goes and how a row of a hotline system's export becomes an issue's fields. Pure: the
server's bulk import (``sync/server/intake.py``) and the staff screen's 登记 form both use it.

Routing: a problem goes to the grid of its household, else to a grid of its village (the
first by name when the village has several), so the grid worker of that grid pulls it and
does the 回头看.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sync.chinatime import CHINA_TZ
from sync.records import parse_time_ms

# Column headers as hotline and petition systems export them -> issue field (or a routing /
# event input: township, village, household address, reported time, anonymity). The first
# header found wins; ``--map field=header`` adds one.
HEADERS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "诉求标题", "工单标题", "主题", "事项", "问题"),
    "description": ("诉求内容", "内容", "问题描述", "来电内容", "描述", "详细内容", "反映内容"),
    "external_no": ("工单编号", "工单号", "编号", "受理编号", "件号", "信访件号", "来源编号"),
    "township": ("乡镇", "乡镇（街道）", "乡镇(街道)", "所属乡镇", "街道"),
    "village": ("村", "村（社区）", "村(社区)", "所属村", "村社区", "社区"),
    "address": ("地址", "详细地址", "事发地址", "门牌"),
    "contact_name": ("来电人", "诉求人", "联系人", "姓名", "信访人", "反映人"),
    "contact_phone": ("来电号码", "联系电话", "电话", "手机", "手机号"),
    "category": ("分类", "问题分类", "诉求类别", "类别"),
    "appeal_type": ("诉求类型", "类型"),
    "urgency": ("紧急程度", "缓急"),
    "reported_at": ("来电时间", "受理时间", "登记时间", "时间", "日期"),
    "anonymous": ("是否保密", "是否匿名", "保密"),
}
REQUIRED = ("title",)
URGENCY_WORDS = {"一般": "normal", "普通": "normal", "紧急": "urgent", "急": "urgent", "特急": "critical",
                 "特别紧急": "critical"}
YES_WORDS = frozenset({"是", "y", "yes", "true", "1", "保密", "匿名"})
_SPACES = re.compile(r"\s+")


def header_columns(header: list[str], extra: Mapping[str, str] | None = None) -> dict[str, int]:
    """field -> column index, from the header row (names compared without spaces); ``extra``
    maps a field to a header of this file (the ``--map`` option), tried first."""
    norm = [_SPACES.sub("", h or "") for h in header]
    cols: dict[str, int] = {}
    for fname, names in HEADERS.items():
        wanted = ([extra[fname]] if extra and fname in extra else []) + list(names)
        for n in wanted:
            n = _SPACES.sub("", n)
            if n in norm:
                cols[fname] = norm.index(n)
                break
    return cols


def pick_grid(village: str | None, household_grid: str | None,
              grids: Iterable[tuple[str, str | None, str]]) -> str | None:
    """The grid a problem goes to: its household's, else the first (by name) of its village's
    grids; ``grids`` are (id, village id, name). None when neither is known."""
    if household_grid:
        return household_grid
    of_village = sorted((name, gid) for gid, vid, name in grids if vid and vid == village)
    return of_village[0][1] if of_village else None


def match_name(text: str | None, named: Iterable[tuple[str, str]]) -> str | None:
    """The id whose name is ``text`` (spaces ignored), or None."""
    if not text:
        return None
    want = _SPACES.sub("", text)
    for rid, name in named:
        if _SPACES.sub("", name or "") == want:
            return rid
    return None


def clean_phone(text: str | None) -> str | None:
    """A phone number as exports write it (spaces, dashes, a trailing .0 from Excel)."""
    if not text:
        return None
    s = str(text).strip()
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return re.sub(r"[\s-]", "", s) if re.fullmatch(r"[\d\s+-]+", s) else s


def report_time(value: Any) -> str | None:
    """The reported time of an export row as an ISO string in China time, or None when the
    cell does not hold a time (the row is then refused by the caller)."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)
        return dt.isoformat(timespec="seconds")
    text = str(value).strip().replace("/", "-").replace("年", "-").replace("月", "-").replace("日", "")
    if len(text) == 16 and text[10] == " ":  # 2026-11-30 09:15 (no seconds)
        text += ":00"
    ms = parse_time_ms(text.replace(" ", "T", 1))
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, CHINA_TZ).isoformat(timespec="seconds")
