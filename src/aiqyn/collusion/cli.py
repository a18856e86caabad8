"""`aiqyn collusion ...`: bid-rigging screens and the collusion model on bid tables (CSV)."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aiqyn.console import fail as _fail

app = typer.Typer(help="Bid-rigging screens and the collusion model (bid tables as CSV: Tender,Bid_value,"
                  "[Winner],[Competitors],[Lot],[Category],[Estimate]).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DEFAULT_MODEL = "default.skops"
FeaturesOption = Annotated[str, typer.Option(
    "--features", help="Feature set: 'screens' (the bids and winner of each tender; transfers better between "
    "countries), 'all' (adds pair and group features, which need bidder ids: Competitors) or 'full' (adds the "
    "bids' shape, the tender's size, the bidders' history in the training tenders and, where the table has "
    "them, the bids against the Estimate and the Category of works: for use within one market).")]


def _feature_set(name: str) -> tuple[str, ...]:
    from aiqyn.collusion.model import FEATURE_SETS

    if name not in FEATURE_SETS:
        _fail(f"--features {name!r}: expected one of {', '.join(FEATURE_SETS)}")
    return FEATURE_SETS[name]


def default_model_path() -> Path:
    """The model shipped with the package, trained on all the labelled data (see its report, default.json)."""
    return Path(str(resources.files("aiqyn.collusion") / "models" / DEFAULT_MODEL))


def _read(paths: list[Path], require_label: bool) -> list[Any]:
    from aiqyn.collusion.data import BidTableError, read_many

    try:
        return read_many(paths, require_label=require_label)
    except BidTableError as e:
        _fail(str(e))
        raise AssertionError from e  # unreachable: _fail exits


def _report_path(model: Path) -> Path:
    return model.with_suffix(".json")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def _wide() -> Console:
    # Tables need about 150 columns; rich assumes 80 when the output is a file or a pipe.
    return console if console.is_terminal else Console(width=160)


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title)
    cols = ["setting", "test", "train", "tenders", "rigged", "accuracy", "balanced_accuracy", "precision",
            "recall", "roc_auc"]
    for c in cols:
        t.add_column(c.replace("_", " "), justify="left" if c in ("setting", "test", "train") else "right")
    for r in rows:
        shown = {**r, "train": "the others" if r.get("setting") == "cross-country" else r.get("train", "")}
        t.add_row(*[_fmt(shown.get(c, "")) for c in cols])
    return t


@app.command()
def train(
    files: Annotated[list[Path], typer.Argument(help="Labelled bid tables (CSV with Collusive_competitor).")],
    model: Annotated[Path, typer.Option("--model", help="Where to write the model (skops); its report goes "
                                        "beside it with the suffix .json.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and data give the same model.")] = 42,
    with_evaluation: Annotated[bool, typer.Option(
        "--evaluate", help="Also run `collusion evaluate` on the same files and put its figures in the report.")
    ] = False,
    features: FeaturesOption = "screens",
) -> None:
    """Train the tender-level collusion classifier on labelled bid tables.

    Gradient-boosted trees over the screens (and winner and pair features where the tables have them),
    calibrated with isotonic regression on out-of-fold scores; the threshold maximises balanced accuracy
    out of fold. The model file records the features, the threshold, the SHA-256 of every training file and
    the figures.
    """
    from aiqyn.collusion import model as m

    feature_list = _feature_set(features)
    tables = _read(files, require_label=True)
    try:
        fitted = m.train(tables, features=feature_list, seed=seed)
    except ValueError as e:
        _fail(str(e))
    if with_evaluation:
        fitted.metrics["evaluation"] = m.evaluate(tables, features=feature_list, seed=seed)
    m.save(fitted, model)
    report = {"model": model.name, "format": fitted.format, "features": fitted.features,
              "threshold": fitted.threshold, "seed": seed, "training": fitted.training,
              "metrics": fitted.metrics, "versions": fitted.versions,
              "command": "aiqyn collusion train " + " ".join(p.name for p in files)
              + f" --model {model.name} --seed {seed} --features {features}"
              + (" --evaluate" if with_evaluation else "")}
    _report_path(model).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    oof = fitted.metrics["out_of_fold"]
    console.print(f"trained on {oof['tenders']:,} tenders ({oof['rigged']:,} rigged) from {len(tables)} file(s); "
                  f"threshold {fitted.threshold:.3f}; out-of-fold balanced accuracy "
                  f"{oof['balanced_accuracy']:.3f}, ROC AUC {oof['roc_auc']:.3f}; wrote {escape(str(model))} and "
                  f"{escape(str(_report_path(model)))}", soft_wrap=True)
    if with_evaluation:
        _wide().print(_table(fitted.metrics["evaluation"], "Evaluation (tender level)"))


@app.command()
def predict(
    bids: Annotated[Path, typer.Argument(help="A bid table: Tender,Bid_value and optionally Winner,Competitors,Lot,"
                                         "Category (kind of works),Estimate (pre-tender estimate).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write Tender,probability,label (CSV).")],
    model: Annotated[Path | None, typer.Option(
        "--model", help="A model from `collusion train`; the shipped default model when omitted.")] = None,
    with_screens: Annotated[bool, typer.Option("--screens", help="Add the screens as evidence columns.")] = False,
) -> None:
    """Score every tender of a bid table: the probability that it was rigged, and the label at the model's
    threshold (1 = collusive)."""
    from aiqyn.collusion import model as m

    (table,) = _read([bids], require_label=False)
    path = model or default_model_path()
    if not path.is_file():
        _fail(f"{path}: no such model file (train one with `aiqyn collusion train`)")
    try:
        fitted = m.load(path)
    except Exception as e:  # a corrupt or foreign file: skops and zipfile raise many types
        _fail(f"{path}: cannot read the model: {e}")
    feats = fitted.features_of(table.bids)
    pred = fitted.predict(feats)
    res = pred.reset_index().drop(columns=["dataset"])
    res = res.rename(columns={"tender": "Tender", "lot": "Lot"})
    if not (res["Lot"] != "").any():
        res = res.drop(columns=["Lot"])
    if with_screens:
        res = res.join(feats[fitted.features].reset_index(drop=True))
    order = {t: i for i, t in enumerate(dict.fromkeys(table.bids["tender"]))}
    res = res.sort_values("Tender", key=lambda s: s.map(order), kind="stable")
    out.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(out, index=False, float_format="%.6g")
    console.print(f"scored {len(res):,} tenders of {escape(str(bids))}: {int(res['label'].sum()):,} collusive at "
                  f"threshold {fitted.threshold:.3f}; wrote {escape(str(out))}", soft_wrap=True)


@app.command()
def evaluate(
    files: Annotated[list[Path], typer.Argument(help="Labelled bid tables; each file is one dataset (country).")],
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of the within-dataset cross-validation.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the folds and the trees.")] = 42,
    as_json: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
    features: FeaturesOption = "screens",
) -> None:
    """Accuracy, balanced accuracy, precision, recall and ROC AUC of the collusion model, per tender:
    k-fold cross-validation within each dataset (grouped by tender), and trained on the other datasets and
    tested on each one (cross-country, leave one dataset out)."""
    from aiqyn.collusion import model as m

    feature_list = _feature_set(features)
    tables = _read(files, require_label=True)
    rows = m.evaluate(tables, features=feature_list, seed=seed, folds=folds)
    if not rows:
        _fail("nothing to evaluate: each dataset needs at least two rigged and two competitive tenders")
    _wide().print(_table(rows, f"Collusion model, tender level (features {features}, seed {seed}, "
                               f"{folds}-fold within)"))
    if as_json:
        as_json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


@app.command()
def screens(
    bids: Annotated[Path, typer.Argument(help="A bid table: Tender,Bid_value and optionally Winner,Competitors,Lot.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the screens of each tender (CSV).")],
) -> None:
    """Compute the screens of each tender (and lot): N, CV, SPD, DIFFP, RD, RDNOR, RDALT, KURT, SKEW, KSTEST,
    TIES, and the winner and pair features where the table allows. Empty cells are undefined screens."""
    from aiqyn.collusion.model import ALL_FEATURES, tender_features

    (table,) = _read([bids], require_label=False)
    feats = tender_features(table.bids)
    res = feats[list(ALL_FEATURES)].reset_index().drop(columns=["dataset"])
    res = res.rename(columns={"tender": "Tender", "lot": "Lot"})
    if not (res["Lot"] != "").any():
        res = res.drop(columns=["Lot"])
    out.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(out, index=False, float_format="%.6g")
    console.print(f"wrote the screens of {len(res):,} tenders to {escape(str(out))}", soft_wrap=True)


@app.command()
def rings(
    db: Annotated[Path, typer.Option("--db", help="The store (DuckDB), opened read-only.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the rings to this file: CSV, or JSON when the name ends in .json.")] = None,
    min_cobids: Annotated[int, typer.Option(
        "--min-cobids", min=2, help="A pair of firms counts when they bid together in at least this many "
        "processes.")] = 3,
    min_jaccard: Annotated[float, typer.Option(
        "--min-jaccard", min=0.0, max=1.0, help="... and in at least this share of the processes either bid "
        "in.")] = 0.5,
    since: Annotated[str | None, typer.Option("--since", help="Only processes from this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only processes up to this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Rings shown on screen (0: all).")] = 20,
) -> None:
    """Suspected bid-rigging rings in the store: groups of firms that bid together in many processes and
    rotate wins or price identically or at fixed gaps, with their evidence (members, processes together, wins
    per member, rotation)."""
    from aiqyn.collusion.rings import RingsError, store_rings
    from aiqyn.store.db import connect

    if not db.is_file():
        _fail(f"{db}: no such store")
    con = connect(db, read_only=True)
    try:
        found = store_rings(con, min_cobids=min_cobids, min_jaccard=min_jaccard, since=since, until=until)
    except RingsError as e:
        _fail(str(e))
    finally:
        con.close()
    t = Table(title=f"Suspected rings ({len(found):,}; pairs with >= {min_cobids} processes together)")
    for c in ("ring", "size", "tenders", "won", "rotation", "identical/fixed-gap pairs", "wins per member"):
        t.add_column(c, justify="left" if c == "wins per member" else "right")
    shown = found if limit == 0 else found.head(limit)
    for r in shown.itertuples():
        t.add_row(str(r.ring), str(r.size), str(r.tenders), str(r.won), f"{r.rotation:.2f}",
                  f"{r.identical_pairs}/{r.fixed_gap_pairs}",
                  escape(", ".join(f"{m} {w}" for m, w in r.wins.items())))
    _wide().print(t)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        records = found.to_dict(orient="records")
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            flat = found.assign(
                members=found["members"].map(";".join),
                wins=found["wins"].map(lambda w: ";".join(f"{m}={n}" for m, n in w.items())),
                ocids=found["ocids"].map(lambda o: ";".join(o[:50])))
            flat.to_csv(out, index=False)
        console.print(f"wrote {len(found):,} rings to {escape(str(out))}", soft_wrap=True)
