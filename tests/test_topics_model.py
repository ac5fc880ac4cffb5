"""Topic discovery: fit on a synthetic corpus, seeds, outliers, save/load ids, curation, re-fit with reference."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc.topics import TopicModel
from voc.topics.naming import topic_name
from voc.topics.preprocess import lemma_doc

THEMES: dict[str, list[str]] = {
    "delivery": ["курьер", "опоздал", "доставка", "посылка", "привезли", "пункт выдачи", "заказ пришёл поздно"],
    "payment": ["оплата", "списали", "дважды", "карта", "платёж не прошёл", "деньги списали", "чек"],
    "app": ["приложение", "вылетает", "обновление", "экран входа", "не открывается", "ошибка в приложении"],
    "parking": ["парковка", "машину", "места нет", "шлагбаум", "парковаться", "стоянка у магазина"],
}
FILLER = ["добрый день", "спасибо", "здравствуйте", "очень", "вчера", "снова", "опять"]
SEEDS = {"доставка": ["доставка", "курьер", "посылка"], "оплата": ["оплата", "списать", "платеж"]}


def synthetic_corpus(n_per_theme: int = 60, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short feedback-like texts from word lists (no third-party text)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for theme, words in THEMES.items():
        for _ in range(n_per_theme):
            parts = rng.sample(words, 4) + rng.sample(FILLER, 2)
            rng.shuffle(parts)
            texts.append(" ".join(parts).capitalize() + ".")
            labels.append(theme)
    return texts, labels


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    return synthetic_corpus()


@pytest.fixture(scope="module")
def fitted(corpus, tmp_path_factory) -> tuple[TopicModel, TopicModel, Path]:
    texts, _ = corpus
    model = TopicModel(n_components=20, n_topics=4).fit(texts, taxonomy=SEEDS)
    path = model.save(tmp_path_factory.mktemp("topics") / "model")
    return model, TopicModel.load(path), path


def test_preprocess_drops_greetings_and_lemmatises() -> None:
    assert lemma_doc("Добрый день! Курьеры опоздали, спасибо.") == "курьер опоздать"
    assert lemma_doc("Здравствуйте, спасибо!") == ""


def test_topic_name_from_key_phrases() -> None:
    assert topic_name(["доставка", "курьер опоздать", "курьер", "опоздание"]) == "доставка · курьер опоздать · опоздание"
    assert topic_name([]) == "без названия"


def test_fit_finds_themes_keeps_seed_names_and_few_outliers(fitted, corpus) -> None:
    model, _, _ = fitted
    texts, labels = corpus
    names = {t.name for t in model.topics}
    assert {"доставка", "оплата"} <= names
    assert model.stats_.outlier_share <= 0.15
    # each theme lands mostly in one topic
    for theme in THEMES:
        ids = [lab for lab, y in zip(model.labels_, labels, strict=True) if y == theme]
        assert max(ids.count(i) for i in set(ids)) / len(ids) >= 0.8
    parking = [t for t in model.topics if "парковка" in t.keywords or "парковаться" in t.keywords]
    assert parking and parking[0].seed is None and parking[0].name != "без названия"


def test_fit_labels_equal_online_assign(fitted, corpus) -> None:
    model, _, _ = fitted
    texts, _ = corpus
    assert [a[0] for a in model.assign(texts)] == model.labels_.tolist()
    assert model.assign(["спасибо", "!!!"]) == [(-1, None, 0.0), (-1, None, 0.0)]


WORDS = sorted({w for ws in THEMES.values() for p in ws for w in p.split()} | set(FILLER) | {"кот", "xyz"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)
                | st.text(max_size=30), min_size=1, max_size=12))
def test_assignments_identical_after_save_load(fitted, texts) -> None:
    model, loaded, _ = fitted
    assert loaded.assign(texts) == model.assign(texts)


def test_too_few_texts_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least 10 texts"):
        TopicModel().fit(["спасибо"] * 20)


def test_curation_round_trip(fitted, tmp_path) -> None:
    _, _, path = fitted
    model = TopicModel.load(path)
    ids = [t.id for t in model.topics if not t.seed][:2]
    merged = model.merge(ids, name="прочее о магазине")
    model.rename(merged.id, "магазин: приложение и парковка")
    model.save_curation(path)
    again = TopicModel.load(path)
    assert [t.id for t in again.topics] == [t.id for t in model.topics]
    assert ids[1] not in again.topics_by_id()
    head = again.topic(ids[1])  # the merged-away id resolves to the survivor
    assert head.id == ids[0] and head.name == "магазин: приложение и парковка"
    assert head.merged_from == [ids[1]]
    names = {name for _, name, _ in again.assign(["приложение вылетает после обновления", "парковка шлагбаум"])}
    assert names == {"магазин: приложение и парковка"}

    yaml_path = tmp_path / "taxonomy.yaml"
    entry = again.promote(head.id, yaml_path)
    from voc.config import load_taxonomy

    taxonomy = load_taxonomy(yaml_path)
    assert taxonomy.names() == ["магазин: приложение и парковка"]
    assert entry["keywords"] and entry["examples"]
    with pytest.raises(ValueError, match="already in the taxonomy"):
        again.promote(head.id, yaml_path)
    assert yaml.safe_load(yaml_path.read_text(encoding="utf-8"))["topics"][0]["name"] == head.name
    # restore the untouched model for the other tests
    (path / "curation.json").unlink()


def test_refit_with_reference_keeps_ids_and_flags_new(fitted) -> None:
    model, _, path = fitted
    texts, labels = synthetic_corpus(seed=1)
    base = [t for t, y in zip(texts, labels, strict=True) if y != "parking"]
    extra = [f"Кассир нагрубил и {w}, хамство на кассе, очередь" for w in ("ушёл", "кричал", "молчал")] * 20
    refit = TopicModel(n_components=20, n_topics=4).fit(base + extra, taxonomy=SEEDS, reference=path)
    by_kw = {t.keywords[0]: t for t in refit.topics}
    old_app = next(t for t in model.topics if "приложение" in t.keywords[:5])
    new_app = next(t for t in refit.topics if "приложение" in t.keywords[:5])
    assert new_app.id == old_app.id and not new_app.is_new
    assert refit.topic(model.topics[0].id).name == model.topics[0].name
    new = [t for t in refit.topics if t.is_new]
    assert new and all(t.id >= model.next_id_ for t in new), by_kw
