"""One run spec (voc.runspec): the CLI, voc.analyze() and the HTTP upload accept the same fields; the new
options work on each path; worker processes get the pipeline through the pool initializer; the core never
imports its shells and finds their commands through entry points."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pandas as pd
import pytest
import typer
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models
from typer.testing import CliRunner

import voc
from voc.runspec import CLI_EXCLUDED, SERVICE_FIELDS, RunSpec

ROOT = Path(__file__).resolve().parents[1]
FIELDS = set(RunSpec.model_fields)
PHONE = "+7 912 345-67-89"
TEXTS = ["Курьер опоздал на три часа, ужасно", "Спасибо, всё отлично и быстро", "Приложение не открывается",
         "Деньги списали дважды, верните", "Нормально, ничего особенного", "Оператор грубил и бросил трубку"]


def _params(fn) -> set[str]:
    return set(inspect.signature(fn).parameters)


# --- the three entry points offer the same spec ---------------------------------------------------------

def test_cli_takes_every_spec_field_but_the_key():
    from voc.cli import analyze

    assert _params(analyze) - {"quiet"} == FIELDS - CLI_EXCLUDED


def test_python_api_takes_every_spec_field():
    params = _params(voc.analyze) - {"quiet", "mapping"}  # mapping: the older name of columns
    assert (params - {"data"}) | {"inputs"} == FIELDS


def test_upload_takes_every_spec_field_the_service_does_not_decide():
    from voc_api.routers.batches import create_batch
    from voc_api.uploads import UPLOAD_FILES, UPLOAD_OPTIONS

    form = _params(create_batch) - {"state", "audit", "response", "principal"}
    assert {UPLOAD_FILES.get(f, f) for f in form} == FIELDS - SERVICE_FIELDS
    assert set(UPLOAD_FILES.values()) | set(UPLOAD_OPTIONS) == FIELDS - SERVICE_FIELDS


def test_spec_errors_name_the_field():
    with pytest.raises(ValueError, match="redact_names: .*expected one of morph"):
        RunSpec.build(inputs=["a.csv"], redact_names="ner")
    with pytest.raises(ValueError, match="link_window_days"):
        RunSpec.build(inputs=["a.csv"], link_window_days=-1)
    with pytest.raises(ValueError, match="^profile: unknown profile 'turbo'"):
        RunSpec.build(inputs=["a.csv"], profile="turbo")
    assert RunSpec.build(inputs=["a.csv"], profile="accurate").profile == "accurate"
    with pytest.raises(ValueError, match="engine"):
        RunSpec.build(inputs=["a.csv"], engine="spark")
    spec = RunSpec.build(inputs=["a.csv"], text_col="Отзыв", channel="chat", keep_pii_columns=[" ФИО ", "ФИО"])
    assert spec.column_mapping().text == "Отзыв" and spec.column_mapping().default_channel == "chat"
    assert spec.keep_pii_columns == ["ФИО"]


# --- new options on each path ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def feedback(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "in.csv"
    pd.DataFrame({"Отзыв": [f"{t}. Звоните {PHONE}" for t in TEXTS * 2],
                  "клиент": [f"c{i % 3}" for i in range(12)],
                  "дата": [f"2026-01-{1 + i:02d}" for i in range(12)]}).to_csv(path, index=False)
    return path


def test_python_api_redaction_columns_channel_and_workers(feedback, tmp_path):
    columns = tmp_path / "columns.yaml"
    columns.write_text("columns: {text: Отзыв, customer_id: клиент, created_at: дата}\n", encoding="utf-8")
    common = dict(columns=columns, channel="chat", profile="fast", chunk_size=4, pseudonym_key="k" * 32)
    masked = voc.analyze(feedback, outdir=tmp_path / "masked", workers=2, **common)
    assert len(masked.frame) == 12 and set(masked.frame["channel"]) == {"chat"}
    assert not masked.frame["text"].str.contains("912").any()
    one = voc.analyze(feedback, outdir=tmp_path / "one", workers=1, **common)
    cols = ["id", "text", "sentiment", "topics", "cause", "journey_stage", "repeat_contact"]
    pd.testing.assert_frame_equal(masked.frame[cols], one.frame[cols])  # 2 workers == 1 worker
    raw = voc.analyze(feedback, outdir=tmp_path / "raw", redact=False, repeat_window_days=0, write_csv=False,
                      **common)
    assert raw.frame["text"].str.contains("912").all() and not raw.frame["repeat_contact"].any()
    assert not (tmp_path / "raw" / "enriched.csv").exists() and (tmp_path / "masked" / "enriched.csv").exists()
    assert masked.frame["repeat_contact"].any()  # the same customers within 7 days


def test_cli_windows_and_csv_flags(feedback, tmp_path):
    from voc.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["analyze", str(feedback), "-o", str(out), "--text-col", "Отзыв", "-q",
                                   "--workers", "1", "--profile", "fast", "--no-csv", "--repeat-window-days", "0",
                                   "--link-window-days", "1"])
    assert res.exit_code == 0, res.output
    assert (out / "enriched.parquet").exists() and not (out / "enriched.csv").exists()
    res = CliRunner().invoke(app, ["analyze", str(feedback), "-o", str(out), "--redact-names", "ner"])
    assert res.exit_code == 2 and "--redact-names" in res.output and "morph" in res.output
    res = CliRunner().invoke(app, ["analyze", str(feedback), "-o", str(out), "--causes", str(tmp_path / "no.yaml")])
    assert res.exit_code == 2 and "--causes: file not found" in res.output


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from voc_api.app import create_app
    from voc_api.worker import JobRunner

    tmp = tmp_path_factory.mktemp("spec_api")
    settings = make_settings(tmp, train_tiny_models(tmp / "models"), chunk_size=40)
    app = create_app(settings, start_workers=False, start_sender=False)
    with TestClient(app) as client:
        client.analyst = bearer(app.state.voc.sessions, "analyst")  # type: ignore[attr-defined]
        client.runner = JobRunner(settings, app.state.voc.sessions, "t")  # type: ignore[attr-defined]
        client.tmp = tmp  # type: ignore[attr-defined]
        yield client


def test_upload_takes_causes_columns_channel_and_windows(service, feedback):
    from voc_api import jobs
    from voc_api.uploads import spec_from_form

    causes = (ROOT / "voc/resources/causes.yaml").read_bytes()
    columns = "columns: {text: Отзыв, customer_id: клиент, created_at: дата}\n".encode()
    created = service.post("/v1/batches", headers=service.analyst,
                           files={"file": ("in.csv", feedback.read_bytes()), "causes": ("c.yaml", causes),
                                  "columns": ("m.yaml", columns)},
                           data={"channel": "chat", "repeat_window_days": "0", "redact_names": "off"})
    assert created.status_code == 202, created.text
    state = service.app.state.voc
    job = jobs.get_job(state.sessions, created.json()["id"])
    spec = spec_from_form(job.inputs, Path(job.outdir), state.settings)
    assert spec.causes is not None and spec.causes.exists() and spec.channel == "chat"
    assert spec.repeat_window_days == 0 and spec.redact_names == "off"
    assert spec.column_mapping().text == "Отзыв"
    assert spec.pipeline_config == state.settings.pipeline_config  # a service field: from the settings
    assert service.runner.run_once()
    status = service.get(f"/v1/batches/{job.id}", headers=service.analyst).json()
    assert status["state"] == "succeeded", status
    frame = pd.read_parquet(Path(job.outdir) / "enriched.parquet")
    assert set(frame["channel"]) == {"chat"} and not frame["repeat_contact"].any()


def test_upload_refuses_a_bad_option_naming_it(service, feedback):
    bad = service.post("/v1/batches", headers=service.analyst, files={"file": ("in.csv", feedback.read_bytes())},
                       data={"redact_names": "ner"})
    assert bad.status_code == 422 and "redact_names" in bad.text
    bad = service.post("/v1/batches", headers=service.analyst, files={"file": ("in.csv", feedback.read_bytes())},
                       data={"preset": "insurance", "profile": "fast"})
    assert bad.status_code == 422 and "unknown preset 'insurance'" in bad.text
    bad = service.post("/v1/batches", headers=service.analyst, files={
        "file": ("in.csv", feedback.read_bytes()), "causes": ("c.yaml", b"causes: [1, 2")})
    assert bad.status_code == 422 and "causes" in bad.text


# --- worker processes ------------------------------------------------------------------------------------

def test_workers_get_the_pipeline_through_the_initializer(feedback, tmp_path):
    import voc.batch
    import voc.run.pool as pool
    from voc.pipeline import Pipeline

    assert not hasattr(voc.batch, "_WORKER_STATE")
    spec = RunSpec.build(inputs=[feedback], outdir=tmp_path / "o", text_col="Отзыв", profile="fast", workers=2,
                         chunk_size=3, pseudonym_key="k" * 32)
    given = Pipeline.load(profile="fast")  # not from a spec: sent to the workers pickled
    result = voc.batch.run(spec, pipeline=given)
    assert result.summary.records == 12 and len(list((tmp_path / "o" / "parts").glob("chunk-*.json"))) == 4
    assert pool._worker is None  # set in the workers only
    assert result.frame is not None and len(result.frame) == 12 and result.aggregates.records == 12


def test_a_pipeline_that_does_not_pickle_is_rebuilt_from_its_spec():
    from voc.run.pool import pipeline_payload

    class Native:
        def __reduce__(self):
            raise TypeError("cannot pickle 'InferenceSession' object")

    spec = RunSpec(inputs=["a.csv"])
    assert pipeline_payload(Native(), spec) == (None, spec)
    with pytest.raises(ValueError, match="cannot be sent to worker processes"):
        pipeline_payload(Native(), None)
    blob, none = pipeline_payload({"a": 1}, spec)
    assert none is None and blob


def test_a_parent_with_a_live_onnx_session_does_not_hang_its_workers(tmp_path):
    """The encoder hang: a model run in the parent before the pool starts (native thread pools alive)."""
    from helpers.multitask import build_tiny_multitask

    model = build_tiny_multitask(tmp_path / "mt" / "voc-multitask", onnx=True)
    data = tmp_path / "in.csv"
    pd.DataFrame({"text": TEXTS * 4}).to_csv(data, index=False)
    script = textwrap.dedent(f"""
        import os
        os.environ["VOC_MODELS_DIR"] = {str(tmp_path / "registry")!r}
        from voc_models import registry
        from voc.batch import run
        from voc.pipeline import Pipeline
        from voc.runspec import RunSpec
        from voc.schema import Feedback
        registry.promote({str(model)!r}, "sentiment")
        spec = RunSpec(inputs=[{str(data)!r}], outdir={str(tmp_path / "out")!r}, workers=2, chunk_size=5,
                       pseudonym_key="k" * 32)
        pipe = Pipeline.from_spec(spec)
        assert pipe.versions["sentiment"].startswith("voc-multitask"), pipe.versions
        pipe.analyze([Feedback(id="x", text="ужасно")] * 8)  # the parent's ONNX/torch thread pools are live
        print("records", run(spec, pipeline=pipe).summary.records)
    """)
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT), "VOC_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "records 24" in done.stdout


# --- package boundaries ----------------------------------------------------------------------------------

SHELLS = {"voc_api", "voc_training", "api", "training"}


def test_no_core_module_imports_its_shells():
    offenders = []
    for path in sorted((ROOT / "voc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in SHELLS]
    assert not offenders, offenders


def test_shell_commands_come_from_entry_points(capsys):
    from voc.cli import COMMAND_GROUP, declared_command_groups, mount_command_groups

    declared = {p.name: p.value for p in declared_command_groups()}
    assert declared == {"api": "voc_api.cli:app", "training": "voc_training.cli:app"}
    target = typer.Typer()
    points = [EntryPoint("training", "voc_training.cli:app", COMMAND_GROUP),
              EntryPoint("missing", "no_such_shell.cli:app", COMMAND_GROUP)]
    assert mount_command_groups(target, points) == ["training"]
    assert "no_such_shell" in capsys.readouterr().err
    from voc_training.cli import app as training_app

    assert target.registered_groups[0].typer_instance is training_app
    with pytest.raises(TypeError, match="expected a typer.Typer"):
        mount_command_groups(typer.Typer(), [EntryPoint("x", "voc.cli:COMMAND_GROUP", COMMAND_GROUP)])


def test_every_entry_point_defaults_to_the_same_chunk_size():
    """The CLI option, the Python API argument and the service setting all default to RunSpec's chunk size."""
    from voc import python_api
    from voc.cli import analyze
    from voc.runspec import DEFAULT_CHUNK_ROWS
    from voc_api.settings import Settings

    assert RunSpec.model_fields["chunk_size"].default == DEFAULT_CHUNK_ROWS
    assert inspect.signature(analyze).parameters["chunk_size"].default == DEFAULT_CHUNK_ROWS
    assert inspect.signature(python_api.analyze).parameters["chunk_size"].default == DEFAULT_CHUNK_ROWS
    assert Settings.model_fields["chunk_size"].default == DEFAULT_CHUNK_ROWS
