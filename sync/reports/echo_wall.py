"""回音壁 (echo wall): what residents may see, as one structure used by the web page and the PDF.

Only issues that staff published (a ``publish`` event not followed by ``unpublish``) appear,
and only in staff's public wording. The public item has no field that could carry a
resident's name, phone, address, house number, care tags or the reporter, so neither the
page nor the PDF can show them. The server refuses a publish whose wording fails the publish
guard (sync.public_guard); as a last line for wording published before that, the village's
residents' names and addresses and anything shaped like a phone or ID number are masked, and
wording that still fails the guard is withheld.

Items and photos carry opaque public ids (an HMAC of the internal id with a key the server
keeps), never an internal issue id or photo hash. Photos are served rebuilt from their pixels
(sync.photos.public_jpeg), so no metadata reaches the public.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sync.chinatime import china_today
from sync.hashes import is_sha256
from sync.i18n import t
from sync.public_guard import People, find_leaks
from sync.reports.model import Dataset, IssueFacts, all_facts, label
from sync.workflow import OPEN_WISH_STATES

MASK = "＊＊"
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID_CARD_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# Without a server key (an export made on a PC) the ids are opaque for this process only.
_PROCESS_KEY = secrets.token_bytes(32)


def public_id(key: bytes | None, internal_id: str) -> str:
    """A stable opaque id for the public: HMAC-SHA256 of the internal id, 16 hex digits."""
    return hmac.new(key or _PROCESS_KEY, internal_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class PublicItem:
    """One line of the echo wall: only public facts."""

    public_id: str  # opaque (public_id()); never the internal issue id
    title: str
    category: str
    status: str
    reported_on: date | None
    resolved_on: date | None
    closed_on: date | None
    reply: str
    solved: str  # 已解决 / 未解决 / "" (not re-checked yet)
    satisfied: str  # 满意 / 不满意 / ""
    photos: tuple[str, ...] = ()  # opaque public ids of after-photos (EchoWall.photo_sha maps them)
    open_wish: bool = False  # a wish nobody has claimed yet: the page asks people to come forward

    def dates(self) -> list[str]:
        """反映/办结/销号 dates, each as a phrase (the page and the PDF write the same)."""
        return [t(f"reports.wall.{name}", date=date_text(d))
                for name, d in (("reported_on", self.reported_on), ("resolved_on", self.resolved_on),
                                ("closed_on", self.closed_on)) if d]

    def verdict(self) -> str:
        """The resident's re-check verdict as a phrase, or "" when there is none."""
        v = "，".join(x for x in (self.solved, self.satisfied) if x)
        return t("reports.wall.verdict", verdict=v) if v else ""


# the open problem states, as residents see them grouped (the order of the page)
OPEN_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("waiting", frozenset({"submitted", "accepted"})),  # 待受理
    ("working", frozenset({"assigned", "in_progress"})),  # 办理中
    ("recheck", frozenset({"resolved"})),  # 已办结，待回访
    ("closing", frozenset({"rechecked"})),  # 已回访，待销号
)


@dataclass(frozen=True)
class OpenCounts:
    """Open problems of a village by group; ``closed_year``: closed (销号) this year."""

    groups: dict[str, int]
    closed_year: int

    @property
    def open(self) -> int:
        return sum(self.groups.values())

    def text(self) -> str:
        parts = "，".join(t(f"reports.lookup.open.{g}", n=self.groups.get(g, 0)) for g, _ in OPEN_GROUPS)
        return t("reports.lookup.open", n=self.open, parts=parts, closed=self.closed_year)


def open_counts(facts: list[IssueFacts], village_id: str, today: date) -> OpenCounts:
    """Counts over every problem of the village (published or not)."""
    groups = {g: 0 for g, _ in OPEN_GROUPS}
    closed = 0
    for f in facts:
        if f.kind == "wish" or f.village != village_id:
            continue
        for g, states in OPEN_GROUPS:
            if f.state in states:
                groups[g] += 1
        if f.state == "closed" and f.closed_at and f.closed_at.date().year == today.year:
            closed += 1
    return OpenCounts(groups, closed)


@dataclass
class EchoWall:
    village_id: str
    village: str
    township: str
    as_of: date
    items: list[PublicItem] = field(default_factory=list)
    photo_sha: dict[str, str] = field(default_factory=dict)  # public photo id -> sha256 (server only)
    counts: OpenCounts | None = None  # every problem of the village, published or not

    def heading(self) -> str:
        return t("reports.wall.heading", village=self.village)

    def summary(self) -> str:
        done = sum(1 for i in self.items if i.resolved_on)
        sat = sum(1 for i in self.items if i.satisfied == t("reports.verdict.satisfied"))
        return t("reports.wall.summary", n=len(self.items), done=done, satisfied=sat)


