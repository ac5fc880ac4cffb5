"""`voc train / evaluate / models` through Typer's runner: happy path and clear one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.tinydata import emotion_rows, sentiment_rows
from typer.testing import CliRunner

from voc_models import registry
from voc_training.cli import app

runner = CliRunner()


@pytest.fixture()
def files(tmp_path, user_registry):
    texts, labels = sentiment_rows()
    pd.DataFrame({"отзыв": texts, "оценка": labels}).to_csv(tmp_path / "s.csv", index=False)
    etexts, elabels = emotion_rows()
    pd.DataFrame({"text": etexts, "labels": ["|".join(x) for x in elabels]}).to_json(
        tmp_path / "e.jsonl", orient="records", lines=True, force_ascii=False)
    return tmp_path


def test_train_evaluate_promote(files):
    out = files / "model"
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "validation macro-F1" in res.output and (out / "voc_model.json").is_file()
    res = runner.invoke(app, ["evaluate", str(out), str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["macro_f1"] > 0.9 and report["confusion_matrix"]["labels"] == ["negative", "neutral", "positive"]
    res = runner.invoke(app, ["evaluate", str(out), str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "--against", str(out)])
    assert res.exit_code == 0 and "mcnemar: p = 1" in res.output
    res = runner.invoke(app, ["models", "promote", str(out), "--task", "sentiment"])
    assert res.exit_code == 0, res.output
    assert registry.default_model_path("sentiment") == out.resolve()
    res = runner.invoke(app, ["models", "list"])
    assert res.exit_code == 0 and "sentiment-tfidf" in res.output
    res = runner.invoke(app, ["models", "show", str(out)])
    assert json.loads(res.output)["task"] == "sentiment"
    # what `voc analyze` / the API load now is the promoted model
    from voc.pipeline import Pipeline
    from voc.schema import Feedback

    promoted = json.loads((out / "voc_model.json").read_text(encoding="utf-8"))
    _, found = Pipeline.load(components=["sentiment"], redact=False).analyze([Feedback(id="1", text="ужасно")])
    assert found[0].model_versions["sentiment"] == f"{promoted['name']}@{promoted['version']}"


def test_train_multilabel_jsonl(files):
    out = files / "emo"
    res = runner.invoke(app, ["train", "emotions", "--data", str(files / "e.jsonl"), "--label-col", "labels",
                              "--multilabel", "-o", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(out), str(files / "e.jsonl"), "--label-col", "labels"])
    assert res.exit_code == 0 and "macro-F1" in res.output


def test_bad_input_is_one_line_error(files):
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "-o", str(files / "m")])
    assert res.exit_code == 2 and "no column 'text'" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["evaluate", "no-such-model", str(files / "s.csv")])
    assert res.exit_code == 2 and "not found" in res.output
    res = runner.invoke(app, ["models", "promote", "no-such-model", "--task", "sentiment"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--base-model",
                              str(files / "nope"), "--text-col", "отзыв", "--label-col", "оценка",
                              "-o", str(files / "m")])
    assert res.exit_code == 2 and "is not a directory" in res.output


def test_trained_models_show_up_in_models_list(files):
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "--name", "my-sent"])
    assert res.exit_code == 0, res.output
    first = registry.resolve("my-sent")
    assert first.parent == files / "registry" / "my-sent" and first.name.endswith("-1")
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "--name", "my-sent"])
    assert registry.resolve("my-sent").name.endswith("-2")  # same day: the next free version
    outside = files / "elsewhere" / "model"
    res = runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--text-col", "отзыв",
                              "--label-col", "оценка", "--name", "outside-sent", "-o", str(outside)])
    assert res.exit_code == 0, res.output
    listed = {(m["name"], m["where"]) for m in registry.list_models()}
    assert {("my-sent", "user"), ("outside-sent", "registered")} <= listed
    assert registry.resolve("outside-sent") == outside.resolve()
    res = runner.invoke(app, ["models", "list"])
    assert "outside-sent@" in res.output and res.output.count("my-sent@") == 2
    assert not (files / "registry" / ".staging").exists() or not any((files / "registry" / ".staging").iterdir())


def test_evaluate_skip_unlabelled(files):
    out = files / "model"
    runner.invoke(app, ["train", "sentiment", "--data", str(files / "s.csv"), "--text-col", "отзыв",
                        "--label-col", "оценка", "-o", str(out)])
    frame = pd.read_csv(files / "s.csv", dtype=str, keep_default_na=False)
    frame.loc[[0, 3], "оценка"] = ""
    frame.to_csv(files / "partial.csv", index=False)
    args = ["evaluate", str(out), str(files / "partial.csv"), "--text-col", "отзыв", "--label-col", "оценка"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "empty in 2 row(s): 1, 4" in res.output and "--skip-unlabelled" in res.output
    res = runner.invoke(app, [*args, "--skip-unlabelled", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["rows"] == len(frame) - 2 and report["skipped_unlabelled"] == {"rows": 2, "data_rows": [1, 4]}
    res = runner.invoke(app, [*args, "--skip-unlabelled"])
    assert "skipped 2 unlabelled row(s)" in res.output


@pytest.mark.parametrize(("frame", "message"), [
    ({"text": ["хорошо", "плохо"], "class": ["positive", "negative"]}, "no column 'label'"),
    ({"text": ["хорошо", "отлично", "супер"], "label": ["positive"] * 3}, "only one class ('positive')"),
    ({"text": ["хорошо", "  ", ""], "label": ["positive", "negative", "neutral"]}, "empty in 2 row(s): 2, 3"),
])
def test_bad_training_file_fails_clearly(files, frame, message):
    path = files / "bad.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    res = runner.invoke(app, ["train", "sentiment", "--data", str(path)])
    assert res.exit_code == 2 and message in res.output and str(path) in res.output
    assert "Traceback" not in res.output
    assert all(m["where"] == "shipped" for m in registry.list_models())  # nothing half-written was registered
