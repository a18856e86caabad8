"""Helpers of the expertise tests: small drafts in every input format."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

DRAFT_RU = """ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН
О выдаче разрешений на размещение рекламы (проект)
Настоящий Закон регулирует отношения, связанные с выдачей разрешений.
Глава 1. Общие положения
Статья 1. Основные понятия
В настоящем Законе используются следующие понятия:
1) разрешение – документ, подтверждающий право размещать рекламу;
2) заявитель – физическое или юридическое лицо.
Статья 2. Выдача разрешений
1. Уполномоченный орган рассматривает заявление в разумный срок.
2. Основаниями для отказа являются:
1) недостоверность сведений;
2) иные основания.
3. Уполномоченный орган вправе приостановить действие разрешения.
Статья 3. Плата
Плата за выдачу разрешения взимается в порядке, определяемом уполномоченным органом.
Статья 4. Вступление в силу
Настоящий Закон вводится в действие по истечении десяти календарных дней после его первого официального опубликования.
"""

DRAFT_KK = """ҚАЗАҚСТАН РЕСПУБЛИКАСЫНЫҢ ЗАҢЫ
Жарнама орналастыруға рұқсат беру туралы (жоба)
1-тарау. Жалпы ережелер
1-бап. Рұқсат беру
1. Уәкілетті орган өтінішті ақылға қонымды мерзімде қарайды.
2. Бас тарту үшін мыналар негіз болып табылады:
1) мәліметтердің дұрыс болмауы;
2) өзге де негіздер.
2-бап. Қолданысқа енгізу
Осы Заң алғашқы ресми жарияланған күнінен кейін күнтізбелік он күн өткен соң қолданысқа енгізіледі.
"""


def minimal_pdf(content: bytes = b"") -> bytes:
    """A valid one-page PDF whose page content stream is `content` (empty: a page without a text layer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def draft_txt(tmp_path: Path) -> Path:
    path = tmp_path / "draft.txt"
    path.write_text(DRAFT_RU, encoding="utf-8")
    return path


@pytest.fixture
def draft_docx(tmp_path: Path) -> Path:
    import docx

    document = docx.Document()
    for line in DRAFT_RU.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "draft.docx"
    document.save(str(path))
    return path
