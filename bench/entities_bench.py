"""Entity-resolution benchmark: the founders and directors of N companies resolved against M officials (and their
declared relatives), against the bare cost of reading the same registers.

Usage: python bench/entities_bench.py [--companies 100000] [--officials 50000] [--seed 1]   (figures in
bench/README.md)

Writes synthetic registers once (cached in bench/out/entities-N-M/, not committed) with the generator's people
and noise (aiqyn.generate.registers: Kazakh/Russian Cyrillic, passport and 2021 Latin, name order, patronymics
dropped, typos; namesakes of officials; officials named without a date of birth), then measures in one run:
  1. bare cost: DuckDB reading the two CSV files (count(*) FROM read_csv) and Python's csv module reading them;
  2. `aiqyn registers import` of officials, relatives and companies (validation included);
  3. `aiqyn entities resolve`;
and checks precision and recall of the name matches against the registers' truth.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.conflicts.registers import import_register
from aiqyn.conflicts.resolve import evaluate, resolve
from aiqyn.generate.registers import POSITIONS, RELATIONS, Person, RegistersGenerator
from aiqyn.ids import make_bin
from aiqyn.store.db import open_store

ROOT = Path(__file__).resolve().parent


def write_registers(out: Path, companies: int, officials: int, seed: int) -> dict[str, Any]:
    rg = RegistersGenerator(None, [], seed, {})
    rng = rg.rng
    out.mkdir(parents=True, exist_ok=True)
    staff: list[Person] = []
    related: list[Person] = []
    with (out / "officials.csv").open("w", encoding="utf-8", newline="") as fo, \
            (out / "relatives.csv").open("w", encoding="utf-8", newline="") as fr:
        wo, wr = csv.writer(fo, lineterminator="\n"), csv.writer(fr, lineterminator="\n")
        wo.writerow(["iin", "full_name", "position", "organisation_bin", "servant_kind", "in_office_from"])
        wr.writerow(["official_iin", "relative_iin", "relative_name", "relation", "birth_date"])
        orgs = [make_bin(2000 + i % 20, 1 + i % 12, i) for i in range(officials // 4 + 1)]
        for i in range(officials):
            p = rg.person(first_year=1945, last_year=2000)
            rg.person_ids[p.iin] = p.iin
            staff.append(p)
            position, kind = rng.choice(POSITIONS)
            wo.writerow([p.iin, p.canonical(rng.random() < 0.3), position, orgs[i // 4] or orgs[0], kind,
                         "2019-01-09"])
            for relation in rng.sample(RELATIONS, rng.randint(1, 2)):
                r = rg.person(surname=p.surname if relation != "sibling_in_law" else None, first_year=1945,
                              last_year=2005)
                related.append(r)
                rg.person_ids[r.iin] = r.iin
                wr.writerow([p.iin, r.iin, r.canonical(), relation, r.birth.isoformat()])
    links, namesakes = [], []
    with (out / "companies.csv").open("w", encoding="utf-8", newline="") as fc:
        wc = csv.writer(fc, lineterminator="\n")
        wc.writerow(["bin", "name_ru", "founders", "directors"])
        for i in range(companies):
            number = None
            serial = i
            while number is None:
                number = make_bin(2000 + i % 24, 1 + i % 12, serial % 100000, office=i // 100000 % 4)
                serial += 100_000_007
            people: dict[str, list[str]] = {"founder": [], "director": []}
            for role, k in (("founder", rng.randint(1, 2)), ("director", 1)):
                for _ in range(k):
                    mention_id = f"{number}/{role}/{len(people[role])}"
                    u = rng.random()
                    if u < 0.02:
                        o = rng.choice(staff)
                        twin = rg.person(surname=o.surname, first=o.first, male=o.male, first_year=1945,
                                         last_year=2005)
                        twin.father = o.father
                        people[role].append(f"{rg.noisy_name(twin)}, {twin.birth.isoformat()}")
                        namesakes.append([mention_id, o.iin])
                    elif u < 0.06:
                        p = rng.choice(staff if rng.random() < 0.5 else related)
                        people[role].append(f"{rg.noisy_name(p)}, {p.birth.isoformat()}")
                        links.append([mention_id, p.iin])
                    elif u < 0.08:
                        people[role].append(rng.choice(staff if rng.random() < 0.5 else related).iin)
                    elif u < 0.5:
                        people[role].append(rg.person(first_year=1945, last_year=2005).iin)
                    else:
                        p = rg.person(first_year=1945, last_year=2005)
                        people[role].append(f"{rg.noisy_name(p)}, {p.birth.isoformat()}")
            wc.writerow([number, f"ТОО «Компания {i}»", ";".join(people["founder"]), ";".join(people["director"])])
    truth = {"registers": {"linkage": {"links": sorted(links), "unresolvable": [], "namesakes": sorted(namesakes)}}}
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--companies", type=int, default=100_000)
    ap.add_argument("--officials", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = ROOT / "out" / f"entities-{args.companies}-{args.officials}"
    if not (out / "truth.json").exists():
        started = time.monotonic()
        write_registers(out, args.companies, args.officials, args.seed)
        print(f"generated registers in {time.monotonic() - started:.1f} s", file=sys.stderr)
    rows: list[tuple[str, float]] = []

    def step(name: str, fn: Any) -> Any:
        started = time.monotonic()
        value = fn()
        rows.append((name, time.monotonic() - started))
        return value

    def bare_duckdb() -> int:
        con = duckdb.connect()
        n = 0
        for f in ("officials.csv", "companies.csv"):
            n += con.execute(f"SELECT count(*) FROM read_csv('{out / f}', all_varchar = true)").fetchone()[0]
        return n

    def bare_python() -> int:
        n = 0
        for f in ("officials.csv", "companies.csv"):
            with (out / f).open(encoding="utf-8", newline="") as fh:
                n += sum(1 for _ in csv.reader(fh))
        return n

    step("bare: DuckDB reads officials.csv + companies.csv", bare_duckdb)
    step("bare: Python csv reads officials.csv + companies.csv", bare_python)
    db = out / "bench.duckdb"
    db.unlink(missing_ok=True)
    con = open_store(db)
    for kind in ("officials", "relatives", "companies"):
        result = step(f"aiqyn registers import {kind}", lambda kind=kind: import_register(con, kind, out /
                                                                                           f"{kind}.csv"))
        assert not result.rejects, result.rejects[:3]
    r = step("aiqyn entities resolve", lambda: resolve(con))
    quality = evaluate(con, out / "truth.json")
    con.close()
    officials = len((out / "officials.csv").read_text(encoding="utf-8").splitlines()) - 1
    print(f"\n{args.companies:,} companies ({r.mentions:,} founders and directors) against {officials:,} officials "
          f"and their relatives (seed {args.seed})\n")
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"\nlinked by IIN {r.by_iin:,}, by name {r.by_name:,}; pairs compared {r.compared:,}; precision "
          f"{quality['precision']}, recall {quality['recall']} ({quality['true_positives']:,} of "
          f"{quality['links_expected']:,}); namesakes merged {len(quality['namesakes_merged'])} of "
          f"{quality['namesakes']:,}")


if __name__ == "__main__":
    main()
