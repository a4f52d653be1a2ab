"""A starter pack's payload: every record of a scope, columnar, dictionary-coded, compressed.

A new device would otherwise pull a grid's years of records page by page as JSON documents
(~119 bytes each on the wire after gzip). Here records are grouped by kind, each field becomes
one column (a list of the values of the records that have it), repeated strings (grid and
village ids, visitors, categories, stamps' nodes) become a dictionary and small indexes, ids
and stamps are split into their parts, and the whole is compressed with lzma (zlib as the
cheaper fallback). ``decode(encode(records)) == records``: the device applies exactly the
documents the pull would have sent, through the same replica path.

Layout of the uncompressed payload (UTF-8 JSON)::

    {"v": 1, "kinds": {kind: block}}
    block = {"n": records, "id": col, "grid": col, "seq": col,
             "fk": col of field-name-set indexes, "fks": [[name...]...], "f": {name: col},
             "sk": ..., "sks": ..., "s": {name: col of indexes into "st" (1-based)},
             "bk": ..., "bks": ..., "b": {name: the same for "bases", 0 for null},
             "st": stamps as {"w": wall deltas, "c": counters, "n": col of nodes},
             "x": {row: {other top-level keys}}}
    col = {"v": [values]} | {"d": [distinct values], "i": [indexes]} | {"z": [deltas of ints]}

The first byte of the compressed payload names the codec: ``x`` lzma, ``z`` zlib.
Stdlib only (a low module: both the server and the device use it).
"""

from __future__ import annotations

import json
import lzma
import re
import zlib
from typing import Any

VERSION = 1
CODECS = {"lzma": b"x", "zlib": b"z"}
MAX_INFLATED = 512 * 1024 * 1024  # a payload that inflates past this is refused (a bomb)
_STAMP = re.compile(r"^([0-9]{13})-([0-9a-f]{4})-(.+)$")
_BASE = ("id", "kind", "grid", "fields", "stamps", "seq")


