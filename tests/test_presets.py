"""Domain presets (voc/presets.py, voc/resources/presets/): loading, validation, suggestion from texts, the
--preset option of `voc analyze` (explicit config files win)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voc.config import ConfigError
from voc.presets import (
    PRESETS,
    Preset,
    PresetChoice,
    load_preset,
    resolve_preset,
    suggest_preset,
    validate_preset,
)
from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES

BANK_TEXTS = [
    "Банк одобрил ипотеку, но навязал страховку жизни, ставка выросла.",
    "Заблокировали дебетовую карту по 115-ФЗ, зарплату снять не могу.",
    "Открыла вклад под хороший процент, капитализация ежемесячно.",
    "Мошенники позвонили от имени службы безопасности и украли деньги с карты.",
    "Досрочное погашение кредита провели с ошибкой.",
    "Кешбэк по кредитной карте так и не начислили.",
]
RETAIL_TEXTS = [
    "Платье маломерит на размер, ткань тонкая, швы кривые.",
    "Кроссовки пришли в пункт выдачи быстро, качество отличное.",
    "Куртка полиняла после первой стирки, материал синтетика.",
    "Товар не соответствует описанию, цвет не как на фото.",
    "Заказала джинсы, посадка отличная, сидят идеально.",
    "Курьер привёз коробку помятой, упаковка порвана.",
]


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_with_the_default_stage_and_cause_names(name: str) -> None:
    preset = load_preset(name)
    assert isinstance(preset, Preset) and preset.name == name
    assert [s.name for s in preset.journey.stages] == list(JOURNEY_STAGES)
    assert sorted(preset.causes.names()) == sorted(COMPLAINT_CAUSES)
    assert all(p.is_file() for p in preset.paths.values())
    for topic in preset.taxonomy.topics:  # usable by the zero-shot path too
        assert topic.description and 2 <= len(topic.examples) <= 3, topic.name
    for stage in preset.journey.stages:
        assert stage.description and stage.examples and stage.ticket_categories, stage.name


def test_banking_preset_has_the_banking_topics() -> None:
    names = set(load_preset("banking").taxonomy.names())
    assert {"безопасность/мошенничество", "карты и счета", "кредиты и ипотека", "вклады и накопления"} <= names
    assert not names & {"ассортимент/наличие", "качество товара", "связь и интернет"}


def test_unknown_preset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown preset 'insurance'; known: banking, telecom, retail"):
        load_preset("insurance")


def test_validation_catches_a_stage_hint_to_a_missing_topic() -> None:
    good = load_preset("retail")
    journey = good.journey.model_copy(deep=True)
    journey.stages[0].topics = ["нет такой темы"]
    bad = Preset(name="x", taxonomy=good.taxonomy, journey=journey, causes=good.causes, paths=good.paths)
    with pytest.raises(ConfigError, match=r"stages\[0\]\.topics\[0\]: 'нет такой темы' is not a topic"):
        validate_preset(bad)


def test_suggest_preset_picks_the_domain_of_the_texts() -> None:
    name, scores = suggest_preset(BANK_TEXTS)
    assert name == "banking" and scores["banking"] > max(scores["retail"], scores["telecom"])
    name, scores = suggest_preset(RETAIL_TEXTS)
    assert name == "retail" and scores["retail"] > max(scores["banking"], scores["telecom"])
    name, _ = suggest_preset(["Интернет пропадает каждый вечер, роуминг дорогой, перенос номера затянули."] * 3)
    assert name == "telecom"


def test_suggest_preset_without_evidence_keeps_the_defaults() -> None:
    assert suggest_preset([]) == (None, {n: 0.0 for n in PRESETS})
    name, scores = suggest_preset(["Спасибо, всё хорошо", "Нормально", "  "])
    assert name is None and set(scores) == set(PRESETS)


def test_suggest_preset_samples_large_inputs() -> None:
    name, scores = suggest_preset(BANK_TEXTS * 200 + RETAIL_TEXTS * 20, sample_size=300)
    assert name == "banking" and 0 < scores["retail"] < scores["banking"]


def test_resolve_preset_explicit_files_win(tmp_path: Path) -> None:
    mine = tmp_path / "tax.yaml"
    choice, tax, journey, causes = resolve_preset("banking", taxonomy=mine)
    assert choice == PresetChoice(name="banking", source="flag") and choice.label == "banking"
    assert tax == mine and journey == load_preset("banking").paths["journey"]
    assert causes == load_preset("banking").paths["causes"]
    assert resolve_preset(None, taxonomy=mine) == (None, mine, None, None)


def test_resolve_preset_auto_reads_the_input(tmp_path: Path) -> None:
    src = tmp_path / "feedback.csv"
    src.write_text("text\n" + "\n".join(f'"{t}"' for t in RETAIL_TEXTS) + "\n", encoding="utf-8")
    choice, tax, _, _ = resolve_preset("auto", [src])
    assert choice is not None and choice.name == "retail" and choice.source == "auto"
    assert tax == load_preset("retail").paths["taxonomy"]
    assert choice.label.startswith("retail (auto: retail ")


@pytest.mark.slow
def test_cli_preset_option(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voc.cli import EXIT_BAD_INPUT, app

    src = tmp_path / "feedback.csv"
    src.write_text("text\n" + "\n".join(f'"{t}"' for t in BANK_TEXTS) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(src), "-o", str(tmp_path / "bad"), "--preset", "insurance"])
    assert res.exit_code == EXIT_BAD_INPUT and "unknown preset 'insurance'" in res.output
    res = runner.invoke(app, ["analyze", str(src), "-o", str(tmp_path / "out"), "--preset", "auto", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "preset: banking (auto: banking" in res.output
    import pandas as pd

    topics = pd.read_parquet(tmp_path / "out" / "enriched.parquet")["topics"]
    found = {t for row in topics for t in row}
    assert {"вклады и накопления", "безопасность/мошенничество"} <= found  # topics only the banking preset has
