"""Benchmark repository: exact-match lookup, SLO-bounded search, filtered pages and precedence-aware upserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, Field
from sqlalchemy import Row, Table, bindparam, delete, func, select, text, tuple_
from sqlalchemy.orm import Session

from kb.domain import BenchmarkKey, BenchmarkRecord, BenchmarkSource, LatencyStats, LoadKind, Quantization, SLOTargets
from kb.orm import BenchmarkRow
from kb.repositories import revisions

Percentile = Literal["mean", "p90", "p95", "p99"]
M = TypeVar("M", bound=BaseModel)
REAL_SOURCES = (BenchmarkSource.MEASURED.value, BenchmarkSource.IMPORTED.value)
_STATS = ("ttft", "itl", "e2e", "tps")
_TABLE = cast(Table, BenchmarkRow.__table__)
_KEY_COLUMNS = (
    _TABLE.c.model_hf_repo,
    _TABLE.c.hardware,
    _TABLE.c.hardware_count,
    _TABLE.c.prompt_tokens,
    _TABLE.c.output_tokens,
)


_SCALARS = tuple(name for name in BenchmarkRecord.model_fields if name not in {"ttft_ms", "itl_ms", "e2e_ms", "tps"})


def record_to_values(record: BenchmarkRecord) -> dict[str, Any]:
    """Flatten a record into benchmark-table column values (attribute reads only: this runs for every row)."""
    values: dict[str, Any] = {name: getattr(record, name) for name in _SCALARS}
    values["load_kind"] = record.load_kind.value
    values["source"] = record.source.value
    values["quantization"] = record.quantization.value
    for name, stats in (("ttft", record.ttft_ms), ("itl", record.itl_ms), ("e2e", record.e2e_ms), ("tps", record.tps)):
        values[f"{name}_mean"] = stats.mean if stats is not None else None
        values[f"{name}_p90"] = stats.p90 if stats is not None else None
        values[f"{name}_p95"] = stats.p95 if stats is not None else None
        values[f"{name}_p99"] = stats.p99 if stats is not None else None
    return values


_RECORD_FIELDS = frozenset(BenchmarkRecord.model_fields)
_STATS_FIELDS = frozenset(LatencyStats.model_fields)


def _trusted(cls: type[M], data: dict[str, Any], fields: frozenset[str]) -> M:
    """An instance from already-validated data (a database row), without re-validation: lookups stay fast.

    Equivalent to `model_construct` with every field given, at a fraction of its cost.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", data)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def values_to_record(values: Any) -> BenchmarkRecord:
    """Build a record from a table row (ORM row, Core row or mapping); rows were validated on the way in."""
    row = values._mapping if isinstance(values, Row) else values
    data = {name: row[name] for name in _SCALARS}
    for name, key in (("ttft", "ttft_ms"), ("itl", "itl_ms"), ("e2e", "e2e_ms"), ("tps", "tps")):
        mean = row[f"{name}_mean"]
        data[key] = (
            None
            if mean is None
            else _trusted(
                LatencyStats,
                {"mean": mean, "p90": row[f"{name}_p90"], "p95": row[f"{name}_p95"], "p99": row[f"{name}_p99"]},
                _STATS_FIELDS,
            )
        )
    data["load_kind"] = LoadKind(data["load_kind"])
    data["source"] = BenchmarkSource(data["source"])
    data["quantization"] = Quantization(data["quantization"])
    return _trusted(BenchmarkRecord, data, _RECORD_FIELDS)


# Built once: SQLAlchemy caches the compiled statement, so a lookup only binds parameters.
_EXACT_QUERY = (
    select(_TABLE)
    .where(
        _TABLE.c.model_hf_repo == bindparam("model_hf_repo"),
        _TABLE.c.hardware == bindparam("hardware"),
        _TABLE.c.hardware_count == bindparam("hardware_count"),
        _TABLE.c.prompt_tokens == bindparam("prompt_tokens"),
        _TABLE.c.output_tokens == bindparam("output_tokens"),
        _TABLE.c.quantization == bindparam("quantization"),
    )
    .order_by(_TABLE.c.requests_per_second)
)


