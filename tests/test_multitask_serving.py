"""The multi-task encoder behind the analyzers: checkpoint, ONNX int8 parity, promote/profile switching,
head-backed cause / journey stage / topics with the lexicon as fallback, `voc analyze --profile`."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.multitask import build_tiny_multitask, force_head, reset_runners

from voc.config import Taxonomy, Topic
from voc.pipeline import Pipeline
from voc.schema import Feedback, Findings
from voc_models import registry
from voc_models.base import ModelInfo
from voc_models.multitask import ONNX_INT8_FILE, MultiTaskRunner

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

TEXTS = ["Курьер опоздал на три часа, никто не предупредил", "Спасибо оператору, быстро решили вопрос с картой!",
         "Приложение снова не открывается после обновления. Ужасно.", "Ок", "Деньги списали дважды"]
#: int8 dynamic quantisation of a tiny random encoder: probabilities stay within this of PyTorch's
ONNX_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def tiny_mt(tmp_path_factory) -> Path:
    return build_tiny_multitask(tmp_path_factory.mktemp("mt") / "voc-multitask", onnx=True)


@pytest.fixture()
def no_shipped_encoder(tmp_path, monkeypatch) -> Path:
    """models/shipped without the shipped encoder, with every task mapped to it as the default profile would be
    if the shipped encoder served them all: the fallback to TF-IDF."""
    shipped = tmp_path / "shipped-no-encoder"
    shutil.copytree(registry.SHIPPED_DIR, shipped, ignore=shutil.ignore_patterns(registry.SHIPPED_ENCODER))
    monkeypatch.setattr(registry, "SHIPPED_DIR", shipped)
    monkeypatch.setattr(registry, "SHIPPED_DEFAULTS", dict.fromkeys(registry.TASKS, registry.SHIPPED_ENCODER))
    return shipped


def _forced(src: Path, dest: Path, **labels: str | None) -> Path:
    """A torch-only copy of ``src`` whose heads answer fixed labels (``head=label``)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(ONNX_INT8_FILE, "checkpoint"))
    for head, label in labels.items():
        force_head(dest, head, label)
    return dest


