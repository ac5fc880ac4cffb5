"""Pipeline assembly from config: order checks, redaction first, versions recorded."""

import pytest

from voc.analyzers.base import Analyzer
from voc.pipeline import Pipeline, PipelineConfig
from voc.schema import Feedback, Findings


class _Upper(Analyzer):
    name = "upper"

    def __call__(self, records, findings):
        for r, f in zip(records, findings, strict=True):
            f.sentiment = "negative" if r.text.isupper() else "neutral"


class _NeedsUpper(Analyzer):
    name = "needs"
    requires = ("upper",)

    def __call__(self, records, findings):
        for f in findings:
            f.journey_stage = "доставка" if f.sentiment == "negative" else None


class _Redactor:
    version = "fake-1"

    def redact_record(self, rec):
        return rec.model_copy(update={"text": rec.text.replace("79991234567", "[ТЕЛЕФОН]")}), {"phone": 1}


def test_analyzers_run_in_order_after_redaction():
    pipe = Pipeline([_Upper(), _NeedsUpper()], redactor=_Redactor())
    recs = [Feedback(id="1", text="ЗВОНИТЕ 79991234567"), Feedback(id="2", text="ок")]
    red, found = pipe.analyze(recs)
    assert red[0].text == "ЗВОНИТЕ [ТЕЛЕФОН]" and recs[0].text.endswith("567")
    assert [f.sentiment for f in found] == ["negative", "neutral"]
    assert found[0].journey_stage == "доставка" and found[0].pii_masked == {"phone": 1}
    assert found[0].model_versions == {"upper": "rules-1", "needs": "rules-1", "redact": "fake-1"}
    assert isinstance(found[1], Findings)


def test_missing_requirement_is_a_clear_error():
    with pytest.raises(ValueError, match="needs \\['upper'\\]"):
        Pipeline([_NeedsUpper()])


def test_pipeline_yaml_accepts_names_and_specs(tmp_path):
    p = tmp_path / "pipeline.yaml"
    p.write_text("components:\n  - sentiment\n  - name: emotions\n    config: {top_k: 2}\nredact: {names: morph}\n", encoding="utf-8")
    cfg = PipelineConfig.read(p)
    assert [c.name for c in cfg.components] == ["sentiment", "emotions"]
    assert cfg.components[1].config == {"top_k": 2} and cfg.redact.names == "morph"
    p.write_text("components: 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="components"):
        PipelineConfig.read(p)