def prefer_real(records: Iterable[BenchmarkRecord]) -> list[BenchmarkRecord]:
    """Drop estimated rows for any exact-match key that also has measured or imported rows."""
    records = list(records)

    def key(r: BenchmarkRecord) -> tuple[Any, ...]:
        return (r.model_hf_repo, r.hardware, r.hardware_count, r.prompt_tokens, r.output_tokens, r.quantization)

    real_keys = {key(r) for r in records if r.source is not BenchmarkSource.ESTIMATED}
    return [r for r in records if r.source is not BenchmarkSource.ESTIMATED or key(r) not in real_keys]


def find_exact(session: Session, key: BenchmarkKey) -> list[BenchmarkRecord]:
    """All load points for an exact (model, hardware, count, prompt, output) match, real rows winning.

    Ordered by request rate, lowest load first. Empty when nothing matches: callers must not fuzzy-match.
    """
    rows = session.connection().execute(_EXACT_QUERY, key.model_dump(mode="json")).all()
    return prefer_real(values_to_record(row) for row in rows)


def find_within_slo(
    session: Session,
    *,
    prompt_tokens: int,
    output_tokens: int,
    slo: SLOTargets,
    percentile: Percentile = "p95",
    models: Sequence[str] | None = None,
    hardware: Sequence[str] | None = None,
) -> list[BenchmarkRecord]:
    """Rows for a traffic profile whose TTFT, ITL and E2E at `percentile` all meet the targets."""
    c = _TABLE.c
    query = select(_TABLE).where(
        c.prompt_tokens == prompt_tokens,
        c.output_tokens == output_tokens,
        c[f"ttft_{percentile}"] <= slo.ttft_p95_ms,
        c[f"itl_{percentile}"] <= slo.itl_p95_ms,
        c[f"e2e_{percentile}"] <= slo.e2e_p95_ms,
    )
    if models:
        query = query.where(c.model_hf_repo.in_(models))
    if hardware:
        query = query.where(c.hardware.in_(hardware))
    rows = session.execute(query.order_by(c.requests_per_second.desc())).all()
    return prefer_real(values_to_record(row) for row in rows)


class BenchmarkFilter(BaseModel):
    """Filters for browsing benchmarks; every field optional."""

    model: str | None = None
    hardware: str | None = None
    hardware_count: int | None = Field(default=None, ge=1)
    prompt_tokens: int | None = Field(default=None, ge=1)
    output_tokens: int | None = Field(default=None, ge=1)
    source: BenchmarkSource | None = None
    max_ttft_p95_ms: float | None = Field(default=None, gt=0)
    max_itl_p95_ms: float | None = Field(default=None, gt=0)


class BenchmarkPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[BenchmarkRecord]


def search(session: Session, filters: BenchmarkFilter, *, offset: int = 0, limit: int = 50) -> BenchmarkPage:
    """A stable page of benchmarks matching the filters."""
    c = _TABLE.c
    conditions: list[Any] = []
    for attr, column in (
        ("model", c.model_hf_repo),
        ("hardware", c.hardware),
        ("hardware_count", c.hardware_count),
        ("prompt_tokens", c.prompt_tokens),
        ("output_tokens", c.output_tokens),
    ):
        if (value := getattr(filters, attr)) is not None:
            conditions.append(column == value)
    if filters.source is not None:
        conditions.append(c.source == filters.source.value)
    if filters.max_ttft_p95_ms is not None:
        conditions.append(c.ttft_p95 <= filters.max_ttft_p95_ms)
    if filters.max_itl_p95_ms is not None:
        conditions.append(c.itl_p95 <= filters.max_itl_p95_ms)
    total = session.execute(select(func.count()).select_from(_TABLE).where(*conditions)).scalar_one()
    rows = session.execute(
        select(_TABLE).where(*conditions).order_by(*_KEY_COLUMNS, c.load_kind, c.load_value).offset(offset).limit(limit)
    ).all()
    return BenchmarkPage(total=total, offset=offset, limit=limit, items=[values_to_record(r) for r in rows])


