"""The publish guard: may this text go on the public echo wall?

One guard for every way a publish can happen: the staff curation screen (app), the sync API
and bundle import (the server refuses a ``publish`` event whose public wording fails it) and,
as a last line, the echo-wall page itself (it withholds wording that fails it). It knows:

- every registered person of the village: household heads and members, the households'
  addresses and phones (:class:`People`, built from household records);
- the care-tag words of the record schema (``sync.records.CARE_TAGS``) and their everyday
  short forms (独居, 低保 ...);
- ID numbers (15 digits, or 17 digits and a check digit or X), mobile numbers (11 digits,
  with or without +86), landlines with an area code, and house numbers (12号, 3栋, 201室 ...),
  however they are written: spaces, dots, dashes, brackets or zero-width characters between
  the digits, full-width digits, Chinese numerals (一二三, 壹贰叁, 十二号).

Everything is compared after :func:`normalize`, so a spelling that a person reads as the
number is read as the number here too. The guard is deliberately strict: a public text rarely
needs a long number or a house number, and staff can always reword (the message says what).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sync.i18n import t
from sync.records import CARE_TAGS

# Care tags that are no private fact about anybody.
_NOT_PRIVATE_TAGS = ("其他",)
# Everyday short forms of the care tags (what staff would actually type).
_SHORT_FORMS = {
    "独居老人": ("独居",), "空巢老人": ("空巢",), "高龄老人": ("高龄",), "留守儿童": ("留守",),
    "残疾人": ("残疾", "残障"), "低保户": ("低保",), "特困供养": ("特困", "五保"),
    "脱贫监测户": ("监测户", "贫困户", "返贫"),
}  # fmt: skip

_CN_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "洞": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "两": 2, "兩": 2, "贰": 2,
    "貳": 2, "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_RUN = re.compile("[" + "".join(_CN_DIGITS) + "".join(_CN_UNITS) + "]+")
# What people put between digits: spaces, dots, dashes, brackets, slashes, stars ...
_SEP = r"[\s.\-_·•/\\,，、()\[\]（）【】—–~+:：*'\"|#]"
_BETWEEN_DIGITS = re.compile(rf"(?<=\d){_SEP}+(?=[\dXx])")
_DIGIT_RUN = re.compile(r"(?<!\d)(\d+)([Xx])?(?!\d)")
_PHONE_WORDS = re.compile(r"(电话|手机|联系|号码|tel|phone|call|微信)", re.IGNORECASE)
# 12号 / 3栋 / 2单元 / 201室 / 5弄 / 8巷 / 门牌3; not 3月12号 (a date), 5号线, 3号文件 ...
_HOUSE = re.compile(r"(?<![月第\d])\d+(?:号(?![线文令码机召])|號|栋|棟|幢|单元|單元|室|弄|巷)|门牌\D{0,3}\d+")
# Squeezing for names and addresses: drop everything that is not a letter or a digit.
_NOT_WORD = re.compile(r"[\W_]+")


def _cn_number(run: str) -> str:
    """一三八 -> 138 (digit by digit); 十二 -> 12, 二十 -> 20, 一百零三 -> 103 (positional)."""
    if not any(ch in _CN_UNITS for ch in run):
        return "".join(str(_CN_DIGITS[ch]) for ch in run)
    total, cur = 0, 0
    for ch in run:
        if ch in _CN_UNITS:
            total += (cur or 1) * _CN_UNITS[ch]
            cur = 0
        else:
            cur = _CN_DIGITS[ch]
    return str(total + cur)


def normalize(text: str) -> str:
    """The text as the guard reads it: NFKC (full-width to ASCII), invisible characters
    dropped, Chinese numerals as digits, separators between digits removed."""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Mn") or ch in "\n\t")
    text = _CN_RUN.sub(lambda m: _cn_number(m.group(0)), text)
    return _BETWEEN_DIGITS.sub("", text)


def squeeze(text: str) -> str:
    """normalize, then only letters and digits (lower case): 张 三、张·三 and 张三 are one."""
    return _NOT_WORD.sub("", normalize(text)).lower()


def _squeeze_raw(text: str) -> str:
    """Like squeeze but without reading numerals (a name such as 王三一 stays itself)."""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Mn"))
    return _NOT_WORD.sub("", text).lower()


def care_words() -> tuple[str, ...]:
    """The care-tag words the guard refuses, longest first (schema tags and short forms)."""
    words = {tag for tag in CARE_TAGS if tag not in _NOT_PRIVATE_TAGS}
    for tag in list(words):
        words.update(_SHORT_FORMS.get(tag, ()))
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


@dataclass(frozen=True)
class Leak:
    """One private thing found: ``kind`` (name, address, care_tag, id_number, phone,
    landline, number, house_number) and the text as the guard read it."""

    kind: str
    text: str


@dataclass(frozen=True)
class People:
    """What the guard knows of a village's residents (from its household records)."""

    names: frozenset[str] = field(default_factory=frozenset)
    addresses: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], extra_names: Iterable[str] = ()) -> People:
        """From household records (other kinds are ignored): heads, members, addresses.
        ``extra_names``: more people (the reporter, for example)."""
        names: set[str] = set(extra_names)
        addresses: set[str] = set()
        for rec in records:
            if rec.get("kind") != "household":
                continue
            f = rec.get("fields") or {}
            names.add(str(f.get("head") or ""))
            for m in f.get("members") or ():
                if isinstance(m, Mapping):
                    names.add(str(m.get("name") or ""))
            addresses.add(str(f.get("address") or ""))
        # one character would match half of every text; names have two or more
        return cls(
            names=frozenset(n.strip() for n in names if len(_squeeze_raw(n)) >= 2),
            addresses=frozenset(a.strip() for a in addresses if len(squeeze(a)) >= 3),
        )

    @cached_property
    def _prepared(self) -> tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]:
        """Names and addresses squeezed once (a wall page checks many texts against them)."""
        names = tuple((n, _squeeze_raw(n), squeeze(n)) for n in sorted(self.names))
        return names, tuple((a, squeeze(a)) for a in sorted(self.addresses))


