"""summary.json says how each text input was decoded (codec, method, undecodable bytes)."""

from __future__ import annotations

import json

import voc


def test_summary_records_each_text_inputs_encoding(tmp_path):
    legacy = tmp_path / "отзывы.csv"
    legacy.write_bytes("text\nКурьер опоздал на два часа, очень недоволен\nВсё пришло вовремя, спасибо\n"
                       .encode("cp1251"))
    modern = tmp_path / "chats.jsonl"
    modern.write_text('{"text": "Поддержка не отвечает третий день"}\n', encoding="utf-8")
    result = voc.analyze([legacy, modern], outdir=tmp_path / "out", profile="fast", workers=1)
    seen = result.summary.input_encodings
    assert seen["отзывы.csv"]["encoding"] == "cp1251" and seen["отзывы.csv"]["bad_bytes"] == 0
    assert seen["chats.jsonl"]["encoding"].startswith("utf-8")
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written["summary"]["input_encodings"] == json.loads(json.dumps(seen))
