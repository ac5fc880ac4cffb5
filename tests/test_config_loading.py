"""voc.config: default vocabularies load; bad files give errors that name the file and the field path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voc.config import ConfigError, load_causes, load_journey, load_taxonomy, normalize_name
from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES

REQUIRED_TOPICS = {
    "доставка", "оплата", "возврат", "качество товара", "цена и условия", "персонал", "приложение/сайт",
    "скорость/ожидание", "коммуникация/уведомления", "ассортимент/наличие", "бонусы и лояльность",
    "связь и интернет", "карты и счета", "кредиты и ипотека", "оформление заказа",
}


def test_default_taxonomy_has_required_topics_with_keywords_and_examples() -> None:
    tax = load_taxonomy()
    assert REQUIRED_TOPICS <= set(tax.names())
    for topic in tax.topics:
        assert topic.description
        assert 15 <= len(topic.keywords) <= 40, topic.name
        assert 2 <= len(topic.examples) <= 3, topic.name


def test_default_journey_and_causes_match_vocab() -> None:
    journey = load_journey()
    assert [s.name for s in journey.stages] == list(JOURNEY_STAGES)
    mapping = journey.stage_by_ticket_category()
    assert mapping[normalize_name("Возврат товара")] == "возврат"
    assert mapping[normalize_name("Техническая проблема")] == "обслуживание/поддержка"
    assert mapping[normalize_name("Бонусы и лояльность")] == "повторная покупка/лояльность"
    causes = load_causes()
    assert causes.names() == list(COMPLAINT_CAUSES)
    assert causes.fallback == "другое"


def _write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_wrong_field_type_names_file_and_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - name: доставка\n    keywords: курьер\n")
    with pytest.raises(ConfigError) as err:
        load_taxonomy(path)
    assert str(path) in str(err.value)
    assert "topics[0].keywords" in str(err.value)


def test_missing_name_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "stages:\n  - description: без имени\n")
    with pytest.raises(ConfigError, match=r"stages\[0\]\.name: Field required"):
        load_journey(path)


def test_unknown_parent_and_duplicate_names(tmp_path: Path) -> None:
    bad_parent = _write(tmp_path, "topics:\n  - {name: a, keywords: [x], parent: b}\n", "p.yaml")
    with pytest.raises(ConfigError, match=r"topics\[0\]\.parent"):
        load_taxonomy(bad_parent)
    dup = _write(tmp_path, "causes:\n  - {name: другое}\n  - {name: другое}\n", "d.yaml")
    with pytest.raises(ConfigError, match=r"causes\[1\]\.name: duplicate"):
        load_causes(dup)


def test_ticket_category_mapped_twice_and_bad_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "stages:\n  - {name: a, ticket_categories: [Доставка]}\n  - {name: b, ticket_categories: [' доставка ']}\n",
    )
    with pytest.raises(ConfigError, match=r"stages\[1\]\.ticket_categories\[0\]"):
        load_journey(path)
    path = _write(tmp_path, "default_stage: c\nstages:\n  - {name: a}\n", "x.yaml")
    with pytest.raises(ConfigError, match="default_stage"):
        load_journey(path)


def test_fallback_must_be_a_cause_and_extra_fields_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "fallback: прочее\ncauses:\n  - {name: другое}\n")
    with pytest.raises(ConfigError, match="fallback"):
        load_causes(path)
    path = _write(tmp_path, "causes:\n  - {name: другое, keyword: [x]}\n", "e.yaml")
    with pytest.raises(ConfigError, match=r"causes\[0\]\.keyword: Extra inputs"):
        load_causes(path)


def test_empty_keyword_names_item(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - {name: a, keywords: [x, '  ']}\n")
    with pytest.raises(ConfigError, match=r"topics\[0\]\.keywords: item 1 is empty"):
        load_taxonomy(path)


def test_missing_file_bad_yaml_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_taxonomy(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+, column \d+"):
        load_causes(_write(tmp_path, "causes:\n  - [unclosed\n", "y.yaml"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_journey(_write(tmp_path, "- a\n- b\n", "l.yaml"))


@given(st.text(alphabet="абвгдеёжАБВЁ /", min_size=1, max_size=30))
def test_normalize_name_is_idempotent_and_case_insensitive(value: str) -> None:
    once = normalize_name(value)
    assert normalize_name(once) == once
    assert normalize_name(value.upper()) == normalize_name(value.lower())
    assert normalize_name(f"  {value}  ") == once
