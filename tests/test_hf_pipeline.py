"""An HF-format BERT classifier plugs into the analyzers and the pipeline by path (no code changes)."""

from __future__ import annotations

from pathlib import Path

from helpers.hf_tiny import LABELS3, build_tiny_model

from voc.pipeline import ComponentSpec, Pipeline, PipelineConfig
from voc.schema import DialogTurn, Feedback


def test_sentiment_analyzer_runs_on_a_tiny_bert(tmp_path: Path) -> None:
    model_dir = build_tiny_model(tmp_path / "bert", LABELS3)
    cfg = PipelineConfig(components=[ComponentSpec(name="sentiment", config={"model": str(model_dir)}),
                                     ComponentSpec(name="topics"), ComponentSpec(name="cause")])
    pipe = Pipeline.load(config=cfg, redact_names="morph")
    turns = [DialogTurn(speaker="client", text="Курьер опоздал."), DialogTurn(speaker="operator", text="Извините!")]
    records = [Feedback(id="1", text="Курьер опоздал на три часа. Ужасно."),
               Feedback(id="2", text="Курьер опоздал.\nИзвините!", turns=turns, channel="chat")]
    _, findings = pipe.analyze(records)
    for f in findings:
        assert f.sentiment in LABELS3 and -1 <= f.sentiment_score <= 1
        assert f.sentences and all(s.sentiment in LABELS3 for s in f.sentences)
        assert f.model_versions["sentiment"] == "tiny@test"
    assert findings[1].sentences[0].speaker.value == "client"
