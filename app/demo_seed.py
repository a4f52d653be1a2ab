"""A realistic demo grid made from code: a village, ~40 households with Chinese names and care
tags, a few months of visits and issues in several workflow states (with staff events), wishes,
and a few generated photos.

Everything older than a few days is applied as if pulled from the server (``apply_remote``);
the last couple of visits are local saves, so the outbox has something truthful to show.
Deterministic for a given ``rng_seed``.
"""

from __future__ import annotations

import io
import random
from datetime import datetime
from typing import Any

from sync import records as rec_mod
from sync import workflow as wf
from sync.changes import new_record
from sync.chinatime import china_time
from sync.clock import HybridClock
from sync.ids import new_id

DAY_MS = 86_400_000
# Who the demo device belongs to (demo data, not UI text).
DEMO_PROFILE = {"user_name": "张晓燕", "grid_name": "东风村第三网格", "village": "东风村"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["建国", "秀英", "桂兰", "玉珍", "德明", "志强", "春花", "国庆", "凤英", "海燕", "金山", "淑芬",
         "长生", "永福", "翠兰", "红梅", "立新", "文华", "明亮", "小芳", "宝林", "福贵", "兰芝", "树林"]
GIVEN_CHARS = "".join(sorted(set("".join(GIVEN)))) + "晓伟丽静敏杰磊娜霞军勇艳涛超波辉"
SEEN = ["屋内整洁，老人身体尚好", "院墙有裂缝，雨季需注意", "厨房燃气管老化", "孩子在家写作业，学习用品缺",
        "老人腿脚不便，行动需人照顾", "家中用电线路凌乱", "屋顶瓦片松动", "门前排水沟堵塞"]
SAID = ["希望村里多组织义诊", "问低保复核什么时候办", "反映路灯坏了好几天", "想了解医保报销政策",
        "邻里因宅基地边界有争议", "希望帮忙联系修屋顶", "孩子上学路远，希望有校车", "感谢网格员常来看望"]
# (title, category, appeal type, the unit (sync.reference.UNITS) an office would send it to)
PROBLEMS = [
    ("村口路灯不亮", "infra.lighting", "help", "town-power"),
    ("3组道路坑洼积水", "infra.road", "suggestion", "village-committee"),
    ("自来水水压不足", "infra.water", "help", "town-water"),
    ("垃圾清运不及时", "env.garbage", "complaint", "town-env"),
    ("生活污水直排河沟", "env.sewage", "report", "town-env"),
    ("低保复核进度咨询", "livelihood.allowance", "consult", "town-civil"),
    ("独居老人就医不便", "livelihood.medical", "help", "town-civil"),
    ("宅基地边界纠纷", "safety.dispute", "help", "town-safety"),
    ("养殖场噪音扰民", "env.noise", "complaint", "town-env"),
    ("电线私拉乱接有隐患", "safety.fire", "report", "town-power"),
    ("桥面护栏松动", "infra.road", "report", "village-committee"),
    ("留守儿童课后无人看管", "livelihood.children", "suggestion", "town-civil"),
]
# Problems that only some households would report (the rest: any household).
PROBLEM_TAGS = {"低保复核进度咨询": ("低保户", "特困供养"), "独居老人就医不便": ("独居老人",),
                "留守儿童课后无人看管": ("留守儿童",)}
# Staff's public wording for titles that name a care tag (the publish guard refuses those).
PUBLIC_TITLES = {
    "低保复核进度咨询": "救助政策咨询已答复",
    "独居老人就医不便": "老年人就医帮扶已落实",
    "留守儿童课后无人看管": "儿童课后看护已安排",
}
# (wish, the care tags of a household that would make it; empty: any household)
WISHES = [("想要一台收音机", ("独居老人", "空巢老人", "高龄老人")), ("希望有人帮忙理发", ("独居老人", "高龄老人")),
          ("孩子想要一套课外书", ("留守儿童",)), ("想要一副老花镜", ("独居老人", "空巢老人", "高龄老人")),
          ("希望有人教用智能手机", ("空巢老人", "独居老人")), ("想要一辆轮椅", ("残疾人", "高龄老人"))]
# Care tags that decide who lives in the household; the others fit any family.
ALONE_TAGS = ("独居老人", "特困供养")


def _photo(rng: random.Random) -> bytes:
    """A small generated picture (sky, ground, a house) so the demo has real thumbnails."""
    from PIL import Image, ImageDraw

    w, h = 800, 600
    im = Image.new("RGB", (w, h), (rng.randint(120, 180), rng.randint(170, 210), 235))
    d = ImageDraw.Draw(im)
    d.rectangle([0, h * 2 // 3, w, h], fill=(rng.randint(90, 130), rng.randint(120, 160), 70))
    x = rng.randint(80, 400)
    d.rectangle([x, 250, x + 280, 430], fill=(225, 215, 200), outline=(90, 70, 60), width=4)
    d.polygon([(x - 20, 250), (x + 140, 150), (x + 300, 250)], fill=(150, 50, 40))
    d.rectangle([x + 110, 330, x + 170, 430], fill=(110, 80, 50))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _voice(rng: random.Random, seconds: int = 4) -> bytes:
    """A short generated voice note (WAV, 8 kHz: rising and falling tones, like speech's
    pitch), so the demo's staff page has something to play. Each one differs (a blob belongs
    to the grid that sent it first: another grid may not name the same bytes)."""
    import math
    import struct

    from sync.voice import wav_bytes

    rate = 8000
    base = rng.uniform(140, 240)  # a float: two notes never share their bytes
    out = bytearray()
    for i in range(rate * seconds):
        sec = i / rate
        pitch = base + 60 * math.sin(2 * math.pi * 0.7 * sec)  # a voice's pitch wanders
        loud = 0.5 + 0.5 * math.sin(2 * math.pi * 3 * sec)  # syllables
        out += struct.pack("<h", int(6000 * loud * math.sin(2 * math.pi * pitch * sec)))
    return wav_bytes(bytes(out), rate)


def _care_tags(rng: random.Random, tags: list[str]) -> list[str]:
    """0-2 care tags that can be true of one household at once (one living arrangement)."""
    picked = rng.sample(tags, rng.choice([0, 0, 1, 1, 2]))
    shapes = [x for x in picked if x in (*ALONE_TAGS, "空巢老人", "留守儿童")]
    return sorted((x for x in picked if x not in shapes[1:]), key=tags.index)


def _family(rng: random.Random, head: str, tags: list[str], year: int) -> list[dict[str, Any]]:
    """The household's members, the head first (户主), with ages that fit the relations and
    the care tags: 独居老人 live alone, 空巢老人 without children, 留守儿童 with grandparents,
    a 高龄老人 household has someone aged 80 or more."""
    def person(relation: str, age: int, surname: str | None = None) -> dict[str, Any]:
        name = (surname or rng.choice(SURNAMES)) + rng.choice(GIVEN)
        return {"name": name, "relation": relation, "birth_year": year - age}

    old = "高龄老人" in tags
    if any(x in tags for x in ALONE_TAGS) or "空巢老人" in tags:
        age = rng.randint(80, 92) if old else rng.randint(62, 79)
        people = [{"name": head, "relation": "户主", "birth_year": year - age}]
        if "空巢老人" in tags and rng.random() < 0.7:
            people.append(person("配偶", max(60, age + rng.randint(-4, 3))))
        return people
    grandparents = "留守儿童" in tags
    if old:  # the head's parent is the 高龄老人
        parent_age = rng.randint(80, 92)
        age = parent_age - rng.randint(22, 30)
    else:
        age = rng.randint(52, 68) if grandparents else rng.randint(30, 64)
    people = [{"name": head, "relation": "户主", "birth_year": year - age}]
    if rng.random() < 0.85:
        people.append(person("配偶", max(20, age + rng.randint(-5, 4))))
    if old:
        people.append(person(rng.choice(["母亲", "父亲"]), parent_age, head[0]))
    if grandparents:  # the parents work away from home
        for _ in range(rng.randint(1, 2)):
            people.append(person(rng.choice(["孙子", "孙女"]), rng.randint(5, 14), head[0]))
        return people
    for _ in range(rng.randint(0, 2)):
        child_age = age - rng.randint(22, 32)
        if child_age < 1:
            break
        son = rng.random() < 0.5
        people.append(person("儿子" if son else "女儿", child_age, head[0]))
        if son and child_age >= 24 and rng.random() < 0.6:
            people.append(person("儿媳", child_age + rng.randint(-3, 2)))
            if child_age >= 26:
                people.append(person(rng.choice(["孙子", "孙女"]), rng.randint(1, child_age - 22), head[0]))
    return people


class _Seeder:
    def __init__(self, store: Any, grid_id: str, user_id: str, rng: random.Random,
                 now_ms: int) -> None:
        self.store = store
        self.grid = grid_id
        self.user = user_id
        self.rng = rng
        self.now = now_ms
        self.server = HybridClock("demo-server")  # staff actions come "from the server"
        self.pulled: list[dict] = []
        self.events: dict[str, list[dict]] = {}  # issue id -> its events so far, in order

    def record(self, kind: str, fields: dict[str, Any], at_ms: int, *, local: bool = False,
               actor: str | None = None, record_id: str | None = None) -> dict:
        rid = record_id or new_id(at_ms)
        clock = self.store.clock if local else self.server
        rec, change = new_record(kind, self.grid, fields, clock, actor or self.user,
                                         record_id=rid)
        if local:
            return self.store.save(change)
        self.pulled.append(rec)
        return rec

    def event(self, issue: dict, etype: str, data: dict[str, Any], at_ms: int, role: str,
              actor: str) -> dict:
        at = china_time(at_ms).isoformat(timespec="seconds")
        known = self.events.setdefault(issue["id"], [])
        rec, _change = wf.new_event(issue, etype, data, self.server, actor, role, at=at, after=known)
        self.pulled.append(rec)
        known.append(rec)
        return rec

    def photos(self, n: int, kind: str, owner: str, at_ms: int, local: bool = False) -> list[str]:
        from sync.photos import process_photo

        shas = []
        for _ in range(n):
            p = process_photo(_photo(self.rng))
            self.store.put_photo_file(p.sha256, p.jpeg, p.thumb)
            self.record("photo", {"sha256": p.sha256, "size": len(p.jpeg), "width": p.width,
                                  "height": p.height, "taken_at": at_ms,
                                  "attached_to": {"kind": kind, "id": owner}}, at_ms, local=local)
            shas.append(p.sha256)
        return shas

    def voice(self, kind: str, owner: str, at_ms: int) -> None:
        from sync.voice import check_voice

        note = check_voice(_voice(random.Random(owner)))  # its own rng: the seed stream stays as it was
        self.store.put_voice_file(note.sha256, note.data)
        self.record("voice", {"sha256": note.sha256, "size": note.size, "media_type": note.media_type,
                              "duration_ms": note.duration_ms, "recorded_at": at_ms,
                              "attached_to": {"kind": kind, "id": owner}}, at_ms)


# Who claims wishes in the demo (demo data): (name, kind)
CLAIMANTS = [("镇卫生院党支部", "party_member"), ("县供电公司", "unit"), ("村两委", "unit"), ("青年志愿服务队", "volunteer")]

# 联户 members of the demo village (demo data): (name, duty, uses the app, households looked after)
MEMBERS = [("李红军", "party_member", True, 8), ("赵桂芳", "party_member", False, 6),
           ("孙德明", "household_lead", True, 10)]


def _pairing(s: _Seeder, homes: list[dict], village: str, at_ms: int,
             prng: random.Random) -> dict[str, tuple[str, random.Random]]:
    """The register and who looks after which household (a few households stay without anyone,
    as in a real village); household id -> (member id, the rng that decides who came along).
    Its own rng: the rest of the demo stays what it was."""
    out: dict[str, tuple[str, random.Random]] = {}
    free = list(homes)
    prng.shuffle(free)
    for name, duty, app, n in MEMBERS:
        fields = {"name": name, "village": village, "duty": duty, "uses_app": app,
                  "phone": f"139{prng.randint(10_000_000, 99_999_999)}"}
        m = s.record("member", fields, at_ms)
        for h in free[:n]:
            s.record("pairing", {"member": m["id"], "household": h["id"]}, at_ms)
            out[h["id"]] = (m["id"], prng)
        free = free[n:]
    return out


def _meeting(s: _Seeder, homes: list[dict], village: str, members: list[str], now: int, user_id: str) -> None:
    """A 院坝会 nine days ago, to the 十有 standard, that raised a problem (demo data)."""
    day = china_time(now - 9 * DAY_MS).date().isoformat()
    at = int(datetime.fromisoformat(f"{day}T19:30:00+08:00").timestamp() * 1000)
    issue = s.record("issue", {"issue_kind": "problem", "title": "3组排水沟堵塞，雨天积水进屋",
                               "category": "infra.road", "appeal_type": "suggestion", "urgency": "urgent",
                               "reporter": user_id, "reporter_visibility": "named",
                               "description": "院坝会上群众提出：3组排水沟淤堵，雨天积水倒灌进屋。"}, at)
    s.event(issue, "report", {}, at, "grid_worker", user_id)
    guests = "、".join(h["fields"]["head"] for h in homes[:3])
    s.record("meeting", {
        "meeting_kind": "yard", "time": at, "place": "3组晒坝", "topic": "村道排水沟清淤与出工安排",
        "village": village, "recorder": user_id, "host": MEMBERS[0][0], "members": members,
        "guests": guests, "headcount": 26,
        "agenda": "一、通报3组排水沟淤堵情况\n二、商议清淤出工办法\n三、其他事项",
        "speeches": f"{homes[0]['fields']['head']}：雨天水漫进院子，老人出门不便。\n"
                    f"{MEMBERS[2][0]}：我带3组的党员先出工。",
        "decisions": "每户出工两天，村里负责材料和机械；12月中旬前完成清淤。",
        "follow_ups": f"{MEMBERS[2][0]}负责排工表；网格员把积水问题报镇里。",
        "raised": [issue["id"]],
    }, at + 3_600_000)


def seed_demo(store: Any, grid_id: str, user_id: str, village: str, *, households: int = 40,
              rng_seed: int = 20261124, months: int = 4, photos: int = 6,
              now_ms: int | None = None, staff_id: str = "staff-demo") -> dict[str, int]:
    """Fill ``store`` with a demo grid; returns counts per kind.

    ``village`` is the village's reference id (a short slug or UUIDv7) that households carry;
    ``staff_id`` the township staff user who accepts, dispatches and closes the demo issues.
    """
    rng = random.Random(rng_seed)
    now = now_ms if now_ms is not None else int(datetime.now().timestamp() * 1000)
    s = _Seeder(store, grid_id, user_id, rng, now)
    start = now - months * 30 * DAY_MS
    year = china_time(now).year
    tags = [t for t in rec_mod.CARE_TAGS if t != "其他"]
    used: set[str] = set()
    homes: list[dict] = []
    for i in range(households):
        head = rng.choice(SURNAMES) + rng.choice(GIVEN)
        while head in used:  # township scale: 50 x 24 names run out, make more
            head = rng.choice(SURNAMES) + rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS)
        used.add(head)
        care = _care_tags(rng, tags)
        members = _family(rng, head, care, year)
        fields: dict[str, Any] = {
            "village": village, "address": f"{i % 6 + 1}组{i // 6 * 2 + rng.randint(1, 2)}号",
            "head": head, "member_count": len(members), "members": members, "care_tags": care,
        }
        if rng.random() < 0.8:
            fields["phone"] = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
        homes.append(s.record("household", fields, start - rng.randint(1, 30) * DAY_MS))

    looked_after = _pairing(s, homes, village, start, random.Random(rng_seed + 1))

    # Visits: most households visited every few weeks; some overdue (visits due on 首页).
    reserve = min(2, photos)  # for today's unsynced visits
    photo_budget = photos - reserve
    visit_photos = photo_budget // 2
    for h in homes:
        t = start + rng.randint(0, 20) * DAY_MS
        while t < now - 2 * DAY_MS:
            rid = new_id(t)
            fields = {"household": h["id"], "visitor": user_id, "time": t,
                      "kind": rng.choice(["routine", "routine", "care", "follow_up"]),
                      "people_met": h["fields"]["head"], "seen": rng.choice(SEEN),
                      "said": rng.choice(SAID)}
            if h["id"] in looked_after and looked_after[h["id"]][1].random() < 0.4:
                fields["companion"] = looked_after[h["id"]][0]  # the member came along
            if visit_photos > 0 and rng.random() < 0.08:
                fields["photos"] = s.photos(1, "visit", rid, t)
                visit_photos -= 1
                photo_budget -= 1
            s.record("visit", fields, t, record_id=rid)
            t += rng.randint(18, 50) * DAY_MS

    # Issues in every state of the workflow.
    staff = staff_id  # who acts for the township on the demo issues
    for n, (title, cat, appeal, unit) in enumerate(PROBLEMS):
        at = start + rng.randint(5, months * 30 - 10) * DAY_MS
        fits = set(PROBLEM_TAGS.get(title, ()))
        h = rng.choice([x for x in homes if fits & set(x["fields"]["care_tags"])] or homes)
        fields = {"issue_kind": "problem", "title": title, "category": cat, "appeal_type": appeal,
                  "urgency": rng.choice(["normal", "normal", "urgent", "critical"]),
                  "household": h["id"], "reporter": user_id, "reporter_visibility": "named",
                  "description": f"{h['fields']['head']}家反映：{title}。"}
        rid = new_id(at)
        if photo_budget > 0 and n % 3 == 0:
            fields["photos"] = s.photos(1, "issue", rid, at)
            photo_budget -= 1
        issue = s.record("issue", fields, at, record_id=rid)
        if n == 0:  # the worker's voice note, played on the staff board
            s.voice("issue", rid, at)
        s.event(issue, "report", {}, at, "grid_worker", user_id)
        steps = n % 7  # 0 submitted .. 6 closed
        t = at
        flow = [("accept", {}), ("assign", {"unit": unit}),
                ("progress", {"note": "已安排人员现场查看"}), ("resolve", {"reply": "已处理完毕，请回访"}),
                ("recheck", {"solved": True, "satisfied": True}), ("close", {"outcome": "群众满意，销号"})]
        for etype, data in flow[:steps]:
            t += rng.randint(1, 6) * DAY_MS
            if etype == "assign":
                deadline = china_time(t + 10 * DAY_MS).date()
                data = {**data, "deadline": deadline.isoformat()}
            role = "grid_worker" if etype == "recheck" else "township_staff"
            s.event(issue, etype, data, min(t, now - DAY_MS), role, user_id if role == "grid_worker" else staff)
        if steps >= 5:  # re-checked or closed: staff put it on the village's echo wall (回音壁)
            public = PUBLIC_TITLES.get(title, title)  # a care tag never goes public (server's guard)
            s.event(issue, "publish", {"public_title": public,
                                       "public_text": f"{public}：已处理完毕，群众回访表示满意。"},
                    min(t + DAY_MS, now - DAY_MS // 2), "township_staff", staff)
    claimants = {name: s.record("claimant", {"name": name, "claimant_kind": kind}, start)["id"]
                 for name, kind in CLAIMANTS}
    for n, (title, fits) in enumerate(WISHES):
        at = start + rng.randint(5, months * 30 - 10) * DAY_MS
        h = rng.choice([x for x in homes if set(fits) & set(x["fields"]["care_tags"])] or homes)
        issue = s.record("issue", {"issue_kind": "wish", "title": title, "household": h["id"],
                                   "reporter": user_id, "reporter_visibility": "named",
                                   "category": "wish.goods"}, at)
        s.event(issue, "report", {}, at, "grid_worker", user_id)
        if n % 3 >= 1:
            who = rng.choice(["镇卫生院党支部", "县供电公司", "村两委"])
            s.event(issue, "claim", {"claimant": claimants[who], "by": who}, at + 2 * DAY_MS, "grid_worker", user_id)
        elif n == 0:  # on the village's echo wall, for people to come forward
            s.event(issue, "publish", {"public_title": title, "public_text": "这个微心愿还在等待认领，愿意帮忙的请联系网格员或村委会。"},
                    at + DAY_MS, "township_staff", staff)
        else:  # dispatched (派单) to the civil affairs office, like a problem
            deadline = china_time(at + 12 * DAY_MS).date().isoformat()
            s.event(issue, "assign", {"unit": "town-civil", "deadline": deadline}, at + DAY_MS, "township_staff", staff)
        if n % 3 == 2:
            s.event(issue, "fulfil", {"note": "已送到家中"}, at + 6 * DAY_MS, "grid_worker", user_id)

    _meeting(s, homes, village, sorted({m for m, _r in looked_after.values()}), now, user_id)

    store.apply_remote(s.pulled, None)
    # Two visits from today that have not been synced yet: the outbox is real.
    for h in rng.sample(homes, 2):
        t = now - rng.randint(1, 5) * 3_600_000
        rid = new_id(t)
        fields = {"household": h["id"], "visitor": user_id, "time": t, "kind": "routine",
                  "people_met": h["fields"]["head"], "seen": rng.choice(SEEN),
                  "said": rng.choice(SAID)}
        if reserve > 0:
            fields["photos"] = s.photos(1, "visit", rid, t, local=True)
            reserve -= 1
        s.record("visit", fields, t, local=True, record_id=rid)
    counts: dict[str, int] = {}
    for kind in rec_mod.RECORD_KINDS:
        counts[kind] = len(store.all(kind))
    return counts
