"""The state of one problem looked up by its public code (sync.public_code) on the village's
echo-wall page.

Built from the same facts as the wall, with only public things: the problem's state, the
dates, the category (with the wall's rule for care-tag categories) and the public reply only
when staff published one (in the wall's checked wording). No title, description, names, unit contacts or ids: the grid worker's own
wording was never checked by the publish guard.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

from sync.i18n import t
from sync.public_code import is_valid, normalize, public_code
from sync.reports.echo_wall import (
    EchoWall,
    date_text,
    lookup_form,
    page_head,
    public_item,
    village_people,
)
from sync.reports.model import Dataset, IssueFacts, label


@dataclass(frozen=True)
class LookupItem:
    """A problem found by its code, as the public may see it."""

    code: str
    category: str
    status: str
    reported_on: date | None
    resolved_on: date | None
    closed_on: date | None
    reply: str  # the published public text, else ""
    verdict: str  # the resident's re-check verdict as a phrase, else ""


def find_by_code(ds: Dataset, facts: list[IssueFacts], village_id: str, code: str) -> list[LookupItem]:
    """Issues of the village whose public code is ``code`` (normally one; two only if two
    issues of the village share a code, see sync.public_code)."""
    wanted = normalize(code)
    hits = [f for f in facts if f.village == village_id and normalize(public_code(f.id)) == wanted]
    if not hits:
        return []
    people = village_people(ds, village_id, {str(f.fields.get("reporter") or "") for f in hits})
    out = []
    for f in hits:
        item = public_item(f, ds, None, people)  # the wall's rules: category, dates, masked wording
        out.append(LookupItem(
            code=public_code(f.id), category=item.category, status=label("reports.status", f.state),
            reported_on=item.reported_on, resolved_on=item.resolved_on, closed_on=item.closed_on,
            reply=item.reply if f.published else "", verdict=item.verdict(),
        ))
    return out


def render_lookup(wall: EchoWall, code: str, items: list[LookupItem], wall_url: str, lookup_url: str) -> str:
    """The page after a lookup: what was found (or why nothing was), the form again, and the
    way back to the wall. Plain HTML, no script, every value escaped."""
    e = html.escape
    parts = page_head(wall, t("reports.lookup.title", village=wall.village))
    parts.append(lookup_form(lookup_url, code))
    if not is_valid(code):
        parts.append(f'<p class="empty notfound" id="lookup-result">{e(t("reports.lookup.bad_code"))}</p>')
    elif not items:
        parts.append(f'<p class="empty notfound" id="lookup-result">{e(t("reports.lookup.not_found", code=code.upper()))}</p>')
    for it in items:
        dates = [t(f"reports.wall.{name}", date=date_text(d))
                 for name, d in (("reported_on", it.reported_on), ("resolved_on", it.resolved_on),
                                 ("closed_on", it.closed_on)) if d]
        parts.append('<article class="found" id="lookup-result">')
        parts.append(f'<h2>{e(t("reports.lookup.found", code=it.code))}</h2>')
        parts.append(f'<p class="meta">{e(it.category)} · <span class="status">{e(it.status)}</span>'
                     f'{"".join(" · " + e(d) for d in dates)}</p>')
        parts.append(f'<p class="reply"><b>{e(t("reports.wall.reply"))}</b>'
                     f'{e(it.reply or t("reports.lookup.no_reply"))}</p>')
        if it.verdict:
            parts.append(f'<p class="verdict">{e(it.verdict)}</p>')
        parts.append("</article>")
    parts.append(f'<p><a href="{e(wall_url)}" id="back-to-wall">{e(t("reports.lookup.back"))}</a></p>')
    parts.append(f'<footer>{e(t("reports.wall.footer"))}</footer></main></body></html>')
    return "\n".join(parts)


def render_throttled(wall: EchoWall, minutes: int, wall_url: str) -> str:
    e = html.escape
    parts = page_head(wall, t("reports.lookup.title", village=wall.village))
    parts.append(f'<p class="empty notfound" id="lookup-result">{e(t("reports.lookup.throttled", minutes=minutes))}</p>')
    parts.append(f'<p><a href="{e(wall_url)}" id="back-to-wall">{e(t("reports.lookup.back"))}</a></p>')
    parts.append("</main></body></html>")
    return "\n".join(parts)
