"""Model registry: resolve by name/version/path, promote → default_model_path, load-once cache."""

from __future__ import annotations

import json

import pytest
from helpers.tinydata import tiny_sentiment_model

from voc_models import registry
from voc_models.base import ModelInfo


@pytest.fixture(scope="module")
def tiny():
    return tiny_sentiment_model()


def _save(model, path, version):
    model.info = model.info.model_copy(update={"version": version})
    model.save(path)
    return path


def test_resolve_latest_version_and_explicit(user_registry, tiny):
    _save(tiny, user_registry / "sentiment-tiny" / "2026.1.2-1", "2026.1.2-1")
    _save(tiny, user_registry / "sentiment-tiny" / "2026.1.10-1", "2026.1.10-1")
    assert registry.resolve("sentiment-tiny").name == "2026.1.10-1"  # numeric, not string, order
    assert registry.resolve("sentiment-tiny@2026.1.2-1").name == "2026.1.2-1"
    names = [(m["name"], m["version"], m["where"]) for m in registry.list_models() if m["where"] == "user"]
    assert names == [("sentiment-tiny", "2026.1.2-1", "user"), ("sentiment-tiny", "2026.1.10-1", "user")]
    assert registry.show("sentiment-tiny")["version"] == "2026.1.10-1"


def test_promote_changes_default_model_path(user_registry, tiny, tmp_path):
    plain = _save(tiny, tmp_path / "plain-model", "7")
    registry.promote(str(plain), "sentiment")
    assert registry.default_model_path("sentiment") == plain.resolve()
    assert json.loads((user_registry / "defaults.json").read_text(encoding="utf-8")) == {"sentiment": str(plain.resolve())}
    with pytest.raises(ValueError, match="not 'emotions'"):
        registry.promote(str(plain), "emotions")


def test_default_without_promotion_is_shipped(user_registry):
    path = registry.default_model_path("sentiment")
    assert path.parent == registry.SHIPPED_DIR and ModelInfo.read(path).task == "sentiment"
    assert registry.default_model_path("cause").name == "cause-tfidf"  # the TF-IDF head again (decision 75)
    assert registry.default_model_path("journey_stage").name == "journey-stage-tfidf"  # shipped TF-IDF head
    with pytest.raises(registry.ModelNotFoundError, match="no model promoted for task 'aspects'"):
        registry.default_model_path("aspects")


def test_promoted_dir_deleted_is_a_clear_error(user_registry, tiny, tmp_path):
    plain = _save(tiny, tmp_path / "gone", "1")
    registry.promote(str(plain), "sentiment")
    for p in plain.iterdir():
        p.unlink()
    with pytest.raises(registry.ModelNotFoundError, match="gone"):
        registry.default_model_path("sentiment")


def test_load_model_is_cached_by_path(user_registry, tiny, tmp_path):
    plain = _save(tiny, tmp_path / "cached", "1")
    a = registry.load_model(plain)
    b = registry.load_model(str(plain) + "/")
    assert a is b and a.predict(["Ужасный сервис"]) == ["negative"]


def test_unknown_kind_and_missing_name(user_registry, tmp_path):
    odd = tmp_path / "odd"
    ModelInfo(name="odd", version="1", task="sentiment", kind="svm", labels=["a"]).write(odd)
    with pytest.raises(ValueError, match="unknown model kind 'svm'"):
        registry.load_model(odd)
    with pytest.raises(registry.ModelNotFoundError, match="'no-such-model' not found"):
        registry.load_model("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(registry.ModelNotFoundError, match="not a model directory"):
        registry.load_model(tmp_path / "empty")