def village_people(ds: Dataset, village_id: str, reporters: Iterable[str] = (),
                   contacts: Iterable[str] = ()) -> People:
    """Everybody the guard must know for a village: its households' heads, members and
    addresses, the reporters (user ids) of its issues and the residents who raised them by
    another channel (their ``contact_name``)."""
    households = [h for h in ds.households
                  if (h.get("fields") or {}).get("village") == village_id
                  or ds.village_of_grid(h.get("grid")) == village_id]
    users = ds.ref.get("user", {})
    names = [str(users[r].get("name") or "") for r in reporters if r in users]
    return People.from_records(households, names + [c for c in contacts if c])


def scrub(text: str, private: list[str] | People) -> str:
    """Mask private strings (or a People's names and addresses), phone and ID-card numbers."""
    if isinstance(private, People):
        private = sorted(private.names | private.addresses, key=len, reverse=True)
    for s in private:
        text = text.replace(s, MASK)
    text = _PHONE_RE.sub(MASK, text)
    return _ID_CARD_RE.sub(MASK, text)


def _public_text(text: str, people: People) -> str | None:
    """``text`` masked; None when it still fails the publish guard (then it is withheld)."""
    masked = scrub(text, people)
    return None if find_leaks(masked, people) else masked


def _verdict(f: IssueFacts) -> tuple[str, str]:
    if not f.rechecks:
        return "", ""
    last = f.rechecks[-1].data
    solved, satisfied = last.get("solved"), last.get("satisfied")
    s = "" if solved is None else t("reports.verdict.solved" if solved else "reports.verdict.not_solved")
    m = "" if satisfied is None else t("reports.verdict.satisfied" if satisfied else "reports.verdict.not_satisfied")
    return s, m


def public_item(f: IssueFacts, ds: Dataset, key: bytes | None = None, people: People | None = None) -> PublicItem:
    if people is None:
        people = village_people(ds, f.village, [str(f.fields.get("reporter") or "")],
                                [str(f.fields.get("contact_name") or "")])
    solved, satisfied = _verdict(f)
    cat = ds.category_label(f.category) if f.category else t("reports.wall.no_category")
    if find_leaks(cat):  # 民生保障/低保救助 would tell a care status: the public sees 民生保障
        cat = cat.split("/", 1)[0] if "/" in cat and not find_leaks(cat.split("/", 1)[0]) else t("reports.wall.no_category")
    default_title = t("reports.wall.default_title", category=cat)
    title = _public_text(f.public_title, people) if f.public_title else default_title
    reply = _public_text(f.public_text, people)
    return PublicItem(
        public_id=public_id(key, f.id),
        title=title or default_title,
        category=cat,
        status=label("reports.status", f.state),
        reported_on=f.created_at.date() if f.created_at else None,
        resolved_on=f.resolved_at.date() if f.resolved_at else None,
        closed_on=f.closed_at.date() if f.closed_at and f.state == "closed" else None,
        reply=t("public.withheld") if reply is None else reply,
        solved=solved,
        satisfied=satisfied,
        photos=tuple(public_id(key, p) for p in f.public_photos if is_sha256(p)),
        open_wish=f.kind == "wish" and f.state in OPEN_WISH_STATES,
    )


def build_echo_wall(
    ds: Dataset, village_id: str, as_of: date | None = None, facts: list[IssueFacts] | None = None,
    key: bytes | None = None,
) -> EchoWall:
    """The published issues of one village, most recently reported first. ``key``: the
    server's secret for the opaque public ids."""

    facts = all_facts(ds) if facts is None else facts
    shown = [f for f in facts if f.published and f.village == village_id]
    people = village_people(ds, village_id, {str(f.fields.get("reporter") or "") for f in shown},
                            {str(f.fields.get("contact_name") or "") for f in shown})
    pairs = [(f, public_item(f, ds, key, people)) for f in shown]
    pairs.sort(key=lambda p: (p[1].reported_on or date.min, p[0].id), reverse=True)
    photo_sha = {public_id(key, p): p for f, _ in pairs for p in f.public_photos if is_sha256(p)}
    today = as_of or china_today()
    return EchoWall(
        village_id=village_id,
        village=ds.name("village", village_id),
        township=ds.township_name(),
        as_of=today,
        items=[item for _, item in pairs],
        photo_sha=photo_sha,
        counts=open_counts(facts, village_id, today),
    )


# ---------------------------------------------------------------- HTML


def date_text(d: date | None) -> str:
    return t("reports.date", y=d.year, m=d.month, d=d.day) if d else ""


