"""The Ray engine (voc.engines.ray_engine): same enriched rows as the local engine, resume after a stop.

Needs Ray Data (``pip install 'voc[ray]'``, not in the dev install: it is large); those tests skip without it.
They run on a local Ray started with ``ray.init(num_cpus=2)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from voc.batch import BatchCancelled, run_batch
from voc.cli import app
from voc.pipeline import Pipeline

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets/sample"
KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "feedback.csv"
    pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False).head(300).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline.load(profile="fast", journey=SAMPLE / "journey.yaml")


@pytest.fixture(scope="module")
def local_run(data, pipeline, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    run_batch(data, out, tickets=SAMPLE / "tickets.csv", pipeline=pipeline, chunk_size=100, pseudonym_key=KEY)
    return out


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _frame(outdir: Path) -> pd.DataFrame:
    return pd.read_parquet(outdir / "enriched.parquet")


def test_ray_engine_gives_the_local_engines_rows(ray_local, data, pipeline, local_run, tmp_path):
    result = run_batch(data, tmp_path, tickets=SAMPLE / "tickets.csv", pipeline=pipeline, chunk_size=100,
                       pseudonym_key=KEY, engine="ray", workers=2)
    local, remote = _frame(local_run), _frame(tmp_path)
    assert list(remote["id"]) == list(local["id"])
    pd.testing.assert_frame_equal(remote, local)  # same ids, labels, scores, evidence, ticket links
    assert sorted(p.name for p in (tmp_path / "parts").glob("chunk-*.parquet")) == \
        sorted(p.name for p in (local_run / "parts").glob("chunk-*.parquet"))
    assert result.summary.records == len(local)


def test_a_stopped_ray_run_resumes_without_loss_or_duplicates(ray_local, data, pipeline, local_run, tmp_path):
    calls = {"n": 0}

    def stop_after_first_commit() -> bool:
        calls["n"] += 1
        return calls["n"] > 3  # 3 chunks are checked before they are queued; stop after the first commit

    with pytest.raises(BatchCancelled):
        run_batch(data, tmp_path, tickets=SAMPLE / "tickets.csv", pipeline=pipeline, chunk_size=100,
                  pseudonym_key=KEY, engine="ray", workers=1, should_stop=stop_after_first_commit)
    committed = list((tmp_path / "parts").glob("chunk-*.json"))
    assert 1 <= len(committed) < 3
    assert not (tmp_path / "enriched.parquet").exists()
    result = run_batch(data, tmp_path, tickets=SAMPLE / "tickets.csv", pipeline=pipeline, chunk_size=100,
                       pseudonym_key=KEY, engine="ray", workers=2)
    pd.testing.assert_frame_equal(_frame(tmp_path), _frame(local_run))
    assert result.summary.rows_in == 300 and result.summary.records == len(_frame(local_run))


def test_nothing_raw_and_not_the_key_reaches_the_actors(ray_local, pipeline, tmp_path):
    """Chunks are masked on the driver; the actors' state has no privacy gate (no pseudonym key)."""
    from voc.engines.ray_engine import RayChunkRunner
    from voc.ingest import read_feedback
    from voc.ingest.privacy import PrivacyGate
    from voc.ingest.pseudonym import Pseudonymizer

    path = tmp_path / "pii.csv"
    pd.DataFrame({"id": ["1"], "text": ["Перезвоните мне 8 (916) 765-43-21, курьер опоздал"],
                  "client": ["ivan.petrov@example.ru"]}).to_csv(path, index=False)
    gate = PrivacyGate(pipeline.redactor, Pseudonymizer(KEY.encode()), [], "test")
    runner = RayChunkRunner((pipeline, gate, None, 3.0), tmp_path, 1)
    assert ray_local.get(runner.state_ref)[1] is None
    chunk = next(iter(read_feedback(path, None, chunk_size=10)))
    runner.submit(0, chunk)
    shipped = ray_local.get(runner.blocks[0]).column("chunk")[0].as_py()
    for raw in (b"765-43-21", b"ivan.petrov", KEY.encode()):
        assert raw not in shipped
    runner.close()


def test_without_ray_the_engine_is_a_clear_error(data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    monkeypatch.setenv("VOC_PSEUDONYM_KEY", KEY)
    res = CliRunner().invoke(app, ["analyze", str(data), "-o", str(tmp_path / "o"), "--engine", "ray",
                                   "--profile", "fast", "-q"])
    assert res.exit_code == 2
    assert "pip install 'voc[ray]'" in res.output


def test_an_unknown_engine_is_refused(data, tmp_path):
    res = CliRunner().invoke(app, ["analyze", str(data), "-o", str(tmp_path / "o"), "--engine", "spark"])
    assert res.exit_code == 2 and "--engine" in res.output
    with pytest.raises(ValueError, match="engine 'spark'"):
        run_batch(data, tmp_path / "p", engine="spark")


def test_http_batch_jobs_take_the_engine_from_the_settings():
    from voc_api.settings import Settings, SettingsError
    from voc_api.uploads import spec_from_form

    def engine(settings: Settings) -> tuple:
        spec = spec_from_form({"feedback": "in.csv"}, Path("out"), settings)  # the job's run spec
        return spec.engine, spec.ray_address, spec.workers

    s = Settings.load({"VOC_BATCH_ENGINE": "ray", "VOC_RAY_ADDRESS": "ray://head:10001", "VOC_RAY_WORKERS": "8"})
    assert engine(s) == ("ray", "ray://head:10001", 8)
    assert engine(Settings.load({})) == ("local", None, 1)
    with pytest.raises(SettingsError, match="VOC_BATCH_ENGINE"):
        Settings.load({"VOC_BATCH_ENGINE": "spark"})
