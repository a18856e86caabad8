"""The generator: realistic, deterministic, with every planted scheme present in the data and the truth."""

import json
from collections import Counter

import orjson
import pytest

from aiqyn.generate import SCHEMES, SPLIT_THRESHOLD, generate
from aiqyn.ids import bin_registration, is_valid
from aiqyn.reference import kato_units, medicines


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    truth = generate(out, 3000, seed=11)
    releases = [orjson.loads(line) for line in (out / "releases.jsonl").read_bytes().splitlines()]
    return out, truth, releases


def test_deterministic_for_a_seed(tmp_path, dataset):
    out, _, _ = dataset
    generate(tmp_path, 3000, seed=11)
    assert (tmp_path / "releases.jsonl").read_bytes() == (out / "releases.jsonl").read_bytes()
    assert (tmp_path / "truth.json").read_bytes() == (out / "truth.json").read_bytes()
    generate(tmp_path / "other", 300, seed=12)
    assert (tmp_path / "other" / "releases.jsonl").read_bytes()[:2000] != (out / "releases.jsonl").read_bytes()[:2000]


def test_count_and_unique_ocids(dataset):
    _, truth, releases = dataset
    assert len(releases) == 3000 == truth["tenders"]
    assert len({r["ocid"] for r in releases}) == 3000


def test_parties_have_valid_bins_registered_before_they_act(dataset):
    _, _, releases = dataset
    districts = {u.kato for u in kato_units() if u.level == "district"}
    for r in releases[:500]:
        for p in r["parties"]:
            number = p["identifier"]["id"]
            assert is_valid(number), number
            assert p["details"]["katoCode"] in districts
            year, month = bin_registration(number)
            assert (year, month) <= (int(r["tender"]["tenderPeriod"]["startDate"][:4]), 12)


