"""The forecast: a saved model scores new files exactly as it scored the backtest, the future never changes a past
week's forecast, unseen products and categories are scored and counted, bad rows are quarantined, and a model file
that would run code when loaded is refused."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hotseller.evaluate import compute_metrics
from hotseller.features import LabelSpec
from hotseller.forecast import ForecastError, forecast_from_files
from hotseller.graph import GraphSpec
from hotseller.package import package
from hotseller.split import load_split
from hotseller.tables import calendar
from hotseller.train.config import TrainConfig
from hotseller.train.loop import train
from hotseller.train.saved import ModelFileError, load_model

SPEC = LabelSpec(window_weeks=8, horizon_weeks=4, hot_quantile=0.05, stride_weeks=4)  # tiny_training's


@pytest.fixture(scope="module")
def saved_model(tiny_training, tiny_tables, tmp_path_factory) -> dict:
    """A GNN trained on the tiny market (an ensemble of 2 R-GCN networks with relative and neighbour inputs: the saved
    model's every part, typed edges included), its backtest predictions, and its packaged (portable) model folder."""
    out = tmp_path_factory.mktemp("trained")
    cfg = TrainConfig(epochs=2, batch_size=128, lr=2e-3, hidden_dim=16, accumulation_steps=1, patience=5, threads=1, ensemble=2,
                      relative_inputs=True, neighbour_inputs=True, gnn="rgcn")
    train(cfg, tiny_training["examples"], tiny_training["edges"], tiny_training["split"], out)
    predictions = pl.read_parquet(out / "predictions.parquet")
    metrics = json.loads(json.dumps(compute_metrics({"gnn": predictions}, n_resamples=20, seed=0), default=float))
    (out / "metrics.json").write_text(json.dumps(metrics))
    model_dir = out / "portable"
    config = package(out / "model", tiny_tables / "products.parquet", out / "metrics.json", tiny_training["split"], SPEC,
                     GraphSpec(), "tiny", model_dir)
    return {"dir": model_dir, "config": config, "predictions": predictions, "split": load_split(tiny_training["split"])}


def week_start(tiny_tables: Path, t: int) -> dt.date:
    return calendar(pl.scan_parquet(tiny_tables / "panel.parquet")).origin + dt.timedelta(weeks=t)


def cut_files(raw: Path, before: dt.date, dest: Path) -> dict[str, Path]:
    """The raw market as it was known at the end of the week before `before`: panel rows, reviews and relations
    of later weeks removed (unparseable panel dates kept: ingest quarantines them either way)."""
    dest.mkdir(parents=True, exist_ok=True)
    panel = pl.read_csv(raw / "panel.csv", infer_schema=False)
    week = pl.col("week").str.to_date("%Y-%m-%d", strict=False)
    panel.filter(week.is_null() | (week < before)).write_csv(dest / "panel.csv")
    end = dt.datetime.combine(before, dt.time())
    for name in ("reviews", "relations"):
        pl.read_parquet(raw / f"{name}.parquet").filter(pl.col("ts") < end).write_parquet(dest / f"{name}.parquet")
    (dest / "products.csv").write_bytes((raw / "products.csv").read_bytes())
    return {"panel": dest / "panel.csv", "reviews": dest / "reviews.parquet", "products": dest / "products.csv",
            "relations": dest / "relations.parquet"}


def as_files(paths: dict[str, Path]) -> dict[str, str]:
    return {k: str(v) for k, v in paths.items()}


def forecast_table(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / f"hot_next_{SPEC.horizon_weeks}_weeks.parquet").sort("product_id")


def test_forecast_from_data_cut_at_a_test_cutoff_equals_the_backtest_predictions(saved_model, tiny_market, tiny_tables, tmp_path):
    t = saved_model["split"]["test"][0]
    files = cut_files(tiny_market, week_start(tiny_tables, t + 1), tmp_path / "cut")
    doc = forecast_from_files(saved_model["dir"], as_files(files), {}, None, tmp_path / "out")
    assert doc["week"] == str(week_start(tiny_tables, t))
    assert saved_model["config"]["architecture"]["members"] == 2
    assert doc["counts"]["missing_static_features"] == []  # the relative inputs are computed, not read from the data
    got = forecast_table(tmp_path / "out")
    backtest = saved_model["predictions"].filter(pl.col("cutoff") == t).sort("product_id")
    assert got["product_id"].to_list() == backtest["product_id"].to_list()  # every listed product, none dropped
    np.testing.assert_allclose(got["score"].to_numpy(), backtest["score"].to_numpy(), rtol=1e-5, atol=1e-7)
    temperature, bias = saved_model["config"]["temperature"], saved_model["config"]["bias"]  # the calibration fitted on validation
    z = np.log(backtest["score"].to_numpy() / (1 - backtest["score"].to_numpy()))
    np.testing.assert_allclose(got["probability"].to_numpy(), 1 / (1 + np.exp(-(z / temperature + bias))), atol=2e-6)
    # The list is ranked by score, rank 1 first.
    ranked = pl.read_csv(tmp_path / "out" / f"hot_next_{SPEC.horizon_weeks}_weeks.csv")
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
    assert ranked["probability"].is_sorted(descending=True) and set(ranked["model"]) == {"gnn"}


def test_appending_future_weeks_never_changes_a_past_weeks_forecast(saved_model, tiny_market, tiny_tables, tmp_path):
    t = saved_model["split"]["val"][0]
    cut = cut_files(tiny_market, week_start(tiny_tables, t + 1), tmp_path / "cut")
    forecast_from_files(saved_model["dir"], as_files(cut), {}, None, tmp_path / "from_cut")
    full = cut_files(tiny_market, dt.date(2100, 1, 1), tmp_path / "full")  # every week
    as_of = str(week_start(tiny_tables, t) + dt.timedelta(days=3))  # any day of the week names it
    forecast_from_files(saved_model["dir"], as_files(full), {}, as_of, tmp_path / "from_full")
    assert forecast_table(tmp_path / "from_cut").equals(forecast_table(tmp_path / "from_full"))
    with pytest.raises(ForecastError, match="outside the panel's weeks"):
        forecast_from_files(saved_model["dir"], as_files(full), {}, "1999-01-01", tmp_path / "bad")


def test_unseen_products_and_categories_are_scored_and_counted_and_bad_rows_quarantined(saved_model, tiny_market, tmp_path):
    files = cut_files(tiny_market, dt.date(2100, 1, 1), tmp_path / "data")
    panel = pl.read_csv(files["panel"], infer_schema=False)
    last = panel["week"].str.to_date("%Y-%m-%d", strict=False).max()
    weeks = [str(last - dt.timedelta(weeks=k)) for k in range(10)]
    new = pl.DataFrame({"product_id": ["NEW1"] * 10 + ["NEW2"] * 10, "week": weeks * 2, "units": ["40"] * 10 + ["2"] * 10,
                        "revenue": ["400"] * 20, "price": ["10"] * 20, "promo": ["0"] * 20})
    bad = pl.DataFrame({"product_id": ["NEW1"], "week": [weeks[0]], "units": ["-5"], "revenue": ["0"], "price": ["10"], "promo": ["0"]})
    pl.concat([panel, new, bad], how="diagonal").write_csv(files["panel"])
    products = pl.read_csv(files["products"], infer_schema=False)
    extra = pl.DataFrame({"product_id": ["NEW1", "NEW2"], "category": ["a_category_never_seen", "cat_00"], "seller": ["s_new", "s_new"],
                          "list_price": ["12.5", "3"]})
    pl.concat([products, extra]).write_csv(files["products"])
    doc = forecast_from_files(saved_model["dir"], as_files(files), {}, None, tmp_path / "out")
    table = forecast_table(tmp_path / "out")
    assert {"NEW1", "NEW2"} <= set(table["product_id"])  # products the model never saw are scored
    assert table.filter(pl.col("product_id") == "NEW1")["category"].item() == "a_category_never_seen"
    assert doc["counts"]["unseen_category"] == 1  # NEW1's; NEW2's category is known
    assert "1 products in unseen categories" in (tmp_path / "out" / "forecast.md").read_text()
    accounting = json.loads((tmp_path / "out" / "ingest" / "accounting.json").read_text())
    assert accounting["panel"]["read"] == panel.height + 21
    assert accounting["panel"]["read"] == accounting["panel"]["accepted"] + sum(accounting["panel"]["quarantined"].values())
    quarantine = pl.read_parquet(tmp_path / "out" / "ingest" / "quarantine_panel.parquet")
    assert quarantine.filter(pl.col("product_id") == "NEW1").height == 1


def test_a_single_product_is_scored_not_zeroed_and_a_stray_last_week_is_said(saved_model, tiny_market, tiny_tables, tmp_path):
    """One product alone (its graph rings empty) gets a probability, not 0: on the realistic model, whose training
    products all had 8 category neighbours, such a product's input was divided by a sd of 1e-6 and its probability
    underflowed to 0 (the cause is tested on the normaliser itself: test_training). And a stray row ten weeks after the
    panel's end, which moves the forecast week, is said in the log and forecast.json."""
    t = saved_model["split"]["test"][0]
    files = cut_files(tiny_market, week_start(tiny_tables, t + 1), tmp_path / "cut")
    panel = pl.read_csv(files["panel"], infer_schema=False)
    one = panel.filter(pl.col("product_id") == panel["product_id"][0])
    one.write_csv(files["panel"])
    doc = forecast_from_files(saved_model["dir"], as_files(files), {}, None, tmp_path / "one")
    probability = forecast_table(tmp_path / "one")["probability"].item()
    assert 1e-4 < probability < 1 and doc["counts"]["warnings"] == []
    stray = one.tail(1).with_columns(week=pl.lit(str(week_start(tiny_tables, t + 10))))
    pl.concat([panel, stray]).write_csv(files["panel"])
    doc = forecast_from_files(saved_model["dir"], as_files(files), {}, None, tmp_path / "stray")
    assert doc["week"] == str(week_start(tiny_tables, t + 10))
    assert any("has 1 panel row(s) against a median of" in w and "stray row" in w for w in doc["counts"]["warnings"])
    assert any(w.startswith("the forecast week") and "follows 9 week(s) without any panel row" in w for w in doc["counts"]["warnings"])
    assert "**Check:** the forecast week" in (tmp_path / "stray" / "forecast.md").read_text()


def test_an_earlier_forecast_is_gone_when_a_rerun_fails_and_a_file_as_out_is_one_line(saved_model, tiny_market, tiny_tables, tmp_path):
    """A failed rerun must not leave the previous list beside its own fresh ingest files, to be read as current."""
    from conftest import cli_main

    t = saved_model["split"]["test"][0]
    files = cut_files(tiny_market, week_start(tiny_tables, t + 1), tmp_path / "cut")
    out = tmp_path / "out"
    forecast_from_files(saved_model["dir"], as_files(files), {}, None, out)
    assert (out / f"hot_next_{SPEC.horizon_weeks}_weeks.csv").exists() and (out / "forecast.json").exists()
    code, errors = cli_main("forecast", "--model", str(saved_model["dir"]), "--data", str(files["panel"]), "--out", str(out),
                            "--as-of", "1999-01-01")
    assert code == 2 and "outside the panel's weeks" in errors[0]
    assert not list(out.glob("*hot_next*")) and not (out / "forecast.json").exists() and (out / "ingest" / "accounting.json").exists()
    (tmp_path / "a_file").write_text("")
    code, errors = cli_main("forecast", "--model", str(saved_model["dir"]), "--data", str(files["panel"]), "--out", str(tmp_path / "a_file"))
    assert code == 2 and errors == [f"--out {tmp_path / 'a_file'} is a file; give a folder (it is created if missing)"]


class RunsCode:
    """A pickle that calls a function when loaded, as a crafted model file would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_model_file_that_would_run_code_is_refused(saved_model, tiny_market, tmp_path):
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    (crafted / "model.json").write_text((saved_model["dir"] / "model.json").read_text())
    marker = tmp_path / "code_ran"
    with open(crafted / "weights.pt", "wb") as handle:
        pickle.dump({"model.x": RunsCode(marker)}, handle)
    with pytest.raises(ModelFileError, match="refused, not a weights-only file"):
        load_model(crafted)
    assert not marker.exists()
    # From the command line: one line naming the file, exit 2, no traceback, and still no code run.
    result = subprocess.run([sys.executable, "-m", "hotseller.cli", "forecast", "--model", str(crafted), "--data",
                             str(tiny_market / "panel.csv"), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2 and not marker.exists()
    assert "Traceback" not in result.stderr and "refused, not a weights-only file" in result.stderr
    assert str(crafted / "weights.pt") in result.stderr


def test_a_model_that_adds_a_logit_the_data_lacks_is_refused_not_zeroed(saved_model, tiny_market, tiny_tables, tmp_path):
    """A missing static feature is set to 0 and counted, but train.offset_column is a logit the model adds to its own:
    scoring without it would be another model's ranking, so the forecast names the column and stops."""
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(saved_model["dir"], model_dir)
    config = json.loads((model_dir / "model.json").read_text())
    config["train"]["offset_column"] = "s_gbt_logit"
    config["static_columns"].append("s_gbt_logit")
    (model_dir / "model.json").write_text(json.dumps(config))
    t = saved_model["split"]["test"][0]
    files = cut_files(tiny_market, week_start(tiny_tables, t + 1), tmp_path / "cut")
    with pytest.raises(ForecastError, match="adds the column 's_gbt_logit'"):
        forecast_from_files(model_dir, as_files(files), {}, None, tmp_path / "out")


def test_the_train_stages_own_model_folder_is_refused_before_any_ingest(saved_model, tiny_market, tmp_path):
    """results/<d>/train/model holds weights and a model.json but not the label, graph and vocabulary a forecast reads
    (the package stage adds them): one line pointing at results/<dataset>/model, exit 2, nothing ingested."""
    import shutil

    trained = tmp_path / "train_model"
    trained.mkdir()
    shutil.copy(saved_model["dir"] / "weights.pt", trained / "weights.pt")
    config = json.loads((saved_model["dir"] / "model.json").read_text())
    (trained / "model.json").write_text(json.dumps({k: v for k, v in config.items() if k not in ("label", "graph", "categories")}))
    result = subprocess.run([sys.executable, "-m", "hotseller.cli", "forecast", "--model", str(trained), "--data",
                             str(tiny_market / "panel.csv"), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "lacks label, graph, categories" in result.stderr and "results/<dataset>/model" in result.stderr
    assert not (tmp_path / "out" / "ingest").exists()


def test_the_expected_hot_count_follows_the_backtests_hot_share_where_fewer_sell():
    """By hand: 4,000 listed at q = 5% is ceil(200); a backtest where 1.2% of test examples were hot (fewer than 5%
    sell) expects 48; a share at or above q keeps 200; a tiny share still expects one."""
    from hotseller.forecast import expected_hot

    assert expected_hot(4000, 0.05) == 200
    assert expected_hot(4000, 0.05, 0.012) == 48
    assert expected_hot(4000, 0.05, 0.0501) == 200 and expected_hot(4000, 0.05, 0.2) == 200
    assert expected_hot(10, 0.05, 0.001) == 1


def test_the_forecast_weeks_checks_by_hand():
    """warn_about_the_week on a panel made here: 10 rows a week for 20 weeks from 2024-01-01 (to 2024-05-13), then one
    row in the week of 2024-06-03. Forecasting that week: 1 row against a median of 10 (thin), the 2 empty weeks before
    it (stray), 23 weeks of history against a window of 26 (short), and 70 weeks after a validation cutoff of
    2023-01-30 (old). Forecasting the last full week with a recent model and a shorter window says nothing."""
    from hotseller.forecast import warn_about_the_week

    start = dt.date(2024, 1, 1)
    weeks = [start + dt.timedelta(weeks=w) for w in range(20) for _ in range(10)] + [dt.date(2024, 6, 3)]
    panel = pl.LazyFrame({"week": weeks, "product_id": [f"P{i}" for i in range(len(weeks))]})
    config = {"trained_on_cutoffs": {"train": ["2022-06-06"], "val": ["2022-12-05", "2023-01-30"]}}
    notes = warn_about_the_week(panel, dt.date(2024, 6, 3), 23, 26, config)
    assert notes == [
        "the panel holds 23 week(s) up to the forecast week and the model reads 26: the weeks before the panel are read as no sales",
        "the forecast week 2024-06-03 has 1 panel row(s) against a median of 10 in the 8 weeks with rows before it: a partial "
        "week or a stray row? give --as-of the last complete week",
        "the forecast week 2024-06-03 follows 2 week(s) without any panel row: a stray row? give --as-of the last complete week",
        "the forecast week 2024-06-03 is 70 weeks after the model's last validation cutoff 2023-01-30: the market may have "
        "changed since; retrain on recent data",
    ]
    assert warn_about_the_week(panel, start + dt.timedelta(weeks=19), 20, 12, {"trained_on_cutoffs": {"val": ["2024-04-01"]}}) == []


def test_only_a_folder_with_an_earlier_forecast_is_cleared(tmp_path):
    """A folder of the user's own (a forecast.md of theirs, no forecast.json of ours) is left alone."""
    from hotseller.forecast import prepare_out_dir

    (tmp_path / "forecast.md").write_text("my notes")
    prepare_out_dir(tmp_path)
    assert (tmp_path / "forecast.md").read_text() == "my notes"
    (tmp_path / "forecast.json").write_text(json.dumps({"week": "2024-01-01", "horizon_weeks": 4, "model": "gnn", "counts": {}, "top": []}))
    (tmp_path / "hot_next_4_weeks.csv").write_text("rank\n")
    prepare_out_dir(tmp_path)
    assert not list(tmp_path.iterdir())
