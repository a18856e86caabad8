"""The accountability register: corruption offences linked to their organisation and its head at the time, and the
resignation statement each head must file when a subordinate commits a corruption crime.

Seed 001 (Akorda, 20 May 2019): "heads of state bodies must resign in case of corruption crimes of their
subordinates. Accepting the resignation or not is the prerogative of the Head of State, but the resignation
statement is a mandatory measure." The seed sets no deadline; Aiqyn's default (`Rules.deadline_days`, 30 calendar
days after the verdict enters into force) is a parameter, documented in docs/public-control.md.

Import (`aiqyn accountability import offences|statements FILE`), check (`aiqyn accountability check`) into
`accountability_status` and `public_control_findings` (kind missing_statement), aggregates per organisation and
region per year (`aggregates`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.conflicts.registers import (
    FieldError,
    ImportResult,
    RegisterFileError,
    Reject,
    _records,
    ensure_register_tables,
    insert_rows,
    parse_date,
    parse_id,
    replace_register_rows,
)
from aiqyn.publiccontrol.detect import ensure_outputs

STATUSES = ("registered", "sent_to_court", "convicted", "acquitted")
CODES = {"criminal": "criminal", "uk": "criminal", "ук": "criminal", "administrative": "administrative",
         "koap": "administrative", "коап": "administrative"}
DECISIONS = ("pending", "accepted", "rejected")
TRIGGERS = ("convicted", "registered")
ARTICLE = re.compile(r"^\d{1,3}(-\d{1,2})?(\s*(ч\.|part|бөлік)\s*\d+)?(\s*(п\.|item|тармақ)\s*\d+\))?$", re.I)
# The head of an organisation, by position (Russian and Kazakh): not a deputy.
HEAD = re.compile(r"^(аким|руководитель|председатель|министр|директор|начальник|президент|ректор|главный врач|"
                  r"әкім|басшы|төраға|бастық)\b", re.I)
DEPUTY = re.compile(r"заместител|орынбасар|deputy", re.I)
STATES = ("filed", "filed_late", "overdue", "due", "not_required", "no_head")


@dataclass(frozen=True)
class Rules:
    deadline_days: int = 30
    trigger: str = "convicted"  # convicted: the verdict's entry into force; registered: the case's registration

    def __post_init__(self) -> None:
        if self.deadline_days < 0:
            raise ValueError("deadline_days must be >= 0")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}")


def is_head(position: str | None) -> bool:
    return position is not None and bool(HEAD.match(position.strip())) and not DEPUTY.search(position)


def _value(record: dict[str, Any], name: str, parse: Any = None, required: bool = False) -> Any:
    text = " ".join(str(record.get(name, "")).split())
    if not text:
        if required:
            raise FieldError(name, "missing")
        return None
    if parse is None:
        return text
    try:
        return parse(text)
    except ValueError as e:
        raise FieldError(name, str(e)) from None


def _offence(record: dict[str, Any]) -> list[Any]:
    if "__error__" in record:
        raise FieldError("row", record["__error__"])
    case = _value(record, "case_number", required=True)
    code = _value(record, "code", required=True).lower()
    if code not in CODES:
        raise FieldError("code", f"{code!r} is not criminal or administrative")
    article = _value(record, "article", required=True)
    if not ARTICLE.match(article):
        raise FieldError("article", f"{article!r} is not an article number (e.g. 366, 366 ч.2, 676)")
    registered = _value(record, "registered_on", parse_date, required=True)
    committed = _value(record, "committed_on", parse_date)
    status = _value(record, "status", required=True).lower().replace(" ", "_")
    if status not in STATUSES:
        raise FieldError("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    status_on = _value(record, "status_on", parse_date) or registered
    if status_on < registered:
        raise FieldError("status_on", f"{status_on} is before registered_on {registered}")
    region = _value(record, "region_kato")
    if region and not re.fullmatch(r"\d{9}", region):
        raise FieldError("region_kato", f"{region!r} is not a 9-digit KATO code")
    org = _value(record, "organisation_bin", lambda t: parse_id(t, "BIN"), required=True)
    person = _value(record, "person_iin", parse_id)
    if person is None and not _value(record, "person_name"):
        raise FieldError("person_name", "missing: an offence names its offender (person_iin or person_name)")
    return [case, CODES[code], article, committed, registered, person, _value(record, "person_name"),
            _value(record, "position"), org, _value(record, "organisation_name"), region, status, status_on,
            _value(record, "head_iin", parse_id)]


def _statement(record: dict[str, Any]) -> list[Any]:
    if "__error__" in record:
        raise FieldError("row", record["__error__"])
    case = _value(record, "case_number", required=True)
    head = _value(record, "head_iin", parse_id, required=True)
    filed = _value(record, "filed_on", parse_date, required=True)
    decision = (_value(record, "decision") or "pending").lower()
    if decision not in DECISIONS:
        raise FieldError("decision", f"{decision!r} is not one of {', '.join(DECISIONS)}")
    decided = _value(record, "decided_on", parse_date)
    if decision != "pending" and decided is None:
        raise FieldError("decided_on", f"missing: the decision is {decision}")
    if decided is not None and decided < filed:
        raise FieldError("decided_on", f"{decided} is before filed_on {filed}")
    return [case, head, filed, decision, decided, _value(record, "decided_by")]


KINDS = {"offences": ("corruption_offences", ("case_number",), _offence,
                      ("case_number", "code", "article", "registered_on", "organisation_bin", "status")),
         "statements": ("resignation_statements", ("case_number", "head_iin"), _statement,
                        ("case_number", "head_iin", "filed_on"))}


def import_file(con: duckdb.DuckDBPyConnection, kind: str, path: Path) -> ImportResult:
    """Import offences or statements (CSV, JSON array or JSON lines); rows with the key of a stored row replace
    it; bad rows are left out with file, line, field and reason (and kept in register_rejects)."""
    if kind not in KINDS:
        raise RegisterFileError(f"unknown file kind {kind!r}; expected offences or statements")
    table, key, parse, required = KINDS[kind]
    columns, records = _records(path)
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        missing = [c for c in required if c not in columns]
        if missing:
            raise RegisterFileError(f"{path}:1: missing column(s) {', '.join(missing)}; the header is "
                                    f"{', '.join(columns)}")
    ensure_register_tables(con)
    result = ImportResult(kind, str(path))
    rows: dict[tuple[Any, ...], list[Any]] = {}
    lines: dict[tuple[Any, ...], int] = {}
    for line, record, raw in records:
        try:
            row = parse(record)
        except FieldError as e:
            result.rejects.append(Reject(str(path), line, e.field, e.reason, raw))
            continue
        k = tuple(row[:len(key)])
        if k in rows:
            result.rejects.append(Reject(str(path), line, key[-1], f"{' '.join(map(str, k))} already at line "
                                         f"{lines[k]}; this row is left out", raw))
            continue
        rows[k] = [*row, str(path), line]
        lines[k] = line
    replace_register_rows(con, kind, table, key, list(rows), {table: list(rows.values())}, result.rejects)
    result.imported = len(rows)
    return result


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])  # type: ignore[index]


def head_at(officials: list[tuple[Any, ...]], day: dt.date) -> tuple[str, str, str] | None:
    """(IIN, name, position) of the head in office on `day` among an organisation's officials; the one in office
    longest when several."""
    heads = [o for o in officials if is_head(o[2]) and (o[3] is None or o[3] <= day) and (o[4] is None or o[4] >= day)]
    if not heads:
        return None
    heads.sort(key=lambda o: (o[3] or dt.date.min, o[0]))
    return heads[0][0], heads[0][1], heads[0][2]


@dataclass
class CheckResult:
    offences: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def check(con: duckdb.DuckDBPyConnection, rules: Rules | None = None, as_of: dt.date | None = None) -> CheckResult:
    """Link each offence to its organisation's head at the time, judge the statement, write accountability_status
    and the missing_statement findings (both replaced)."""
    rules = rules or Rules()
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    ensure_register_tables(con)
    ensure_outputs(con)
    officials: dict[str, list[tuple[Any, ...]]] = {}
    names: dict[str, tuple[str, str]] = {}
    for iin, name, position, org, start, end in con.execute(
            "SELECT iin, full_name, position, organisation_bin, in_office_from, in_office_to FROM officials"
    ).fetchall():
        officials.setdefault(org, []).append((iin, name, position, start, end))
        names[iin] = (name, position)
    parties: dict[str, tuple[str | None, str | None]] = {}
    if _has(con, "parties"):
        for ident, name, region in con.execute(
                "SELECT identifier, any_value(name), any_value(region_code) FILTER (WHERE length(region_code) = 9) "
                "FROM parties WHERE identifier IN (SELECT organisation_bin FROM corruption_offences) "
                "GROUP BY identifier").fetchall():
            parties[ident] = (name, region)
    statements: dict[str, list[tuple[Any, ...]]] = {}
    for case, head, filed, decision, decided in con.execute(
            "SELECT case_number, head_iin, filed_on, decision, decided_on FROM resignation_statements "
            "ORDER BY filed_on").fetchall():
        statements.setdefault(case, []).append((head, filed, decision, decided))
    now = dt.datetime.now(dt.UTC)
    out: list[list[Any]] = []
    findings: list[list[Any]] = []
    result = CheckResult(counts=dict.fromkeys(STATES, 0))
    for (case, code, article, committed, registered, person, _pname, _pos, org, org_name, region, status, status_on,
         head_iin) in con.execute(
            "SELECT case_number, code, article, committed_on, registered_on, person_iin, person_name, position, "
            "organisation_bin, organisation_name, region_kato, status, status_on, head_iin FROM corruption_offences "
            "ORDER BY case_number").fetchall():
        day = committed or registered
        head_source = None
        head_name = head_position = None
        if head_iin:
            head_source = "file"
            head_name, head_position = names.get(head_iin, (None, None))
        else:
            found = head_at(officials.get(org, []), day)
            if found:
                head_iin, head_name, head_position = found
                head_source = "register"
        party_name, party_region = parties.get(org, (None, None))
        region = region or party_region
        if rules.trigger == "convicted":
            required = code == "criminal" and status == "convicted"
            trigger_on = status_on if required else None
        else:
            required = code == "criminal" and status != "acquitted"
            trigger_on = registered if required else None
        if head_iin and person and head_iin == person:
            required, trigger_on = False, None  # the head is the offender: no subordinate's crime to answer for
        deadline = trigger_on + dt.timedelta(days=rules.deadline_days) if trigger_on else None
        filed = decision = decided = None
        days_late = None
        if head_iin is None:
            state = "no_head"
        elif not required:
            state = "not_required"
        else:
            mine = [s for s in statements.get(case, []) if s[0] == head_iin]
            if mine:
                _, filed, decision, decided = mine[0]
                late = (filed - deadline).days if deadline else 0
                state = "filed_late" if late > 0 else "filed"
                days_late = late if late > 0 else None
            elif deadline is not None and as_of > deadline:
                state = "overdue"
                days_late = (as_of - deadline).days
            else:
                state = "due"
        if head_iin is None and required:
            state = "no_head"
        result.counts[state] += 1
        out.append([case, code, article, status, registered.year, org, org_name or party_name, region, head_iin,
                    head_name, head_position, head_source, required, trigger_on, deadline, filed, decision, decided,
                    state, days_late, as_of, now])
        if state == "overdue":
            findings.append(["missing_statement", case, None, None, case, region, org, None, head_iin,
                             dt.datetime.combine(deadline, dt.time()) if deadline else None,
                             json.dumps({"article": article, "code": code, "status": status,
                                         "trigger_on": str(trigger_on), "deadline": str(deadline),
                                         "days_overdue": days_late, "head_position": head_position},
                                        ensure_ascii=False), now])
    result.offences = len(out)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM accountability_status")
        con.execute("DELETE FROM public_control_findings WHERE kind = 'missing_statement'")
        insert_rows(con, "accountability_status", out)
        insert_rows(con, "public_control_findings", findings)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


AGGREGATE_SQL = """
SELECT {key} AS unit, year, count(*) AS offences,
       count(*) FILTER (WHERE code = 'criminal') AS crimes,
       count(DISTINCT head_iin) FILTER (WHERE required) AS heads_concerned,
       count(*) FILTER (WHERE required) AS statements_required,
       count(*) FILTER (WHERE state IN ('filed', 'filed_late')) AS statements_filed,
       count(*) FILTER (WHERE state = 'filed_late') AS filed_late,
       count(*) FILTER (WHERE state = 'overdue') AS overdue,
       count(*) FILTER (WHERE decision = 'accepted') AS resignations_accepted
FROM accountability_status WHERE {key} IS NOT NULL {where}
GROUP BY {key}, year ORDER BY year DESC, overdue DESC, offences DESC, unit
"""


def aggregates(con: Any, by: str = "region", year: int | None = None) -> list[dict[str, Any]]:
    """Offences per year, heads concerned, statements required, filed, late and overdue, per region (the oblast:
    the KATO code's first two digits) or per organisation. `con` is a DuckDB connection or has `.query`."""
    key = {"region": "substr(region_kato, 1, 2) || '0000000'", "organisation": "organisation_bin"}[by]
    sql = AGGREGATE_SQL.format(key=key, where="AND year = $year" if year else "")
    params = {"year": year} if year else {}
    if hasattr(con, "query") and not isinstance(con, duckdb.DuckDBPyConnection):
        return list(con.query(sql, params))
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