def test_methods_and_amounts_look_like_goszakup(dataset):
    _, _, releases = dataset
    methods = Counter(r["tender"]["procurementMethodDetails"] for r in releases)
    assert set(methods) == {"Запрос ценовых предложений", "Открытый конкурс", "Аукцион", "Из одного источника",
                            "Электронный магазин", "Товарная биржа"}
    assert methods.most_common(1)[0][0] == "Запрос ценовых предложений"
    values = sorted(r["tender"]["value"]["amount"] for r in releases)
    median, p99 = values[len(values) // 2], values[int(len(values) * 0.99)]
    assert p99 > 10 * median  # right-skewed, as real spending is
    assert all(r["tender"]["value"]["currency"] == "KZT" for r in releases)


def test_every_scheme_is_planted_and_visible_in_the_data(dataset):
    _, truth, releases = dataset
    by_ocid = {r["ocid"]: r for r in releases}
    assert set(truth["schemes"]) == set(SCHEMES)
    for name, scheme in truth["schemes"].items():
        assert scheme["processes"], name
        assert set(scheme["processes"]) <= set(by_ocid), name
    # splitting: every split purchase is under the threshold, and groups of one buyer exceed it together
    split = [by_ocid[o] for o in truth["schemes"]["splitting"]["processes"]]
    assert all(r["tender"]["value"]["amount"] < SPLIT_THRESHOLD for r in split)
    totals = Counter()
    for r in split:
        totals[(r["buyer"]["id"], r["tender"]["items"][0]["classification"]["id"])] += r["tender"]["value"]["amount"]
    assert any(v > SPLIT_THRESHOLD for v in totals.values())
    # favoured supplier: single bidder, the same supplier again and again at a captured buyer
    fav = [by_ocid[o] for o in truth["schemes"]["favoured_supplier"]["processes"]]
    assert all(len(r["bids"]["details"]) == 1 for r in fav)
    wins = Counter((r["buyer"]["id"], r["awards"][0]["suppliers"][0]["id"]) for r in fav)
    assert max(wins.values()) >= 5
    # amendment inflation: contract value well above the award, with amendments
    for o in truth["schemes"]["amendment_inflation"]["processes"]:
        r = by_ocid[o]
        assert r["contracts"][0]["value"]["amount"] >= 1.29 * r["awards"][0]["value"]["amount"]
        assert r["contracts"][0]["amendments"]
    # shared contacts: two distinct bidders with one phone or one address
    for o in truth["schemes"]["shared_contacts"]["processes"]:
        bidders = [p for p in by_ocid[o]["parties"] if "tenderer" in p["roles"]]
        phones = Counter(p["contactPoint"]["telephone"] for p in bidders)
        streets = Counter(p["address"]["streetAddress"] for p in bidders)
        assert max(phones.values()) >= 2 or max(streets.values()) >= 2
    # new winner: registered at most 2 months before the tender started
    for o in truth["schemes"]["new_winner"]["processes"]:
        r = by_ocid[o]
        winner = r["awards"][0]["suppliers"][0]["id"].removeprefix("KZ-BIN-")
        year, month = bin_registration(winner)
        start = r["tender"]["tenderPeriod"]["startDate"]
        months = (int(start[:4]) - year) * 12 + int(start[5:7]) - month
        assert 0 <= months <= 2


def test_medicines_priced_under_their_ceiling_unless_overpriced(dataset):
    _, truth, releases = dataset
    ceilings = {m.atc: m.ceiling_price for m in medicines()}
    overpriced = set(truth["schemes"]["overpricing"]["processes"])
    seen = 0
    for r in releases:
        for it in r["tender"]["items"]:
            if it["classification"]["scheme"] == "ATC" and r["ocid"] not in overpriced:
                seen += 1
                # the same ATC code may carry several forms with different ceilings: compare with the largest
                best = max(m.ceiling_price for m in medicines() if m.atc == it["classification"]["id"])
                assert it["unit"]["value"]["amount"] <= best
    assert seen > 0 and ceilings


def test_cli_generate_and_bad_rate(tmp_path):
    from typer.testing import CliRunner

    from aiqyn.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["generate", "--tenders", "200", "--seed", "3", "--out", str(tmp_path),
                                 "--rate", "bid_rigging=0.1", "--gzip"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "releases.jsonl.gz").exists()
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["schemes"]["bid_rigging"]["rate"] == 0.1
    bad = runner.invoke(app, ["generate", "--tenders", "10", "--out", str(tmp_path), "--rate", "nonsense=0.1"])
    assert bad.exit_code == 2
    assert "nonsense" in bad.output


def test_sharded_layout_is_the_same_whatever_the_jobs(tmp_path):
    """`--jobs N`: shards of a fixed size, each from its own random stream; the files and the truth do not depend
    on N (one process, or N worker processes), every shard holds exactly its count, and the companies that
    different shards create never share a BIN or a phone (each draws from its own residue class)."""
    outs = {}
    for jobs in (1, 3):
        outs[jobs] = tmp_path / f"jobs{jobs}"
        truth = generate(outs[jobs], 2300, seed=21, jobs=jobs, shard_size=500)
    names = sorted(p.name for p in outs[1].iterdir())
    assert names == sorted(p.name for p in outs[3].iterdir())
    shards = [n for n in names if n.startswith("releases-")]
    assert shards == [f"releases-{i:05d}.jsonl" for i in range(5)] == truth["shards"]["files"]
    assert not (outs[1] / "releases.jsonl").exists()
    for name in names:
        assert (outs[1] / name).read_bytes() == (outs[3] / name).read_bytes(), name
    releases = []
    for i, name in enumerate(shards):
        rows = [orjson.loads(line) for line in (outs[1] / name).read_bytes().splitlines()]
        assert len(rows) == (500 if i < 4 else 300), name
        releases.extend(rows)
    assert truth["tenders"] == 2300 == len({r["ocid"] for r in releases})
    for name, scheme in truth["schemes"].items():
        assert scheme["processes"] and set(scheme["processes"]) <= {r["ocid"] for r in releases}, name
    # a party id names one company everywhere (same name, phone, address), and shards' new companies are distinct
    seen: dict[str, tuple] = {}
    phones: dict[str, str] = {}
    for r in releases:
        for p in r["parties"]:
            key = (p["name"], p["contactPoint"]["telephone"], p["address"]["streetAddress"])
            assert seen.setdefault(p["id"], key) == key or r["ocid"] in truth["schemes"]["shared_contacts"][
                "processes"], p["id"]
            phone = p["contactPoint"]["telephone"]
            if r["ocid"] not in truth["schemes"]["shared_contacts"]["processes"]:
                assert phones.setdefault(phone, p["id"]) == p["id"], phone
    # the shards differ from one another and from the one-stream layout of the same seed
    generate(tmp_path / "one", 2300, seed=21)
    assert (tmp_path / "one" / "releases.jsonl").read_bytes()[:3000] != (outs[1] / shards[0]).read_bytes()[:3000]
    assert (outs[1] / shards[0]).read_bytes()[:3000] != (outs[1] / shards[1]).read_bytes()[:3000]
    # a one-stream layout written over the shards replaces them
    assert not list((tmp_path / "one").glob("releases-*"))
    generate(outs[1], 300, seed=21)
    assert not list(outs[1].glob("releases-*")) and (outs[1] / "releases.jsonl").exists()
    with pytest.raises(ValueError, match="jobs"):
        generate(tmp_path / "bad", 10, seed=1, jobs=0)


def test_no_registers_writes_the_same_releases_and_only_the_unreliable_register(tmp_path):
    """`--no-registers` (large runs): the same releases and truth of the schemes, the unreliable-suppliers register,
    and none of the other registers or public-control files, not even a stale one from an earlier run."""
    from typer.testing import CliRunner

    from aiqyn.cli import app
    from aiqyn.generate.generator import REGISTER_FILES

    full, bare = tmp_path / "full", tmp_path / "bare"
    generate(full, 400, seed=4, jobs=1, shard_size=200)
    assert all((full / name).exists() for name in REGISTER_FILES)
    bare.mkdir()
    (bare / "officials.csv").write_text("stale\n", encoding="utf-8")
    generate(bare, 400, seed=4, jobs=1, shard_size=200, registers=False)
    shards = ["releases-00000.jsonl", "releases-00001.jsonl"]
    assert sorted(p.name for p in bare.iterdir()) == [*shards, "truth.json", "unreliable_suppliers.csv"]
    for name in [*shards, "unreliable_suppliers.csv"]:
        assert (bare / name).read_bytes() == (full / name).read_bytes(), name
    truth_full, truth_bare = (json.loads((d / "truth.json").read_text()) for d in (full, bare))
    assert truth_bare["schemes"] == truth_full["schemes"] and "registers" not in truth_bare
    # the command line's switch
    cli = tmp_path / "cli"
    result = CliRunner().invoke(app, ["generate", "--tenders", "50", "--out", str(cli), "--no-registers"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in cli.iterdir()) == ["releases.jsonl", "truth.json", "unreliable_suppliers.csv"]
