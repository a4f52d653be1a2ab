"""The publish guard (sync.public_guard): however a number, a name or a care tag is spelt,
it is found; ordinary public wording passes. Property tests with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.public_guard import People, care_words, find_leaks, normalize, refusal
from sync.records import CARE_TAGS

CN = "零一二三四五六七八九"
CN_BIG = "零壹贰叁肆伍陆柒捌玖"
SEPARATORS = [" ", "-", ".", "·", "—", "　", "\u200b", "_", "/", "，", "、", " - "]
PEOPLE = People.from_records([
    {"kind": "household", "fields": {"head": "刘大爷", "address": "东村3组12号",
                                    "members": [{"name": "刘小红"}, {"name": "欧阳明月"}]}},
    {"kind": "household", "fields": {"head": "王秀英", "address": "东村5组8号"}},
])


def spell_digit(d: str, style: str) -> str:
    if style == "full":
        return chr(ord("０") + int(d))
    if style == "cn":
        return CN[int(d)]
    if style == "big":
        return CN_BIG[int(d)]
    return d


@st.composite
def spelt(draw: st.DrawFn, digits: str) -> str:
    """``digits`` written as a person might: each digit ASCII, full-width or a Chinese
    numeral, with separators between some of them."""
    out = []
    for k, d in enumerate(digits):
        if k and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(spell_digit(d, draw(st.sampled_from(["ascii", "full", "cn", "big"]))))
    return "".join(out)


mobiles = st.builds(lambda second, rest: "1" + second + rest,
                    st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
landlines = st.builds(lambda area, num: "0" + area + num,
                      st.text("123456789", min_size=2, max_size=3), st.text("123456789", min_size=7, max_size=8))
ids18 = st.builds(lambda body, last: body + last, st.text("0123456789", min_size=17, max_size=17),
                  st.sampled_from("0123456789Xx"))
ids15 = st.text("0123456789", min_size=15, max_size=15)
prose = st.sampled_from(["已修好", "联系", "请找", "反映", "为民办实事", "", "居民说"])


@settings(max_examples=300, deadline=None)
@given(mobiles.flatmap(lambda n: spelt(n)), prose, prose)
def test_mobile_numbers_are_found_however_written(number: str, before: str, after: str) -> None:
    kinds = {x.kind for x in find_leaks(f"{before}{number}{after}")}
    assert kinds & {"phone", "number", "id_number"}, number


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["+86 ", "86-", "(+86)", "+８６ "]), mobiles.flatmap(lambda n: spelt(n)))
def test_mobile_with_country_code(prefix: str, number: str) -> None:
    assert find_leaks(f"电话{prefix}{number}"), prefix + number


@settings(max_examples=200, deadline=None)
@given(landlines, st.sampled_from(["", "(", "（"]), st.sampled_from(["", ")", "）", "-", " "]))
def test_landlines_with_area_code(number: str, open_: str, close: str) -> None:
    area_len = 3 if number[1] in "12" and len(number) in (10, 11) else 4
    written = f"{open_}{number[:area_len]}{close}{number[area_len:]}"
    assert {x.kind for x in find_leaks(f"办公室 {written}")} & {"landline", "number", "phone", "id_number"}, written


@settings(max_examples=200, deadline=None)
@given(st.one_of(ids18, ids15).flatmap(lambda n: spelt(n.upper()) if n[-1] not in "Xx" else
                                       spelt(n[:-1]).map(lambda s, x=n[-1]: s + x)))
def test_id_numbers_15_or_18_with_x(number: str) -> None:
    assert {x.kind for x in find_leaks(f"身份证：{number}")} & {"id_number", "number"}, number


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 999), st.sampled_from(["号", "栋", "幢", "单元", "室", "弄", "巷"]),
       st.sampled_from(["ascii", "full", "cn"]))
def test_house_numbers(n: int, unit: str, style: str) -> None:
    if style == "cn":  # positional: 十二, 一百零三
        from sync.public_guard import _cn_number
        written = next(w for w in _cn_words(n) if _cn_number(w) == str(n))
    else:
        written = "".join(spell_digit(d, style) for d in str(n))
    assert any(x.kind == "house_number" for x in find_leaks(f"住在{written}{unit}")), written + unit


def _cn_words(n: int) -> list[str]:
    units = [(100, "百"), (10, "十")]
    out, rest, zero = "", n, False
    for value, name in units:
        q, rest = divmod(rest, value)
        if q:
            out += ("零" if zero else "") + CN[q] + name
            zero = False
        elif out:
            zero = True
    if rest:
        out += ("零" if zero and out else "") + CN[rest]
    return [out, out.removeprefix("一") if out.startswith("一十") else out]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PEOPLE.names)), st.data())
def test_names_found_with_anything_between_the_characters(name: str, data: st.DataObject) -> None:
    gaps = [data.draw(st.sampled_from(["", " ", "·", "\u200b", "　", "*", "-"])) for _ in name]
    written = "".join(ch + gap for ch, gap in zip(name, gaps, strict=True))
    if data.draw(st.booleans()):
        written = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in written)
    leaks = find_leaks(f"感谢{written}的配合", PEOPLE)
    assert any(x.kind == "name" and x.text == name for x in leaks), written


@given(st.sampled_from([t for t in CARE_TAGS if t != "其他"]))
def test_every_care_tag_of_the_schema_is_refused(tag: str) -> None:
    assert any(x.kind == "care_tag" for x in find_leaks(f"这户是{tag}，已上门")), tag


def test_short_forms_of_care_tags() -> None:
    for word in ("独居", "低保", "空巢", "留守", "残疾", "特困", "五保"):
        assert word in care_words()
        assert find_leaks(f"该户属于{word}对象")


def test_a_found_tag_is_told_once() -> None:
    assert [x.text for x in find_leaks("独居老人")] == ["独居老人"]


SAFE = st.lists(st.sampled_from([
    "路灯已修好", "镇村建办", "更换路灯两盏", "3组", "夜间照明恢复", "2026年3月12日", "3月12号",
    "共修路120米", "热线12345", "第5号文件", "统一号召", "为民办实事", "欢迎村民监督", "。", "，",
    "党员志愿者", "十一月", "一起", "百姓",
]), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(SAFE)
def test_ordinary_public_wording_passes(text: str) -> None:
    assert find_leaks(text, PEOPLE) == [], text


def test_refusal_is_one_line_naming_what() -> None:
    msg = refusal("路灯修好了", "刘大爷 电话 138 1234 5678", PEOPLE)
    assert msg and "\n" not in msg and "刘大爷" in msg and "13812345678" in msg
    assert refusal("路灯修好了", "镇村建办已更换路灯。", PEOPLE) is None


def test_normalize_reads_numbers_as_people_do() -> None:
    assert normalize("一三八 一二三四 五六七八") == "13812345678"
    assert normalize("十二号") == "12号" and normalize("一百零三室") == "103室"
    assert normalize("１３８－１２３４") == "1381234"