class SnapshotError(ValueError):
    """The payload is not a snapshot this code can read (``code`` for machines)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


# ---- columns ---------------------------------------------------------------------------------


def _col(values: list[Any]) -> dict[str, Any]:
    if values and all(type(v) is int for v in values):
        return {"z": [b - a for a, b in zip([0, *values], values, strict=False)]}
    if values and all(isinstance(v, str) for v in values):
        distinct = list(dict.fromkeys(values))
        if len(distinct) * 2 <= len(values):
            index = {v: i for i, v in enumerate(distinct)}
            return {"d": distinct, "i": [index[v] for v in values]}
    return {"v": values}


def _uncol(col: dict[str, Any]) -> list[Any]:
    if "z" in col:
        out, acc = [], 0
        for d in col["z"]:
            acc += d
            out.append(acc)
        return out
    if "d" in col:
        d = col["d"]
        return [d[i] for i in col["i"]]
    return list(col["v"])


def _keysets(dicts: list[dict]) -> tuple[list[int], list[list[str]]]:
    sets: dict[tuple[str, ...], int] = {}
    refs = [sets.setdefault(tuple(d), len(sets)) for d in dicts]
    return refs, [list(k) for k in sets]


def _is_stamp(s: Any) -> bool:
    return isinstance(s, str) and _STAMP.match(s) is not None


def _deltas(values: list[int]) -> dict[str, list[int]]:
    return {"z": [b - a for a, b in zip([0, *values], values, strict=False)]}


def _map_cols(maps: list[dict], index: dict[str, int]) -> tuple[dict, list[list[str]], dict]:
    """Maps of field -> stamp (or None) as a name-set column and one index column per field."""
    refs, sets = _keysets(maps)
    cols: dict[str, list[int]] = {}
    for d in maps:
        for name, s in d.items():
            cols.setdefault(name, []).append(0 if s is None else index[s])
    return _col(refs), sets, {name: _deltas(v) for name, v in cols.items()}


def _unmap(b: dict[str, Any], keys: str, sets: str, cols: str, table: list[str | None]) -> list[dict]:
    it = {name: iter(_uncol(c)) for name, c in b[cols].items()}
    return [{name: table[next(it[name])] for name in b[sets][k]} for k in _uncol(b[keys])]


def _block(recs: list[dict]) -> dict[str, Any]:
    fields = [r.get("fields") or {} for r in recs]
    stamps = [r.get("stamps") or {} for r in recs]
    refs, sets = _keysets(fields)
    cols: dict[str, list[Any]] = {}
    for d in fields:
        for name, v in d.items():
            cols.setdefault(name, []).append(v)
    out: dict[str, Any] = {
        "n": len(recs),
        "id": _col([r["id"] for r in recs]),
        "grid": _col([r.get("grid") for r in recs]),
        "seq": _col([r.get("seq") for r in recs]),
        "fk": _col(refs), "fks": sets,
        "f": {name: _col(v) for name, v in cols.items()},
    }
    handled = _BASE
    if all(_is_stamp(s) for d in stamps for s in d.values()):
        # Every stamp once (sorted, split into wall/counter/node); fields point at it (all the
        # fields one change wrote share one), and so do the bases (stamps their authors had seen).
        with_bases = all(isinstance(r.get("bases"), dict) and all(
            v is None or _is_stamp(v) for v in r["bases"].values()) for r in recs)
        pool = {s for d in stamps for s in d.values()}
        if with_bases:
            pool |= {v for r in recs for v in r["bases"].values() if v is not None}
        table = sorted(pool)
        index = {s: i + 1 for i, s in enumerate(table)}  # 0 is None
        parts = [_STAMP.match(s).groups() for s in table]  # type: ignore[union-attr]
        out["st"] = {"w": _deltas([int(p[0]) for p in parts])["z"], "c": [int(p[1], 16) for p in parts],
                     "n": _col([p[2] for p in parts])}
        out["sk"], out["sks"], out["s"] = _map_cols(stamps, index)
        if with_bases:
            out["bk"], out["bks"], out["b"] = _map_cols([r["bases"] for r in recs], index)
            handled = (*_BASE, "bases")
    else:
        out["sr"] = stamps  # something that is not a stamp: keep them as they are
    # Anything a record carries beyond these keys (and which of them it lacks) travels as is.
    extra = {str(i): {k: v for k, v in r.items() if k not in handled} | {"-": [k for k in handled if k not in r]}
             for i, r in enumerate(recs) if set(r) != set(handled)}
    if extra:
        out["x"] = extra
    return out


def _unblock(kind: str, b: dict[str, Any]) -> list[dict]:
    n = b["n"]
    ids, grids, seqs = _uncol(b["id"]), _uncol(b["grid"]), _uncol(b["seq"])
    cols = {name: iter(_uncol(c)) for name, c in b["f"].items()}
    fields = [{name: next(cols[name]) for name in b["fks"][k]} for k in _uncol(b["fk"])]
    bases: list[dict] | None = None
    if "sr" in b:
        stamps = b["sr"]
    else:
        st = b["st"]
        walls = _uncol({"z": st["w"]})
        table = [None] + [f"{w:013d}-{c:04x}-{node}" for w, c, node in zip(walls, st["c"], _uncol(st["n"]), strict=True)]
        stamps = _unmap(b, "sk", "sks", "s", table)
        if "b" in b:
            bases = _unmap(b, "bk", "bks", "b", table)
    if not (len(ids) == len(grids) == len(seqs) == len(fields) == len(stamps) == n) or (
            bases is not None and len(bases) != n):
        raise SnapshotError("bad_payload")
    extra = b.get("x") or {}
    out = []
    for i in range(n):
        rec = {"id": ids[i], "kind": kind, "grid": grids[i], "fields": fields[i], "stamps": stamps[i], "seq": seqs[i]}
        if bases is not None:
            rec["bases"] = bases[i]
        x = extra.get(str(i))
        if x:
            for k in x.get("-", []):
                rec.pop(k, None)
            rec.update({k: v for k, v in x.items() if k != "-"})
        out.append(rec)
    return out


# ---- the payload -----------------------------------------------------------------------------


def encode(records: list[dict]) -> bytes:
    """The uncompressed columnar JSON of ``records`` (order kept within each kind)."""
    by_kind: dict[str, list[dict]] = {}
    for r in records:
        by_kind.setdefault(str(r.get("kind")), []).append(r)
    doc = {"v": VERSION, "kinds": {k: _block(rs) for k, rs in by_kind.items()}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> list[dict]:
    """The records of an uncompressed payload; SnapshotError for anything malformed."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("v") != VERSION:
            raise SnapshotError("version")
        out: list[dict] = []
        for kind, block in doc["kinds"].items():
            out.extend(_unblock(kind, block))
        if all(type(r.get("seq")) is int for r in out):
            out.sort(key=lambda r: r["seq"])  # feed order, as the pull gives them
        return out
    except SnapshotError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, StopIteration, AttributeError):
        raise SnapshotError("bad_payload") from None


def pack(records: list[dict], codec: str = "lzma") -> bytes:
    """Encode and compress: the bytes of ``snapshot.bin``."""
    raw = encode(records)
    if codec == "lzma":
        return CODECS[codec] + lzma.compress(raw, preset=9)  # "extreme" is 5x slower for 0.1 % less
    if codec == "zlib":
        return CODECS[codec] + zlib.compress(raw, 9)
    raise ValueError(f"unknown codec {codec!r}")


def unpack(blob: bytes, max_inflated: int = MAX_INFLATED) -> list[dict]:
    """The records of ``snapshot.bin``; SnapshotError when it is not one (or inflates too far)."""
    tag, body = blob[:1], blob[1:]
    try:
        if tag == CODECS["lzma"]:
            d: Any = lzma.LZMADecompressor()
        elif tag == CODECS["zlib"]:
            d = zlib.decompressobj()
        else:
            raise SnapshotError("codec")
        raw = d.decompress(body, max_inflated + 1)
    except (lzma.LZMAError, zlib.error):
        raise SnapshotError("bad_payload") from None
    if len(raw) > max_inflated:
        raise SnapshotError("too_big")
    return decode(raw)
