"""`aiqyn.expertise.analyse`, the call the web page makes: text or path in, a report with stable ids out."""

from __future__ import annotations

from pathlib import Path

import pytest
from expertise_drafts import DRAFT_RU, draft_txt  # noqa: F401

from aiqyn.expertise import DraftError, analyse, render_html, to_dict


def test_text_and_path_give_the_same_report(draft_txt: Path) -> None:  # noqa: F811
    by_text, by_path, by_str = analyse(DRAFT_RU), analyse(draft_txt), analyse(str(draft_txt))
    ids = [f.id for f in by_text.flags]
    assert ids and ids == [f.id for f in by_path.flags] == [f.id for f in by_str.flags]
    assert by_path.document.source == str(draft_txt) and by_text.document.source == "<text>"
    assert by_text.document.sha256 == by_path.document.sha256


def test_a_changed_provision_gets_a_new_flag_id() -> None:
    before = {f.provision_id: f.id for f in analyse(DRAFT_RU).flags}
    after = {f.provision_id: f.id for f in analyse(DRAFT_RU.replace("в разумный срок", "в разумные сроки")).flags}
    assert before["a2.p1"] != after["a2.p1"] and before["a3"] == after["a3"]


def test_a_single_unnumbered_norm() -> None:
    report = analyse("Уполномоченный орган вправе продлить срок действия разрешения.")
    assert [(p.id, p.label) for p in report.document.provisions] == [("l1", "строка 1")]
    assert [f.factor for f in report.flags] == ["AC01"]


def test_missing_file_name_is_an_error_not_a_text(tmp_path: Path) -> None:
    with pytest.raises(DraftError, match="no such file"):
        analyse(str(tmp_path / "проект.docx"))


def test_report_dict_and_html_agree() -> None:
    report = analyse(DRAFT_RU)
    data = to_dict(report)
    html = render_html(report)
    assert data["schema"] == "aiqyn.expertise.report/1"
    assert sorted(data["factors"]) == [f"AC0{i}" for i in range(1, 10)]
    for flag in data["flags"]:
        assert f'data-flag-id="{flag["id"]}"' in html
        provision = next(p for p in data["provisions"] if p["id"] == flag["provision_id"])
        for t in flag["triggers"]:
            assert provision["text"][t["start"]:t["end"]] == t["words"]
    assert data["summary"]["top_provisions"][0] == "a2.p3"  # AC01 + AC08: the highest score
