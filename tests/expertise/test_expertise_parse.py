"""Drafts in every format cut into articles, paragraphs and sub-paragraphs; bad input named and explained."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from expertise_drafts import DATA, DRAFT_KK, DRAFT_RU, draft_docx, draft_txt, minimal_pdf  # noqa: F401

from aiqyn.expertise.parse import DraftError, parse_file, parse_text

RU_IDS = ["pre", "a1.intro", "a1.s1", "a1.s2", "a2.p1", "a2.p2", "a2.p2.s1", "a2.p2.s2", "a2.p3", "a3", "a4"]


def test_russian_structure() -> None:
    doc = parse_text(DRAFT_RU)
    assert doc.lang == "ru"
    assert doc.title == "ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН. О выдаче разрешений на размещение рекламы (проект)"
    assert [p.id for p in doc.provisions] == RU_IDS
    by_id = {p.id: p for p in doc.provisions}
    sub = by_id["a2.p2.s2"]
    assert sub.label == "Статья 2, пункт 2, подпункт 2)"
    assert sub.text == "иные основания."
    assert sub.lead == "Основаниями для отказа являются:"
    assert sub.article == "Статья 2. Выдача разрешений"
    assert "вправе приостановить" in sub.article_text  # the whole article, for factors looking for what is missing
    assert by_id["a1.s1"].lead == "В настоящем Законе используются следующие понятия:"


def test_kazakh_structure() -> None:
    doc = parse_text(DRAFT_KK)
    assert doc.lang == "kk"
    assert doc.title == "ҚАЗАҚСТАН РЕСПУБЛИКАСЫНЫҢ ЗАҢЫ. Жарнама орналастыруға рұқсат беру туралы (жоба)"
    assert [p.id for p in doc.provisions] == ["a1.p1", "a1.p2", "a1.p2.s1", "a1.p2.s2", "a2"]
    by_id = {p.id: p for p in doc.provisions}
    assert by_id["a1.p2.s2"].label == "1-бап, 2-тармақ, 2) тармақша"
    assert by_id["a1.p2.s2"].lead == "Бас тарту үшін мыналар негіз болып табылады:"
    assert by_id["a2"].article == "2-бап. Қолданысқа енгізу"


def test_rules_without_articles_and_inserted_numbers() -> None:
    doc = parse_text("Правила выдачи справок\n1. Справка выдается бесплатно.\n1-1. Справка выдается\nна "
                     "бланке.\n2. Порядок:\n1) подача;\n1-1) проверка;\nа) первичная;\n2) выдача.")
    assert [(p.id, p.text) for p in doc.provisions] == [
        ("p1", "Справка выдается бесплатно."), ("p1-1", "Справка выдается на бланке."), ("p2", "Порядок:"),
        ("p2.s1", "подача;"), ("p2.s1-1", "проверка;"), ("p2.s1-1.а", "первичная;"), ("p2.s2", "выдача."),
    ]


@pytest.mark.parametrize("name", ["draft_txt", "draft_docx"])
def test_text_and_docx_give_the_same_structure(name: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(name)
    doc = parse_file(path)
    assert [p.id for p in doc.provisions] == RU_IDS
    assert doc.fmt == {"draft_txt": "text", "draft_docx": "docx"}[name]


def test_pdf_with_text_layer() -> None:
    doc = parse_file(DATA / "draft-ru.pdf")  # printed from draft-ru.html by headless Chromium
    assert doc.fmt == "pdf"
    assert [p.id for p in doc.provisions] == ["a1.p1", "a1.p2", "a2.p1", "a2.p1.s1", "a2.p1.s2", "a2.p2"]
    # a line broken by the PDF is joined back into its paragraph
    assert doc.provisions[0].text == "Места в общежитиях распределяет местный исполнительный орган по решению комиссии."


def test_html_from_a_portal_drops_menus_scripts_and_footers() -> None:
    doc = parse_file(DATA / "draft-ru.html")
    assert doc.fmt == "html"
    assert [p.id for p in doc.provisions] == ["a1.p1", "a1.p2", "a2.p1", "a2.p1.s1", "a2.p1.s2", "a2.p2"]
    text = " ".join(p.text for p in doc.provisions)
    assert "Скрипт" not in text and "Подвал" not in text and "Главная" not in doc.title


def test_cp1251_text(tmp_path: Path) -> None:
    path = tmp_path / "draft-1251.txt"
    path.write_bytes(DRAFT_RU.encode("cp1251"))
    assert [p.id for p in parse_file(path).provisions] == RU_IDS


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "the file is empty"),
    ("blank.txt", b"  \n\n ", "the file is empty"),
    ("scan.pdf", minimal_pdf(), "no text layer"),
    ("broken.pdf", b"%PDF-1.4\nthis is not a pdf", "PDF"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old binary Word (.doc)"),
    ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "unknown format"),
    ("fake.docx", b"plain text pretending", "not a DOCX"),
    ("archive.docx", None, "a ZIP archive, not a DOCX"),
])
def test_bad_input_names_the_file_and_the_reason(tmp_path: Path, name: str, content: bytes | None,
                                                 reason: str) -> None:
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(DraftError) as exc:
        parse_file(path)
    assert str(path) in str(exc.value) and reason in str(exc.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DraftError, match="no such file"):
        parse_file(tmp_path / "nope.txt")
    with pytest.raises(DraftError, match="is a directory"):
        parse_file(tmp_path)
