"""`aiqyn expertise`: anti-corruption expertise of a draft legal act, and the evaluation of the factor rules.

    aiqyn expertise DRAFT [--out DIR] [--format html|json|both]     (same as `aiqyn expertise analyse DRAFT`)
    aiqyn expertise evaluate [--json] [--min 0.85]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from aiqyn.console import fail as _fail

console = Console()
err = Console(stderr=True)


class _DefaultAnalyse(TyperGroup):
    """`aiqyn expertise DRAFT` runs `analyse DRAFT`: a first argument that is no sub-command is a draft."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["analyse", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultAnalyse,
    help="Anti-corruption expertise of draft legal acts (Russian, Kazakh): flag the provisions whose wording "
         "creates corruption risks. `aiqyn expertise DRAFT` is short for `aiqyn expertise analyse DRAFT`.",
    no_args_is_help=True,
)


@app.command()
def analyse(
    draft: Annotated[Path, typer.Argument(help="The draft: .txt, .docx, .pdf (with a text layer) or .html.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the report files.")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, json or both.")] = "both",
    lang: Annotated[str, typer.Option("--lang", help="Language of the explanations in HTML: ru or en.")] = "ru",
) -> None:
    """Write the expertise report of DRAFT: DRAFT_NAME.expertise.html and/or .json in --out.

    Exit code: 0 when the report was written (whether or not anything was flagged), 2 when the draft cannot be
    read (the message names the file and the reason).
    """
    from aiqyn.expertise import DraftError, render_html, to_json
    from aiqyn.expertise import analyse as run_analysis

    if fmt not in ("html", "json", "both"):
        _fail(f"--format {fmt!r}: expected html, json or both")
    if lang not in ("ru", "en"):
        _fail(f"--lang {lang!r}: expected ru or en")
    try:
        report = run_analysis(draft)
    except DraftError as exc:
        _fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt in ("html", "both"):
        path = out / f"{draft.stem}.expertise.html"
        path.write_text(render_html(report, lang), encoding="utf-8")
        written.append(path)
    if fmt in ("json", "both"):
        path = out / f"{draft.stem}.expertise.json"
        path.write_text(to_json(report), encoding="utf-8")
        written.append(path)
    s = report.summary()
    per = ", ".join(f"{code} {n}" for code, n in s["flags_per_factor"].items() if n)
    console.print(f"{escape(str(draft))}: {s['provisions']} provisions ({report.document.lang}), "
                  f"{s['provisions_flagged']} flagged, {s['flags']} flags" + (f" ({per})" if per else ""),
                  soft_wrap=True)
    for path in written:
        console.print(f"wrote {escape(str(path))}", soft_wrap=True)


@app.command()
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    minimum: Annotated[float, typer.Option("--min", help="Exit 1 when a factor's precision or recall on the whole "
                                           "set falls below this.")] = 0.0,
    errors: Annotated[bool, typer.Option("--errors", help="Also list the provisions the rules got wrong.")] = False,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown tables (as in the docs).")] = False,
) -> None:
    """Precision and recall of every factor on the labelled evaluation set, per language, for the development
    part, the holdout part and both together."""
    from aiqyn.expertise.evaluate import evaluate as run_eval
    from aiqyn.expertise.evaluate import load_parts
    from aiqyn.expertise.rules import BY_CODE

    parts = load_parts()
    results = {name: run_eval(items) for name, items in parts.items()}
    if as_json:
        print(json.dumps({name: ev.to_dict() for name, ev in results.items()}, ensure_ascii=False, indent=2))
    elif as_markdown:
        from aiqyn.expertise.evaluate import markdown

        print(markdown(results))
    else:
        for name, ev in results.items():
            _print_eval(name, ev, BY_CODE)
            if errors and ev.errors:
                for e in ev.errors:
                    console.print(f"  {e['id']}: labelled {e['labelled']}, flagged {e['flagged']}: "
                                  f"{escape(e['text'])}", soft_wrap=True)
    total = results["all"]
    below = [f"{code} (P {c.precision:.2f}, R {c.recall:.2f})" for (code, lang), c in sorted(total.counts.items())
             if lang == "all" and (c.precision < minimum or c.recall < minimum)]
    if below:
        err.print(f"below {minimum}: " + ", ".join(below), soft_wrap=True)
        raise typer.Exit(1)


def _print_eval(name: str, ev: Any, by_code: dict[str, Any]) -> None:
    n = sum(ev.provisions.values())
    clean = sum(ev.clean.values())
    t = Table(title=f"{name}: {n} provisions ({', '.join(f'{k} {v}' for k, v in sorted(ev.provisions.items()))}), "
                    f"{clean} without any factor")
    t.add_column("factor")
    for col in ("lang", "labelled", "TP", "FP", "FN", "precision", "recall"):
        t.add_column(col, justify="right")
    for code in by_code:
        for lang in ("ru", "kk", "all"):
            c = ev.counts.get((code, lang))
            if c is None:
                continue
            t.add_row(code if lang == "ru" else "", lang,
                      str(c.support), str(c.tp), str(c.fp), str(c.fn), f"{c.precision:.3f}", f"{c.recall:.3f}",
                      end_section=lang == "all")
    console.print(t)
    console.print("  " + "; ".join(f"{code} {f.names['en'].lower()}" for code, f in by_code.items()), soft_wrap=True)
