"""`aiqyn expertise` through its entry point: reports written, stable flag ids, bad drafts, the evaluation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from expertise_drafts import DATA, draft_docx, draft_txt  # noqa: F401

from conftest import run_cli

REPO = Path(__file__).resolve().parents[2]


def _report(out: Path, stem: str = "draft") -> dict:  # type: ignore[type-arg]
    return json.loads((out / f"{stem}.expertise.json").read_text(encoding="utf-8"))


def test_short_form_writes_html_and_json(tmp_path: Path, draft_txt: Path) -> None:  # noqa: F811
    res = run_cli(["expertise", draft_txt, "--out", tmp_path / "out"])
    assert res.code == 0, res.output
    assert "11 provisions (ru), 4 flagged" in res.stdout
    data = _report(tmp_path / "out")
    flags = {(f["provision_id"], f["factor"]) for f in data["flags"]}
    assert flags == {("a2.p1", "AC02"), ("a2.p2.s2", "AC03"), ("a2.p3", "AC01"), ("a2.p3", "AC08"),
                     ("a3", "AC06")}
    assert data["summary"]["flags_per_factor"]["AC03"] == 1 and data["summary"]["provisions"] == 11
    prov = {p["id"]: p for p in data["provisions"]}
    assert prov["a2.p3"]["flags"] and prov["a4"]["flags"] == []
    html = (tmp_path / "out" / "draft.expertise.html").read_text(encoding="utf-8")
    assert '<mark class="f-AC02" title="AC02">разумный срок</mark>' in html


def test_long_form_json_only_and_stable_ids(tmp_path: Path, draft_txt: Path, draft_docx: Path) -> None:  # noqa: F811
    assert run_cli(["expertise", "analyse", draft_txt, "--out", tmp_path / "a", "--format", "json"]).code == 0
    assert not (tmp_path / "a" / "draft.expertise.html").exists()
    assert run_cli(["expertise", "analyse", draft_docx, "-o", tmp_path / "b", "-f", "json"]).code == 0
    ids_a = [f["id"] for f in _report(tmp_path / "a")["flags"]]
    ids_b = [f["id"] for f in _report(tmp_path / "b")["flags"]]
    assert ids_a == ids_b and len(set(ids_a)) == len(ids_a)  # same draft, any format: the same flag ids
    assert all(re.fullmatch(r"AC0\d-[\w.~-]+-[0-9a-f]{8}", i) for i in ids_a)


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    res = run_cli(["expertise", DATA / "draft-ru.pdf", "--out", tmp_path, "--format", "html", "--lang", "en"])
    assert res.code == 0
    html = (tmp_path / "draft-ru.expertise.html").read_text(encoding="utf-8")
    assert "<style>" in html and "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no CDN, no remote font or image
    assert "Broad discretion without criteria" in html and 'data-flag-id="AC01-a1.p2-' in html


@pytest.mark.parametrize(("content", "reason"), [(b"", "the file is empty"), (b"\x00\x01binary\x00", "unknown format")])
def test_bad_draft_exits_2_naming_the_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    res = run_cli(["expertise", path, "--out", tmp_path])
    assert res.code == 2 and str(path) in res.stderr and reason in res.stderr
    assert res.exception is None


def test_missing_draft_and_bad_options(tmp_path: Path, draft_txt: Path) -> None:  # noqa: F811
    res = run_cli(["expertise", tmp_path / "missing.docx"])
    assert res.code == 2 and "missing.docx: no such file" in res.stderr
    res = run_cli(["expertise", draft_txt, "--format", "pdf"])
    assert res.code == 2 and "--format 'pdf'" in res.stderr


def test_evaluate_prints_every_factor_and_meets_the_bar() -> None:
    res = run_cli(["expertise", "evaluate", "--min", "0.85"])
    assert res.code == 0, res.output
    for code in [f"AC0{i}" for i in range(1, 10)]:
        assert code in res.stdout
    assert "development: 387 provisions" in res.stdout and "holdout: 240 provisions" in res.stdout
    assert "fresh: 120 provisions" in res.stdout and "final: 120 provisions" in res.stdout


def test_evaluate_json_and_the_threshold_can_fail() -> None:
    res = run_cli(["expertise", "evaluate", "--json"])
    data = json.loads(res.stdout)
    assert set(data) == {"development", "holdout", "fresh", "final", "all"}
    rows = {(r["factor"], r["lang"]): r for r in data["all"]["factors"]}
    assert rows[("AC01", "all")]["support"] == rows[("AC01", "ru")]["support"] + rows[("AC01", "kk")]["support"]
    assert run_cli(["expertise", "evaluate", "--min", "1.01"]).code == 1  # nothing reaches 1.01: the check bites


def test_real_act_report() -> None:
    """An excerpt of a published act (docs/expertise/real): its one flag is the vague 'по мере необходимости'."""
    from aiqyn.expertise import analyse

    report = analyse(REPO / "docs" / "expertise" / "real" / "garant-406797843-ru.txt")
    assert [(f.provision_id, f.factor, [t.words for t in f.triggers]) for f in report.flags] == [
        ("p17", "AC07", ["по мере необходимости"])]


def test_docs_hold_the_figures_the_command_prints() -> None:
    res = run_cli(["expertise", "evaluate", "--markdown"])
    page = (REPO / "docs" / "expertise.md").read_text(encoding="utf-8")
    block = page.split("<!-- evaluate:begin -->\n", 1)[1].split("\n<!-- evaluate:end -->", 1)[0]
    stale = "docs/expertise.md is stale: paste `aiqyn expertise evaluate --markdown`"
    assert block.strip() == res.stdout.strip(), stale
    for code in [f"AC0{i}" for i in range(1, 10)]:
        assert f"| {code} |" in page  # every factor is documented


def test_kazakh_draft_report(tmp_path: Path) -> None:
    from expertise_drafts import DRAFT_KK

    path = tmp_path / "жоба.txt"
    path.write_text(DRAFT_KK, encoding="utf-8")
    assert run_cli(["expertise", path, "--out", tmp_path]).code == 0
    data = _report(tmp_path, "жоба")
    assert data["document"]["lang"] == "kk"
    assert {(f["provision_id"], f["factor"]) for f in data["flags"]} == {("a1.p1", "AC02"), ("a1.p2.s2", "AC03")}
    html = (tmp_path / "жоба.expertise.html").read_text(encoding="utf-8")
    assert "ақылға қонымды мерзімде" in html and "Отсутствие или неопределённость сроков" in html