def test_checkpoint_saves_and_loads(tiny_mt):
    import torch
    from transformers import AutoModel

    from voc_models.multitask import build_net

    state = torch.load(tiny_mt / "checkpoint" / "state.pt", map_location="cpu", weights_only=False)
    assert {"net", "optim", "sched", "state"} <= set(state) and state["state"]["step"] >= 1
    info = ModelInfo.read(tiny_mt)
    assert info.kind == "multitask" and list(info.heads) == ["sentiment", "emotions", "topics", "cause",
                                                             "journey_stage"]
    assert info.heads["cause"]["labels"][-1] == "—" and info.heads["journey_stage"]["labels"][-1] == "—"
    encoder = AutoModel.from_pretrained(tiny_mt, add_pooling_layer=False)
    net = build_net(encoder, {n: len(h["labels"]) for n, h in info.heads.items()})
    net.load_state_dict(state["net"])
    net.eval()
    runner = MultiTaskRunner(tiny_mt, backend="torch", device="cpu")
    ids = runner.tokenize(TEXTS[:2])
    width = max(map(len, ids))
    arr = torch.tensor([x + [runner.pad_id] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    with torch.no_grad():
        logits = net(arr, mask)
    saved = runner.proba(TEXTS[:2])
    np.testing.assert_allclose(torch.softmax(logits[0], -1).numpy(), saved["sentiment"], atol=1e-5)
    for head, p in saved.items():
        assert p.shape == (2, len(info.heads[head]["labels"]))
        if not info.heads[head]["multilabel"]:
            np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)


def test_onnx_int8_parity(tiny_mt):
    torch_run = MultiTaskRunner(tiny_mt, backend="torch", device="cpu").proba(TEXTS)
    onnx_runner = MultiTaskRunner(tiny_mt, backend="auto")
    assert onnx_runner.backend == "onnx"
    onnx_run = onnx_runner.proba(TEXTS)
    for head in torch_run:
        assert np.abs(torch_run[head] - onnx_run[head]).max() <= ONNX_TOLERANCE, head
    assert ModelInfo.read(tiny_mt).training["onnx_parity"]["max_abs_diff"]["sentiment"] <= ONNX_TOLERANCE
    session, onnx_runner._pid = onnx_runner.session, -1  # as in a forked batch worker
    onnx_runner.proba(["новый текст"])
    assert onnx_runner.session is not session


def test_runner_shares_one_pass_and_occlusion_tables(tiny_mt, user_registry):
    sentiment = registry.load_model(tiny_mt, task="sentiment")
    emotions = registry.load_model(tiny_mt, task="emotions")
    assert sentiment.runner is emotions.runner
    runner = sentiment.runner
    calls = []
    forward = runner._forward
    runner._forward = lambda ids, mask: calls.append(len(ids)) or forward(ids, mask)
    sentiment.predict_proba(TEXTS)
    n = len(calls)
    emotions.predict_proba(TEXTS)
    assert len(calls) == n  # the second head reads the cache
    sentiment.explain_spans(TEXTS, [0] * len(TEXTS))
    n = len(calls)
    spans = emotions.explain_spans(TEXTS, [2] * len(TEXTS))
    assert len(calls) == n and len(spans) == len(TEXTS)
    for text, row in zip(TEXTS, spans, strict=True):
        assert all(text[s.start : s.end] == s.text for s in row)


def test_profiles_and_fallback_without_a_shipped_encoder(user_registry, tiny_mt, caplog, no_shipped_encoder):
    with caplog.at_level(logging.INFO, logger="voc.models"):
        registry._NOTED.clear()
        assert registry.task_model_path("cause").name == "cause-tfidf"  # the shipped TF-IDF head
        assert registry.task_model_path("sentiment").name == "sentiment-tfidf"
    assert "not shipped yet" in caplog.text
    assert set(registry.SHIPPED_DEFAULTS.values()) == {registry.SHIPPED_ENCODER}
    registry.promote(tiny_mt, "sentiment")
    assert registry.task_model_path("sentiment") == tiny_mt.resolve()
    assert registry.task_model_path("sentiment", "fast").name == "sentiment-tfidf"  # fast ignores encoders
    with pytest.raises(ValueError, match="unknown profile 'turbo'"):
        Pipeline.load(components=["sentiment"], profile="turbo")


def test_promote_switches_the_pipeline(user_registry, tiny_mt, tmp_path, no_shipped_encoder):
    record = Feedback(id="1", text="Ужасный сервис, всё сломалось")
    before = Pipeline.load(components=["sentiment"], redact=False).analyze([record])[1][0]
    assert before.model_versions["sentiment"].startswith("sentiment-tfidf") and before.sentiment == "negative"
    forced = _forced(tiny_mt, tmp_path / "positive-mt", sentiment="positive")
    registry.promote(forced, "sentiment")
    after = Pipeline.load(components=["sentiment"], redact=False).analyze([record])[1][0]
    info = ModelInfo.read(forced)
    assert after.model_versions["sentiment"] == f"{info.name}@{info.version}" and after.sentiment == "positive"
    fast = Pipeline.load(components=["sentiment"], redact=False, profile="fast").analyze([record])[1][0]
    assert fast.model_versions["sentiment"].startswith("sentiment-tfidf")


def test_shipped_encoder_serves_its_tasks(user_registry, tiny_mt, tmp_path, monkeypatch):
    """The default profile runs the tasks of SHIPPED_DEFAULTS on the shipped encoder, the rest on TF-IDF."""
    # today sentiment maps to the student + TF-IDF ensemble; the mechanism is checked with the encoder itself
    assert registry.SHIPPED_DEFAULTS == {"sentiment": "sentiment-ensemble"}
    monkeypatch.setattr(registry, "SHIPPED_DEFAULTS", {"sentiment": registry.SHIPPED_ENCODER})
    shipped = tmp_path / "shipped"
    shutil.copytree(registry.SHIPPED_DIR, shipped, ignore=shutil.ignore_patterns(registry.SHIPPED_ENCODER))
    _forced(tiny_mt, shipped / registry.SHIPPED_ENCODER, sentiment="negative", cause="технический сбой",
            journey_stage="оплата")
    monkeypatch.setattr(registry, "SHIPPED_DIR", shipped)
    pipe = Pipeline.load(redact=False)
    assert "sentiment" in registry.SHIPPED_DEFAULTS
    for task in ("sentiment", "cause", "journey_stage"):
        encoder = task in registry.SHIPPED_DEFAULTS
        assert pipe.versions[task].startswith("voc-multitask@") == encoder, task
    _, [f] = pipe.analyze([Feedback(id="1", text="Курьер опоздал на три часа")])
    assert f.sentiment == "negative"
    if "cause" in registry.SHIPPED_DEFAULTS:
        assert f.cause.name == "технический сбой" and f.journey_stage == "оплата"
    fast = Pipeline.load(redact=False, profile="fast")
    assert fast.versions["cause"].startswith("cause-tfidf@") and fast.versions["sentiment"].startswith("sentiment-tfidf")


def _run(pipe_components, records, sentiment="negative"):
    findings = [Findings(feedback_id=r.id, sentiment=sentiment) for r in records]
    for analyzer in pipe_components:
        analyzer(records, findings)
    return findings


def test_cause_head_decides_and_lexicon_falls_back(user_registry, tiny_mt, tmp_path):
    from voc.analyzers.cause import CauseAnalyzer

    records = [Feedback(id="1", text="Курьер опоздал на три часа, никто не предупредил"),
               Feedback(id="2", text="Приложение вылетает при оплате")]
    lexicon = _run([CauseAnalyzer(model="lexicon")], records)
    assert lexicon[1].cause.name == "технический сбой"
    head = CauseAnalyzer(model=str(_forced(tiny_mt, tmp_path / "c1", cause="человеческий фактор")))
    found = _run([head], records)
    assert [f.cause.name for f in found] == ["человеческий фактор"] * 2 and found[0].cause.confidence > 0.9
    assert head.version.startswith("voc-multitask@") and head.version.endswith("+weak-lexicon-tfidf-1")
    assert _run([head], records, sentiment="positive")[0].cause.name == "человеческий фактор"  # head sure: a cause
    assert _run([CauseAnalyzer(model=str(tmp_path / "c1"), others_min=None)], records,
                sentiment="positive")[0].cause is None  # complaints in negative records only
    none_path = str(_forced(tiny_mt, tmp_path / "c2", cause="—"))
    assert _run([CauseAnalyzer(model=none_path)], records, sentiment="positive")[0].cause is None
    none_head = CauseAnalyzer(model=none_path, head_none="lexicon")
    assert [f.cause.name for f in _run([none_head], records)] == [f.cause.name for f in lexicon]
    evidence = [e for e in _run([none_head], records)[1].evidence if e.label.startswith("cause:")]
    assert evidence and all(records[1].text[e.start : e.end] == e.text for e in evidence)


def test_stage_head_after_record_and_ticket(user_registry, tiny_mt, tmp_path):
    from voc.analyzers.journey import JourneyStageAnalyzer

    an = JourneyStageAnalyzer(model=str(_forced(tiny_mt, tmp_path / "s1", journey_stage="оплата")))
    recs = [Feedback(id="1", text="Курьер опоздал"), Feedback(id="2", text="Курьер опоздал", journey_stage="Доставка")]
    found = _run([an], recs)
    assert (found[0].journey_stage, found[0].journey_stage_source) == ("оплата", "predicted")
    assert found[0].journey_stage_confidence > 0.9
    assert (found[1].journey_stage, found[1].journey_stage_source) == ("доставка", "record")
    none_path = str(_forced(tiny_mt, tmp_path / "s2", journey_stage="—"))
    f = _run([JourneyStageAnalyzer(model=none_path)], recs[:1])[0]
    assert f.journey_stage is None and f.journey_stage_source is None  # the head says no stage
    f = _run([JourneyStageAnalyzer(model=none_path, head_none="lexicon")], recs[:1])[0]
    assert f.journey_stage == "доставка" and any(e.label == "journey_stage:доставка" for e in f.evidence)


def test_topics_head_for_its_vocabulary_lexicon_for_the_rest(user_registry, tiny_mt, tmp_path):
    from voc.analyzers.topics import TopicAnalyzer

    model = _forced(tiny_mt, tmp_path / "t1", topics="оплата")
    taxonomy = Taxonomy(topics=[Topic(name="доставка", keywords=["курьер", "доставка"]),
                                Topic(name="оплата", keywords=["оплата"]),
                                Topic(name="парковка", keywords=["парковка"])])
    an = TopicAnalyzer(taxonomy, model=str(model))
    rec = Feedback(id="1", text="Курьер опоздал, а парковка платная")
    [f] = _run([an], [rec], sentiment="neutral")
    by_name = {t.name: t.source for t in f.topics}
    assert by_name == {"оплата": "model", "парковка": "taxonomy"}  # доставка: the head said no
    assert [e.text for e in f.evidence if e.label == "topic:парковка"] == ["парковка"]
    assert TopicAnalyzer(taxonomy, model=str(model), outside_taxonomy=True).head_topics_.keys() > {"оплата"}


def test_voc_analyze_profile_flag(user_registry, tiny_mt, tmp_path):
    from typer.testing import CliRunner

    from voc.cli import app

    registry.promote(_forced(tiny_mt, tmp_path / "pos", sentiment="positive"), "sentiment")
    data = tmp_path / "in.csv"
    pd.DataFrame({"text": ["Ужасный сервис, всё сломалось", "Курьер нагрубил, ужас"]}).to_csv(data, index=False)
    runner = CliRunner()
    # accurate: the shipped sentiment ensemble (student + TF-IDF), whatever is promoted
    for profile, expected in (("default", "positive"), ("fast", "negative"), ("accurate", "negative")):
        out = tmp_path / f"out-{profile}"
        res = runner.invoke(app, ["analyze", str(data), "-o", str(out), "--profile", profile, "--workers", "1",
                                  "-q", "--no-redact"])
        assert res.exit_code == 0, res.output
        frame = pd.read_csv(out / "enriched.csv", dtype=str)
        assert set(frame["sentiment"]) == {expected}, profile
    res = runner.invoke(app, ["analyze", str(data), "-o", str(tmp_path / "bad"), "--profile", "turbo", "-q"])
    assert res.exit_code == 2 and "unknown profile" in res.output
    import voc

    frame = pd.read_csv(data)
    assert set(voc.analyze(frame, outdir=tmp_path / "api-default").frame["sentiment"]) == {"positive"}
    assert set(voc.analyze(frame, outdir=tmp_path / "api-fast", profile="fast").frame["sentiment"]) == {"negative"}
    accurate = voc.analyze(frame, outdir=tmp_path / "api-accurate", profile="accurate").frame
    assert set(accurate["sentiment"]) == {"negative"}


def _child_sentiment(model_dir: str) -> tuple[int, bool, np.ndarray]:
    from voc_models.multitask import runner_for

    runner = runner_for(model_dir)
    inherited = runner._session is not None
    proba = runner.proba(TEXTS)["sentiment"]
    return runner._pid, inherited, proba


def test_onnx_runner_is_fork_safe(tiny_mt):
    """The session opens lazily and again in a forked child, whose locks are fresh: a child forked while the
    parent held the runner's lock and had run its ORT session still answers (it hung before)."""
    import multiprocessing
    import os

    from voc_models.multitask import runner_for

    reset_runners()
    lazy = MultiTaskRunner(tiny_mt, backend="onnx")
    assert lazy._session is None  # nothing opened until the first forward pass
    runner = runner_for(tiny_mt)
    assert runner.backend == "onnx"
    parent = runner.proba(TEXTS)["sentiment"]
    assert runner._session is not None
    runner._cache.clear()
    with runner._lock:  # held at the fork
        pool = multiprocessing.get_context("fork").Pool(1)
    try:
        pid, inherited, child = pool.apply_async(_child_sentiment, (str(tiny_mt),)).get(timeout=120)
    finally:
        pool.terminate()
    assert pid != os.getpid() and not inherited
    np.testing.assert_allclose(child, parent, atol=1e-6)
    reset_runners()


def test_ship_copies_serving_files_only(tiny_mt, tmp_path):
    from voc_training import multitask as mt

    dest = mt.ship(tiny_mt, tmp_path / "voc-multitask-student", metrics={"test:x": 0.5}, notes="## Provenance\nok")
    assert sorted(p.name for p in dest.iterdir()) == sorted([*mt.SHIP_FILES, "README.md"])
    info = ModelInfo.read(dest)
    assert info.kind == "multitask-onnx" and info.metrics["test:x"] == 0.5
    assert "## Provenance" in (dest / "README.md").read_text(encoding="utf-8")
    runner = MultiTaskRunner(dest)
    assert runner.backend == "onnx"
    np.testing.assert_allclose(runner.proba(TEXTS)["sentiment"],
                               MultiTaskRunner(tiny_mt, backend="onnx").proba(TEXTS)["sentiment"], atol=1e-6)
    with pytest.raises(ValueError, match="more than the 0 MB limit"):
        mt.ship(tiny_mt, tmp_path / "too-big", max_bytes=1000)
    assert mt.SHIP_MAX_BYTES == 40 * 2**20  # the student's budget (issue #10)


def test_release_sessions_drops_sessions_and_caches_and_serving_resumes(tiny_mt):
    from voc_models.multitask import release_sessions

    runner = MultiTaskRunner(tiny_mt)
    texts = ["Курьер опоздал на три часа", "Спасибо"]
    before = runner.proba(texts)
    assert len(runner._cache) == 2
    assert release_sessions() >= 1
    assert runner._session is None and len(runner._cache) == 0
    after = runner.proba(texts)  # the session (ONNX) or the torch net serves again
    for head in before:
        np.testing.assert_allclose(after[head], before[head], atol=1e-6)
