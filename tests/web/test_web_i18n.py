"""The interface in Kazakh, Russian and English: complete Babel catalogs, the user's choice kept in a cookie."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from webkit import Site, module_site, store  # noqa: F401  (fixtures)

from aiqyn.web import i18n

WEB = i18n.I18N.parent


def extracted() -> set[str]:
    """Every message of the templates and the code, as `pybabel extract` with i18n/babel.cfg finds them."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(WEB), method_map, options):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_is_translated_in_every_language() -> None:
    messages = extracted()
    assert len(messages) > 150
    for lang in i18n.LANGUAGES:
        with i18n.catalog_path(lang).open("rb") as f:
            catalog = read_po(f, locale=lang)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
        missing = sorted(messages - set(have))
        assert not missing, f"{lang}: messages not in the catalog (pybabel update): {missing[:10]}"
        empty = sorted(k for k, v in have.items() if k in messages and not (v if isinstance(v, str) else all(v)))
        assert not empty, f"{lang}: untranslated: {empty[:10]}"
        if lang != "en":
            same = [k for k, v in have.items() if isinstance(v, str) and v == k and k.isalpha() and len(k) > 3]
            assert len(same) < 5, f"{lang}: copied instead of translated: {same}"
        stale = sorted(set(have) - messages)
        assert not stale, f"{lang}: messages no longer used: {stale[:10]}"


def test_language_from_cookie_then_browser_then_russian(module_site: Site) -> None:  # noqa: F811
    client = module_site.client()
    assert 'lang="ru"' in client.get("/").text
    assert 'lang="kk"' in client.get("/", headers={"Accept-Language": "kk-KZ,kk;q=0.9"}).text
    r = client.get("/lang/en?next=/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "kk"}).text
    assert 'lang="en"' in page and "Username" in page
    client.get("/lang/kk")
    page = client.get("/login").text
    assert 'lang="kk"' in page and "Пайдаланушы аты" in page
    client.get("/lang/ru")
    assert "Имя пользователя" in client.get("/login").text
    assert client.get("/lang/de").status_code == 404
    assert client.get("/lang/en?next=//evil.example/", follow_redirects=False).headers["location"] == "/"


def test_russian_plurals(module_site: Site) -> None:  # noqa: F811
    tr = i18n.translations("ru")
    forms = [tr.ngettext("%(num)s process", "%(num)s processes", n) % {"num": n} for n in (1, 3, 5, 21)]
    assert forms == ["1 закупка", "3 закупки", "5 закупок", "21 закупка"]
