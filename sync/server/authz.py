"""Who may write what: the one place the server decides whether a change is authorized.

``sync.server.feed.apply_changes`` asks a ``BatchAuthz`` about every change of a batch, and
every way a change reaches the server goes through that function: the API's ``/sync``, the
operator's bundle import, the household import and the demo seed. ``may_import_bundle``
decides which device bundles an operator may carry in, ``may_read_blob`` who reads a photo.
The threat model is in docs/security.md ("Who may write what").

A change is accepted only when

- its author is the caller: the change's ``actor``, and the author fields of the record
  (``AUTHOR_FIELDS``: an issue's reporter, a visit's visitor, an event's actor and role);
- its grid is in the caller's scope (a grid worker: their grids; staff: their township);
- every record it names (``TARGETS``: an event's issue, a visit's household and demands, an
  issue's household, a photo's attachment) exists on the server, is of the right kind and
  is in the same grid; a household's village is a village of the grid's township; no photo
  hash it names is held only by records outside the caller's scope;
- the role may write it (``WRITER_ROLES``; events: ``sync.workflow.may_emit``);
- a record the server does not have is created with every required field (``validate_change``
  checks that; a change with bases for an unknown record is not a creation, see below).

A change that names a record the server does not have yet is refused with ``retry``: the
device keeps it in its outbox and sends it again at its next sync (the record's own creation
may still be on its way, e.g. after a restore from backup). Inside one batch the order does
not matter: ``apply_changes`` tries such a change again after the rest of the batch. When the
named record's own creation was refused in the same batch, the refusal is final.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from sync import records as model
from sync.hashes import is_sha256
from sync.ids import is_id
from sync.server import db
from sync.workflow import may_emit

WRITER_ROLES = ("grid_worker", "township_staff", "county_staff", "admin")
OPERATOR_ROLES = ("operator", "admin")

# Fields that name another record: (kind, field) -> the kind it must be. A photo's
# ``attached_to`` names its kind itself. tests/server/test_authz_rules.py checks that every
# id field of the record schema is listed here, so a new link cannot skip authorization.
TARGETS: dict[tuple[str, str], str] = {
    ("visit", "household"): "household",
    ("visit", "demands"): "issue",
    ("issue", "household"): "household",
    ("issue_event", "issue"): "issue",
    ("visit", "companion"): "member",
    ("pairing", "member"): "member",
    ("pairing", "household"): "household",
    ("meeting", "members"): "member",
    ("meeting", "raised"): "issue",
}
# The same for an event's data: (event type, data field) -> the kind it must be.
EVENT_TARGETS: dict[tuple[str, str], str] = {("claim", "claimant"): "claimant"}
# Fields that say who wrote the record: they must name the caller.
AUTHOR_FIELDS: dict[str, str] = {"issue": "reporter", "visit": "visitor", "issue_event": "actor",
                                  "meeting": "recorder"}

# Kinds that name their village: it must be a village of the grid's township.
VILLAGE_KINDS = frozenset({"household", "issue", "member", "meeting"})

# Refusal codes (docs/protocol.md): the device shows the reason; ``retry`` keeps it queued.
NOT_YET = "not_yet"


@dataclass(frozen=True)
class Scope:
    """What a caller sees, decided from the authenticated principal in one place
    (``scope_of``) for the API, pulls, starter packs, conflicts, photos and bundles alike."""

    everything: bool = False
    # whole townships (staff; a county's staff: every township of the county)
    townships: frozenset[str] = frozenset()
    # grid workers: their grids, and the reference records of those grids' townships
    grids: frozenset[str] = frozenset()
    whole: bool = False  # True: every grid of ``townships``

    def sees_grid(self, grid: str, township: str | None) -> bool:
        if self.everything:
            return True
        if self.whole:
            return township is not None and township in self.townships
        return grid in self.grids

    def receives_private(self, record: Mapping[str, Any]) -> bool:
        """Whether a record's private fields (a resident's contact) go to this caller: staff
        of the scope, and the grid worker of the record's grid (who calls the resident for
        the 回头看) unless the resident asked to stay anonymous."""
        if self.everything or self.whole:
            return True
        fields = record.get("fields") or {}
        return record.get("grid") in self.grids and fields.get("reporter_visibility") != "anonymous"

    def basis(self) -> dict[str, Any]:
        """The facts that decide what is pulled: equal bases, equal scope (starter packs)."""
        if self.everything:
            return {"all": True}
        if self.whole:
            return {"townships": sorted(self.townships)}
        return {"grids": sorted(self.grids), "towns": sorted(self.townships)}


def scope_of(p: Any) -> Scope:
    """The scope of a principal: admins and operators without a township or county see
    everything; grid workers their grids; township staff their township; county staff (and
    a county's admin or operator) every township of their county."""
    if p.everywhere:
        return Scope(everything=True)
    if p.role == "grid_worker":
        towns = frozenset(p.townships) | ({p.township} if p.township else frozenset())
        return Scope(townships=towns, grids=frozenset(p.grids))
    if p.county is not None and p.role != "township_staff":
        return Scope(townships=frozenset(p.county_townships), whole=True)
    return Scope(townships=frozenset({p.township}) if p.township else frozenset(), whole=True)


def redact(scope: Scope, record: dict[str, Any]) -> dict[str, Any]:
    """The record as ``scope`` may receive it: private fields (sync.records.PRIVATE_FIELDS)
    left out, with their stamps, bases and seen, for callers who do not need them."""
    private = model.PRIVATE_FIELDS.get(str(record.get("kind")))
    fields = record.get("fields") or {}
    if not private or not private & fields.keys() or scope.receives_private(record):
        return record
    out = dict(record)
    for part in ("fields", "stamps", "bases", "seen"):
        if isinstance(record.get(part), dict):
            out[part] = {k: v for k, v in record[part].items() if k not in private}
    return out


@dataclass(frozen=True)
class Refusal:
    """Why a change is refused: a stable code, a catalog key and its parameters."""

    code: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    missing: str | None = None  # the record id that is not on the server (retryable)

    @property
    def retry(self) -> bool:
        return self.missing is not None


@dataclass(frozen=True)
class Target:
    kind: str
    grid: str | None


def _sha_specs(specs: Iterable[model.FieldSpec]) -> tuple[model.FieldSpec, ...]:
    return tuple(s for s in specs if s.type in ("sha256", "sha256s"))


# The photo-hash fields of each kind and event type, read once from the schema (asked for
# every change twice: a per-change scan of the whole schema was a tenth of the apply time).
_SHA_FIELDS = {kind: _sha_specs(specs.values()) for kind, specs in model.FIELDS.items()}
_SHA_DATA = {etype: _sha_specs(specs) for etype, specs in model.EVENT_DATA.items()}


def _shas(kind: str, fields: Mapping[str, Any]) -> Iterator[str]:
    """Every photo hash a record's fields name (from the schema: sha256 and sha256s fields,
    and the same in an event's data)."""
    specs: list[tuple[model.FieldSpec, Mapping[str, Any]]] = [(s, fields) for s in _SHA_FIELDS.get(kind, ())]
    data = fields.get("data")
    if kind == "issue_event" and isinstance(data, Mapping):
        specs += [(s, data) for s in _SHA_DATA.get(str(fields.get("type")), ())]
    for spec, values in specs:
        value = values.get(spec.name)
        if spec.type == "sha256" and is_sha256(value):
            yield value
        elif spec.type == "sha256s" and isinstance(value, list):
            yield from (v for v in value if is_sha256(v))


def _named(kind: str, fields: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field, wanted kind, record id) for every record the fields name."""
    for (k, name), wanted in TARGETS.items():
        if k != kind or name not in fields:
            continue
        value = fields[name]
        for rid in value if isinstance(value, list) else [value]:
            if is_id(rid):
                yield name, wanted, rid
    data = fields.get("data") if kind == "issue_event" else None
    if isinstance(data, Mapping):
        for (etype, name), wanted in EVENT_TARGETS.items():
            if fields.get("type") == etype and is_id(data.get(name)):
                yield f"data.{name}", wanted, data[name]
    att = fields.get("attached_to") if kind in model.ATTACHMENT_KINDS else None
    if isinstance(att, Mapping) and is_id(att.get("id")) and isinstance(att.get("kind"), str):
        yield "attached_to", att["kind"], att["id"]


def _chunks(items: Iterable[str], n: int = 500) -> Iterator[list[str]]:
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]


class BatchAuthz:
    """The authorization of one batch of changes for one principal.

    Made from the batch, then loaded in the writing transaction (``queries``, ``load``): it
    reads everything the batch names in a few queries, then ``check`` judges each change. ``applied`` and ``refused`` tell it what the batch did so far, so a change
    may name a record created earlier in the same batch.
    """

    def __init__(self, principal: Any, changes: Sequence[Any]) -> None:
        """What the batch names; ``queries`` look it up, ``load`` takes their rows."""
        self.p = principal
        self.scope = scope_of(principal)
        dicts = [c for c in changes if isinstance(c, dict) and isinstance(c.get("fields"), dict)]
        grids = {c["grid"] for c in changes if isinstance(c, dict) and isinstance(c.get("grid"), str)}
        named: set[str] = set()
        villages: set[str] = set()
        shas: set[str] = set()
        authors: set[str] = set()
        for c in dicts:
            kind, fields = c.get("kind"), c["fields"]
            if not isinstance(kind, str):
                continue
            if isinstance(fields.get(AUTHOR_FIELDS.get(kind, "")), str):
                authors.add(fields[AUTHOR_FIELDS[kind]])
            named.update(rid for _, _, rid in _named(kind, fields))
            shas.update(_shas(kind, fields))
            if kind in VILLAGE_KINDS and isinstance(fields.get("village"), str):
                villages.add(fields["village"])
        g, v, r, b, u = db.grids.c, db.villages.c, db.records.c, db.blob_refs.c, db.users.c
        self._queries: dict[str, list[Select[Any]]] = {
            "grids": [select(g.id, g.township, g.village).where(g.id.in_(p)) for p in _chunks(grids)],
            "villages": [select(v.id, v.township).where(v.id.in_(p)) for p in _chunks(villages)],
            "targets": [select(r.id, r.kind, r.grid).where(r.id.in_(p)) for p in _chunks(named)],
            "blobs": [select(b.sha256, b.grid, b.township).where(b.sha256.in_(p)) for p in _chunks(shas)],
            # for the refusal message: a name, not an id
            "users": [select(u.id, func.coalesce(u.display_name, u.name)).where(u.id.in_(p)) for p in _chunks(authors - {principal.user_id})],
        }
        self.refused_ids: set[str] = set()

    @property
    def queries(self) -> list[Select[Any]]:
        """Every lookup the batch needs; run them in the writing transaction after the feed
        lock (so what they read cannot change under it), in one go (sync.server.bulk)."""
        return [q for qs in self._queries.values() for q in qs]

    def load(self, results: Sequence[Sequence[tuple[Any, ...]]]) -> BatchAuthz:
        """Take the rows of ``queries`` (in their order)."""
        it = iter(results)
        rows = {name: [row for _ in qs for row in next(it)] for name, qs in self._queries.items()}
        self.grids: dict[str, tuple[str, str | None]] = {x[0]: (x[1], x[2]) for x in rows["grids"]}
        self.villages: dict[str, str] = {x[0]: x[1] for x in rows["villages"]}  # village -> township
        self.targets: dict[str, Target] = {x[0]: Target(x[1], x[2]) for x in rows["targets"]}
        self.blob_scopes: dict[str, list[tuple[str | None, str | None]]] = {}
        for sha, grid, town in rows["blobs"]:
            self.blob_scopes.setdefault(sha, []).append((grid, town))
        self.user_names: dict[str, str] = {x[0]: x[1] for x in rows["users"]}
        return self

    # -- what the batch did so far ---------------------------------------------------------

    def applied(self, record: Mapping[str, Any]) -> None:
        """A change to ``record`` was applied: later changes of the batch may name it."""
        rid, grid = record["id"], record.get("grid")
        self.targets[rid] = Target(record["kind"], grid)
        self.refused_ids.discard(rid)
        if record["kind"] in model.ATTACHMENT_KINDS:
            sha = record.get("fields", {}).get("sha256")
            if isinstance(sha, str) and grid in self.grids:
                self.blob_scopes.setdefault(sha, []).append((grid, self.grids[grid][0]))

    def refused(self, change: Any) -> None:
        if isinstance(change, dict) and isinstance(change.get("id"), str) and change["id"] not in self.targets:
            self.refused_ids.add(change["id"])

    def township_of(self, grid: str) -> str | None:
        return self.grids[grid][0] if grid in self.grids else None

    # -- the decision ------------------------------------------------------------------------

    def check(self, change: Mapping[str, Any], current: Mapping[str, Any] | None) -> Refusal | None:
        """None when ``change`` (already valid in shape) may be applied, else why not.

        ``current`` is the stored record it applies to (None: the server does not have it).
        """
        p = self.p
        kind, grid, fields = change["kind"], change["grid"], change["fields"]
        if change["actor"] != p.user_id:
            return Refusal("actor", "server.refused.actor", {"actor": change["actor"]})
        if grid not in self.grids or not self.scope.sees_grid(grid, self.grids[grid][0]):
            return Refusal("scope", "server.refused.scope", {"grid": grid})
        if kind not in model.RECORD_KINDS:
            return Refusal("role", "server.refused.reference", {"kind": kind})
        if p.role not in WRITER_ROLES and kind != "issue_event":
            return Refusal("role", "server.refused.role_kind", {"role": p.role})
        bases = change.get("bases") or {}
        if current is None and bases and any(bases.get(f) for f in fields):
            # An edit of a record the server does not have: not a creation (it would lack the
            # required fields); its creation may still come.
            return Refusal(NOT_YET, "server.refused.record_not_yet", {"id": change["id"]}, missing=change["id"])
        author = AUTHOR_FIELDS.get(kind)
        if author in fields:
            before = (current or {}).get("fields", {}).get(author)
            if fields[author] != before and fields[author] != p.user_id:
                label = model.field_label(kind, author)
                name = self.user_names.get(fields[author], fields[author])
                return Refusal("actor", "server.refused.author", {"field": label, "value": name})
        if kind == "issue_event":
            if fields.get("role") != p.role:
                return Refusal("role", "server.refused.event_role", {"role": p.role})
            if current is None and not may_emit(p.role, str(fields.get("type"))):
                return Refusal("role", "server.refused.event", {"role": p.role, "event": fields.get("type")})
        if kind in VILLAGE_KINDS and fields.get("village"):
            village = fields["village"]
            # Any village of the grid's township: a grid may hold households of a neighbouring
            # village (the household import allows it too).
            if self.villages.get(village) != self.grids[grid][0]:
                return Refusal("scope", "server.refused.village", {"village": village})
        for name, wanted, rid in _named(kind, fields):
            refusal = self._target(name, wanted, rid, kind, grid)
            if refusal is not None:
                return refusal
        for sha in _shas(kind, fields):
            scopes = self.blob_scopes.get(sha)
            if scopes and not may_read_blob(p, scopes):
                return Refusal("scope", "server.refused.blob", {"sha": sha[:12]})
        return None

    def _target(self, name: str, wanted: str, rid: str, kind: str, grid: str) -> Refusal | None:
        label = model.field_label(kind, name.removeprefix("data."))
        target = self.targets.get(rid)
        if target is None:
            params = {"field": label, "kind": model.kind_label(wanted), "id": rid}
            if rid in self.refused_ids:
                return Refusal("invalid", "server.refused.target_refused", params)
            return Refusal(NOT_YET, "server.refused.not_yet", params, missing=rid)
        if target.kind != wanted or wanted not in model.RECORD_KINDS:
            return Refusal("invalid", "server.refused.target_kind",
                           {"field": label, "kind": model.kind_label(wanted), "id": rid})
        if target.grid != grid:
            return Refusal("scope", "server.refused.target_scope",
                           {"field": label, "kind": model.kind_label(wanted), "id": rid})
        return None


def may_read_blob(principal: Any, refs: Iterable[tuple[str | None, str | None]]) -> bool:
    """A device reads a photo only when a photo record in its scope names it; ``refs`` are
    the (grid, township) of every photo record naming the hash. ``check`` makes sure nobody
    can write such a record for a photo held only outside their scope."""
    scope = scope_of(principal)
    return any(grid is not None and scope.sees_grid(grid, town) for grid, town in refs)


def may_edit_reference(principal: Any) -> bool:
    """Units, categories (with their deadline rules), sources and appeal types are the admin's
    (``sync/server/refdata.py``): devices only pull them."""
    return principal.role == "admin"


def may_import_bundle(operator: Any, device: Any) -> bool:
    """An operator (or admin) carries in bundles of devices of their own township only; an
    operator or admin without a township serves every township."""
    if operator.role not in OPERATOR_ROLES:
        return False
    mine = scope_of(operator)
    if mine.everything:
        return True
    theirs = scope_of(device)
    towns = set(theirs.townships)
    return bool(towns) and towns <= mine.townships
