"""End to end through the command line, on generated registers with transliteration and typo noise, namesakes,
planted affiliations and meeting violations: resolution precision and recall, the conflict flags with their
paths, the meetings rules, the exports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import networkx as nx
import pytest

from aiqyn.conflicts.meetings import MeetingRules, check
from aiqyn.reference.kz_calendar import next_working_day, shipped_non_working_days
from conftest import ingest, run_cli


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("conflicts")
    data, db = out / "data", out / "s.duckdb"
    res = run_cli(["generate", "--out", data, "--tenders", "2500", "--seed", "11"])
    assert res.code == 0, res.output
    for kind in ("officials", "relatives", "companies"):
        res = run_cli(["registers", "import", kind, data / f"{kind}.csv", "--db", db])
        assert res.code == 0, res.output
    assert run_cli(["meetings", "import", data / "meetings.csv", "--db", db]).code == 0
    assert ingest([data / "releases.jsonl"], db, "-q").code == 0
    res = run_cli(["entities", "resolve", "--db", db])
    assert res.code == 0, res.output
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))["registers"]
    return {"dir": out, "data": data, "db": db, "truth": truth}


def test_generated_registers_are_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(["generate", "--out", tmp_path / name, "--tenders", "300", "--seed", "3"]).code == 0
    for f in ("officials.csv", "relatives.csv", "companies.csv", "meetings.csv", "truth.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_resolution_precision_and_recall_with_namesakes(world: dict[str, Any]) -> None:
    linkage = world["truth"]["linkage"]
    assert len(linkage["links"]) >= 20 and len(linkage["namesakes"]) >= 10 and linkage["unresolvable"]
    res = run_cli(["entities", "evaluate", "--truth", world["data"] / "truth.json", "--db", world["db"], "--json"])
    assert res.code == 0, res.output
    result = json.loads(res.stdout)
    assert result["precision"] >= 0.98, result
    assert result["recall"] >= 0.95, result
    assert result["unresolvable_merged"] == [] and result["namesakes_merged"] == []
    con = duckdb.connect(str(world["db"]), read_only=True)
    evidence = json.loads(con.execute("SELECT evidence FROM entity_matches WHERE method = 'name' "
                                      "LIMIT 1").fetchone()[0])
    con.close()
    assert "birth_date" in evidence["agree"] and evidence["name_similarity"] >= 85


def test_evaluate_needs_a_truth_with_registers(world: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "truth.json"
    bad.write_text(json.dumps({"schemes": {}}), encoding="utf-8")
    res = run_cli(["entities", "evaluate", "--truth", bad, "--db", world["db"]])
    assert res.code == 2 and "no `registers` key" in res.stderr
    assert run_cli(["entities", "evaluate", "--truth", tmp_path / "none.json", "--db", world["db"]]).code == 2


def _flagged(db: Path, code: str) -> dict[str, list[list[dict[str, Any]]]]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT subject_id, evidence FROM flags WHERE code = ?", [code]).fetchall()
    con.close()
    return {ocid: json.loads(e)["paths"] for ocid, e in rows}


def test_every_planted_conflict_is_flagged_with_its_path(world: dict[str, Any]) -> None:
    res = run_cli(["entities", "flags", "--db", world["db"], "--run", "own"])
    assert res.code == 0, res.output
    planted = world["truth"]["planted"]
    assert planted["affiliated_winner"] and planted["bidder_group"]
    ci1 = _flagged(world["db"], "CI001")
    for case in planted["affiliated_winner"]:
        for ocid in case["processes"]:
            assert ocid in ci1, (case, ocid)
            nodes = [[step["node"] for step in path if "node" in step] for path in ci1[ocid]]
            expected = [f"person:{case['official_iin']}", f"org:{case['supplier']}"]
            assert any(n[0] == expected[0] and n[-1] == expected[1] for n in nodes), (case, nodes)
            if case["relative_iin"] is None:
                assert [expected[0], expected[1]] in nodes
    ci2 = _flagged(world["db"], "CI002")
    for case in planted["political_oversight"]:
        assert set(case["processes"]) <= set(ci2), case
    ci3 = _flagged(world["db"], "CI003")
    for case in planted["bidder_group"]:
        for ocid in case["processes"]:
            ends = {(p[0]["node"], p[-1]["node"]) for p in ci3[ocid]}
            assert (f"org:{case['suppliers'][0]}", f"org:{case['suppliers'][1]}") in ends, (case, ocid)
    # nothing flagged CI001 that the truth does not hold
    assert set(ci1) == {o for c in planted["affiliated_winner"] for o in c["processes"]}


def test_meetings_check_finds_every_planted_violation_and_no_compliant_one(world: dict[str, Any]) -> None:
    res = run_cli(["meetings", "check", "--db", world["db"], "--json"])
    assert res.code == 1, res.output
    found: dict[str, set[str]] = {}
    for v in json.loads(res.stdout)["violations"]:
        found.setdefault(v["rule"], set()).add(v["meeting_id"])
    truth = world["truth"]["meetings"]
    for rule in ("unrecorded_room", "no_commission", "own_office", "winner_after_hours"):
        assert truth[rule], rule
        assert found.get(rule, set()) == set(truth[rule]), rule
    assert not set(truth["compliant"]) & set().union(*found.values())


def test_meeting_rules_on_hand_made_meetings(world: dict[str, Any], tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    (tmp_path / "s.duckdb").write_bytes(Path(world["db"]).read_bytes())
    con = duckdb.connect(str(db))
    official, org, office, member1, member2 = con.execute("""
        SELECT o.iin, o.organisation_bin, o.office, list(m.iin ORDER BY m.iin)[1], list(m.iin ORDER BY m.iin)[2]
        FROM officials o JOIN officials m ON m.organisation_bin = o.organisation_bin AND m.iin <> o.iin
        GROUP BY ALL HAVING count(*) >= 2 ORDER BY o.iin LIMIT 1""").fetchone()
    winner, award_day = con.execute("""
        SELECT s.identifier, CAST(a.date AS DATE) FROM awards a JOIN award_suppliers x ON x.ocid = a.ocid
        JOIN parties s ON s.ocid = x.ocid AND s.party_id = x.party_id JOIN processes p ON p.ocid = a.ocid
        JOIN parties b ON b.ocid = p.ocid AND b.party_id = p.buyer_id WHERE b.identifier = ? ORDER BY a.ocid LIMIT 1
        """, [org]).fetchone()
    latin = con.execute("SELECT name_latin FROM companies WHERE bin = ?", [winner]).fetchone()[0]
    con.close()
    off = shipped_non_working_days()
    monday = next_working_day(dt.datetime.combine(award_day + dt.timedelta(days=7), dt.time())).date()
    saturday = next(monday + dt.timedelta(days=i) for i in range(1, 8) if monday + dt.timedelta(days=i) in off)
    members = f"{member1};{member2}"
    rows = [
        ("OK", f"{monday} 10:00", "переговорная 101", "true", "R1", members, winner),
        ("LATE", f"{monday} 19:30", "переговорная 101", "true", "R2", members, winner),
        ("SAT", f"{saturday} 11:00", "переговорная 101", "true", "R3", members, winner),
        ("FAR", f"{monday + dt.timedelta(days=200)} 21:30", "переговорная 101", "true", "R4", members, winner),
        ("ALONE", f"{monday} 10:00", "переговорная 101", "true", "R5", member1, winner),
        ("OFFICE", f"{monday} 10:00", office, "true", "R6", members, winner),
        ("NOREC", f"{monday} 10:00", "переговорная 101", "false", "", members, winner),
        ("NAMED", f"{monday} 19:30", "переговорная 101", "true", "R8", members, ""),  # the company by its Latin name
    ]
    f = tmp_path / "m.csv"
    f.write_text("meeting_id,official_iin,company_bin,company_name,starts_at,place,recorded,recording_ref,"
                 "commission_members\n" + "".join(f"{m},{official},{c},{'' if c else latin},{s},{p},{r},{ref},{mem}\n"
                                                  for m, s, p, r, ref, mem, c in rows), encoding="utf-8")
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM meetings")
    con.close()
    assert run_cli(["meetings", "import", f, "--db", db]).code == 0
    con = duckdb.connect(str(db))
    found = {(v.meeting_id, v.rule) for v in check(con, store=False).violations}
    assert found == {("LATE", "winner_after_hours"), ("SAT", "winner_after_hours"), ("ALONE", "no_commission"),
                     ("OFFICE", "own_office"), ("NOREC", "unrecorded_room"), ("NAMED", "winner_after_hours")}
    # the rules are parameters: one member suffices, a wider window reaches FAR, longer hours allow LATE
    loose = check(con, MeetingRules(min_commission_members=1, award_window_days=400, work_end=dt.time(21, 0)),
                  store=False)
    con.close()
    assert {(v.meeting_id, v.rule) for v in loose.violations} == {
        ("SAT", "winner_after_hours"), ("FAR", "winner_after_hours"), ("OFFICE", "own_office"),
        ("NOREC", "unrecorded_room")}
    assert latin.isascii() and latin.endswith(("LLP", "JSC", "IE"))
    res = run_cli(["meetings", "check", "--db", db, "--work-start", "25:00"])
    assert res.code == 2 and "--work-start" in res.stderr


def test_entities_show_and_exports(world: dict[str, Any]) -> None:
    case = world["truth"]["planted"]["affiliated_winner"][0]
    run_cli(["entities", "flags", "--db", world["db"], "--run", "own"])
    res = run_cli(["entities", "show", case["supplier"], "--db", world["db"], "--json"])
    assert res.code == 0, res.output
    shown = json.loads(res.stdout)
    assert shown["node"] == f"org:{case['supplier']}" and shown["kind"] == "company"
    assert {link["edge"]["kind"] for link in shown["links"]} >= {"founder", "director"}
    assert any(f["code"] == "CI001" for f in shown["flags"])
    assert run_cli(["entities", "show", "000000000000", "--db", world["db"]]).code == 2
    graphml = world["dir"] / "g.graphml"
    assert run_cli(["entities", "export", "--format", "graphml", "--out", graphml, "--db", world["db"]]).code == 0
    g = nx.read_graphml(graphml)
    assert g.nodes[f"org:{case['supplier']}"]["kind"] == "company"
    assert g.nodes[f"person:{case['official_iin']}"]["kind"] == "official"
    ftm = world["dir"] / "g.ftm.jsonl"
    assert run_cli(["entities", "export", "--format", "ftm", "--out", ftm, "--db", world["db"]]).code == 0
    from followthemoney import model

    entities = [model.get_proxy(json.loads(line)) for line in ftm.read_text(encoding="utf-8").splitlines()]
    schemata = {e.schema.name for e in entities}
    assert {"Person", "Company", "PublicBody", "Ownership", "Directorship", "Family", "Employment"} <= schemata
    official = [e for e in entities if case["official_iin"] in e.get("idNumber", quiet=True)]
    assert len(official) == 1 and "role.pep" in official[0].get("topics")
    assert run_cli(["entities", "export", "--format", "csv", "--out", ftm, "--db", world["db"]]).code == 2


def test_conflict_flags_feed_the_risk_score(world: dict[str, Any]) -> None:
    """Added to an `aiqyn flags run`, the conflict flags count in its risk scores with their own weight."""
    import duckdb

    res = run_cli(["flags", "run", "-q", "--db", world["db"], "--only", "R018"])
    assert res.code == 0, res.output
    res = run_cli(["entities", "flags", "--db", world["db"]])  # into the latest run, scored again
    assert res.code == 0, res.output
    assert "computed again with the conflict" in res.stdout
    con = duckdb.connect(str(world["db"]), read_only=True)
    try:
        run_id, = con.execute("SELECT run_id FROM flag_runs WHERE mode <> 'conflicts' "
                              "ORDER BY finished_at DESC LIMIT 1").fetchone()  # type: ignore[misc]
        ocid, = con.execute("SELECT subject_id FROM flags WHERE run_id = ? AND code = 'CI001' LIMIT 1",
                            [run_id]).fetchone()  # type: ignore[misc]
        score, explanation = con.execute(
            "SELECT score, explanation FROM scores WHERE run_id = ? AND subject_type = 'process' AND subject_id = ?",
            [run_id, ocid]).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    parts = {p["code"]: p for p in json.loads(explanation)}
    assert "CI001" in parts and parts["CI001"]["weight"] == 4.0
    assert score > 0 and sum(p["contribution"] for p in parts.values()) == pytest.approx(score)