@dataclass
class UpsertCounts:
    """What an upsert did, row by row."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_real: int = 0
    keys: list[tuple[Any, ...]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        if self.kept_real:
            text += f", {self.kept_real} kept (measured rows are never overwritten by estimates)"
        return text


_FULL_KEY = (
    "model_hf_repo",
    "hardware",
    "hardware_count",
    "prompt_tokens",
    "output_tokens",
    "quantization",
    "load_kind",
    "load_value",
)
ANALYZE_AFTER_ROWS = 1000
_COMPARED = tuple(col.key for col in _TABLE.columns if col.key not in {"id", "updated_at", "provenance_date"})


def upsert(session: Session, records: Sequence[BenchmarkRecord], *, batch_size: int = 500) -> UpsertCounts:
    """Insert or update rows by their full key (exact key + load point).

    Real rows (measured/imported) replace estimated ones; an estimate never replaces a real row.
    Runs inside the caller's transaction, so a failure leaves nothing half-written.
    """
    counts = UpsertCounts()
    for start in range(0, len(records), batch_size):
        batch = [record_to_values(r) for r in records[start : start + batch_size]]
        keys = [tuple(v[k] for k in _FULL_KEY) for v in batch]
        existing = {
            tuple(getattr(row, k) for k in _FULL_KEY): row
            for row in session.scalars(select(BenchmarkRow).where(tuple_(*(_TABLE.c[k] for k in _FULL_KEY)).in_(keys)))
        }
        pending: dict[tuple[Any, ...], dict[str, Any]] = {}
        for key, values in zip(keys, batch, strict=True):
            if key in pending:  # the same key twice in one call: the later row wins
                pending[key].update(values)
                continue
            current = existing.get(key)
            if current is None:
                pending[key] = values
            elif current.source in REAL_SOURCES and values["source"] == BenchmarkSource.ESTIMATED.value:
                counts.kept_real += 1
            elif all(_same(getattr(current, k), values[k]) for k in _COMPARED):
                counts.unchanged += 1
            else:
                for k, v in values.items():
                    setattr(current, k, v)
                counts.updated += 1
        if pending:
            session.execute(_TABLE.insert(), list(pending.values()))
            counts.inserted += len(pending)
        counts.keys.extend(keys)
    session.flush()
    if counts.inserted or counts.updated:
        bump_revision(session)
    if counts.inserted >= ANALYZE_AFTER_ROWS and session.get_bind().dialect.name == "postgresql":
        # Fresh bulk loads leave the planner without statistics and it picks a scan over the key index.
        session.execute(text("ANALYZE benchmarks"))
    return counts


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return bool(a == b)


def delete_estimated(session: Session) -> int:
    """Remove every estimated row (before regenerating them)."""
    result = session.execute(delete(_TABLE).where(_TABLE.c.source == BenchmarkSource.ESTIMATED.value))
    bump_revision(session)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_by_source(session: Session) -> dict[str, int]:
    rows = session.execute(select(_TABLE.c.source, func.count()).group_by(_TABLE.c.source)).all()
    return {str(source): int(n) for source, n in rows}


def bump_revision(session: Session) -> None:
    """Mark the benchmark table as changed (inside the caller's transaction)."""
    revisions.bump(session, "benchmarks")


def revision(session: Session) -> int:
    """The benchmark table's change counter (0 before the first write)."""
    return revisions.current(session, "benchmarks")


def _copy_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk load through PostgreSQL's COPY (an order of magnitude faster than multi-row INSERT)."""
    if not rows:
        return
    columns = [c.key for c in _TABLE.columns if c.key not in {"id", "updated_at"}]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY benchmarks ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for values in rows:
            copy.write_row([values[c] for c in columns])


def replace_estimates(session: Session, rows: Iterable[dict[str, Any]]) -> UpsertCounts:
    """Swap every estimated row for `rows` (column values, see `record_to_values`) in one go.

    Keys that have measured or imported rows keep them untouched.
    """
    counts = UpsertCounts()
    delete_estimated(session)
    real = {
        tuple(row)
        for row in session.execute(
            select(*(_TABLE.c[k] for k in _FULL_KEY)).where(_TABLE.c.source.in_(REAL_SOURCES))
        ).all()
    }
    candidates = list(rows)
    fresh = [values for values in candidates if tuple(values[k] for k in _FULL_KEY) not in real]
    counts.kept_real = len(candidates) - len(fresh)
    if session.get_bind().dialect.name == "postgresql":
        _copy_rows(session, fresh)
    else:
        for start in range(0, len(fresh), 5000):
            session.execute(_TABLE.insert(), fresh[start : start + 5000])
    counts.inserted = len(fresh)
    bump_revision(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE benchmarks"))
    return counts