def _numbers(norm: str) -> list[Leak]:
    out = []
    for m in _DIGIT_RUN.finditer(norm):
        digits, x = m.group(1), m.group(2)
        n = len(digits)
        kind = None
        if (x and n == 17) or n in (15, 18):
            kind = "id_number"
        elif n == 11 and re.match(r"1[3-9]", digits):
            kind = "phone"
        elif n == 13 and re.match(r"861[3-9]", digits):
            kind = "phone"
        elif 10 <= n <= 12 and digits.startswith("0"):
            kind = "landline"
        elif n >= 10:
            kind = "number"  # a long number is an ID, a phone, a bank card ... spelt oddly
        elif 7 <= n <= 8 and _PHONE_WORDS.search(norm[max(0, m.start() - 8) : m.start()]):
            kind = "phone"  # a local number without area code, introduced as a phone
        if kind:
            out.append(Leak(kind, m.group(0)))
    return out


def find_leaks(text: str, people: People | None = None) -> list[Leak]:
    """Everything private in ``text`` (empty: the text may be published)."""
    if not text:
        return []
    norm = normalize(text)
    leaks = _numbers(norm)
    leaks += [Leak("house_number", m.group(0)) for m in _HOUSE.finditer(norm)]
    sq, raw = squeeze(text), _squeeze_raw(text)
    rest = sq
    for w in care_words():  # longest first; a found word is cut out so 独居 is not told twice
        if (sw := squeeze(w)) in rest:  # squeezed like the text: 五星级 reads as 5星级 in both
            leaks.append(Leak("care_tag", w))
            rest = rest.replace(sw, "|")
    if people is not None:
        names, addresses = people._prepared
        leaks += [Leak("name", n) for n, n_raw, n_sq in names if n_raw in raw or n_sq in sq]
        leaks += [Leak("address", a) for a, a_sq in addresses if a_sq in sq]
    seen: set[Leak] = set()
    return [x for x in leaks if not (x in seen or seen.add(x))]


def describe(leaks: Iterable[Leak], lang: str | None = None) -> str:
    """What was found, for people: 姓名「张三」、手机号「13812345678」."""
    return "、".join(t("public.leak.item", lang=lang, kind=t(f"public.kind.{x.kind}", lang=lang), text=x.text)
                    for x in leaks)


def refusal(title: str, text: str, people: People | None = None, lang: str | None = None) -> str | None:
    """None when the public title and text may be published; else the one-line reason."""
    leaks = find_leaks(f"{title}\n{text}", people)
    if not leaks:
        return None
    return t("public.refused", lang=lang, what=describe(leaks, lang))