PAGE_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;padding:0 12px 24px;color:#1a1a1a;background:#f6f6f2;line-height:1.6;font-size:17px}
header{padding:16px 0 8px;border-bottom:3px solid #b22222;margin-bottom:12px}
h1{font-size:1.5em;margin:0;color:#b22222}
.sub{color:#555;font-size:.9em;margin:4px 0 0}
main{max-width:760px;margin:0 auto}
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 14px;margin:0 0 12px}
h2{font-size:1.15em;margin:0 0 4px}
.meta{color:#555;font-size:.85em;margin:0 0 6px}
.status{display:inline-block;padding:0 6px;border-radius:4px;background:#eef5ee;color:#1d6b2a}
.reply{margin:6px 0;white-space:pre-wrap}
.verdict{font-weight:bold;color:#1d4f91;margin:4px 0 0}
.photos a{margin-right:10px}
.empty{color:#555;padding:24px 0}
.counts{background:#fff8e6;border:1px solid #e8d9a8;border-radius:6px;padding:8px 12px;margin:0 0 12px}
form.lookup{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:0 0 12px}
form.lookup input{font-size:1.1em;padding:6px;width:11em;letter-spacing:.1em;text-transform:uppercase}
form.lookup button{font-size:1em;padding:6px 14px;margin-left:6px}
.hint{color:#555;font-size:.85em;margin:4px 0 0}
.found{border-left:4px solid #1d6b2a}
.notfound{border-left:4px solid #b22222}
.band{color:#a0522d;font-size:1.2em;margin:8px 0 2px}
article.wish{border-left:4px solid #e0a040}
footer{color:#777;font-size:.8em;margin-top:20px;text-align:center}
@media print{
 @page{size:A4;margin:15mm}
 body{background:#fff;font-size:12pt;padding:0}
 article{border:0;border-bottom:1px solid #999;border-radius:0;break-inside:avoid;page-break-inside:avoid}
 .photos,form.lookup{display:none}
 a{color:inherit;text-decoration:none}
}
"""


def page_head(wall: EchoWall, title: str) -> list[str]:
    e = html.escape
    return [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{PAGE_CSS}</style></head><body><main>",
        f"<header><h1>{e(wall.heading())}</h1>",
        f'<p class="sub">{e(wall.township)} · {e(t("reports.wall.updated", date=date_text(wall.as_of)))}</p>',
        f'<p class="sub">{e(wall.summary())}</p></header>',
    ]


def lookup_form(action: str, value: str = "") -> str:
    """The 查询码 form: a plain GET form (the page has no script)."""
    e = html.escape
    return (
        f'<form class="lookup" method="get" action="{e(action)}" role="search">'
        f'<label for="code">{e(t("reports.lookup.label"))}</label> '
        f'<input id="code" name="code" value="{e(value)}" maxlength="20" autocomplete="off" '
        f'placeholder="{e(t("reports.lookup.placeholder"))}">'
        f'<button type="submit">{e(t("reports.lookup.button"))}</button>'
        f'<p class="hint">{e(t("reports.lookup.hint"))}</p></form>'
    )


def render_html(wall: EchoWall, photo_url: str | None = None, lookup_url: str | None = None) -> str:
    """The resident-facing page: plain HTML, no script, every value escaped.

    ``photo_url`` is a format string with ``{photo}`` (the photo's opaque public id); without it
    photos are not linked. ``lookup_url``: where the 查询码 form goes (no form without it).
    """
    e = html.escape
    parts = page_head(wall, wall.heading())
    if wall.counts is not None:
        parts.append(f'<p class="counts" id="open-counts">{e(wall.counts.text())}</p>')
    if lookup_url:
        parts.append(lookup_form(lookup_url))
    if not wall.items:
        parts.append(f'<p class="empty">{e(t("reports.wall.empty"))}</p>')
    wishes = [it for it in wall.items if it.open_wish]
    if wishes:  # open wishes first, as a call to come forward; then what was done
        parts.append(f'<section class="wishes"><h2 class="band">{e(t("reports.wall.open_wishes", n=len(wishes)))}</h2>')
        parts.append(f'<p class="sub">{e(t("reports.wall.open_wishes_hint"))}</p>')
        for it in wishes:
            meta = [e(it.category), f'<span class="status">{e(it.status)}</span>', *map(e, it.dates())]
            parts.append(f'<article class="wish" id="i-{e(it.public_id)}"><h2>{e(it.title)}</h2>')
            parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
            if it.reply:
                parts.append(f'<p class="reply">{e(it.reply)}</p>')
            parts.append("</article>")
        parts.append("</section>")
    for it in (x for x in wall.items if not x.open_wish):
        meta = [e(it.category), f'<span class="status">{e(it.status)}</span>', *map(e, it.dates())]
        parts.append(f'<article id="i-{e(it.public_id)}"><h2>{e(it.title)}</h2>')
        parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
        if it.reply:
            parts.append(f'<p class="reply"><b>{e(t("reports.wall.reply"))}</b>{e(it.reply)}</p>')
        if verdict := it.verdict():
            parts.append(f'<p class="verdict">{e(verdict)}</p>')
        if it.photos and photo_url:
            links = " ".join(
                f'<a href="{e(photo_url.format(photo=p))}">{e(t("reports.wall.photo", n=k))}</a>'
                for k, p in enumerate(it.photos, start=1)
            )
            parts.append(f'<p class="photos">{links}</p>')
        parts.append("</article>")
    parts.append(f'<footer>{e(t("reports.wall.footer"))}</footer></main></body></html>')
    return "\n".join(parts)


def render_not_found(village_id: str) -> str:
    e = html.escape
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(t('reports.wall.not_found_title'))}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main><header><h1>{e(t('reports.wall.not_found_title'))}</h1></header>"
        f"<p>{e(t('reports.wall.not_found', village=village_id))}</p></main></body></html>"
    )
