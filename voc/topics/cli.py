"""``voc topics``: fit, show, assign, merge, rename, promote (Typer app mounted by voc/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="topic discovery (BERTopic, offline)")

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _load(model_dir: Path):
    from voc.topics.model import TopicModel

    try:
        return TopicModel.load(model_dir)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))


def _read(path: Path, text_col: str | None):
    from voc.ingest.errors import IngestError
    from voc.topics.io import read_texts

    try:
        return read_texts(path, text_col)
    except (IngestError, ValueError) as exc:
        _fail(str(exc))


def _topics_json(model) -> list[dict]:
    return [{"id": t.id, "name": t.name, "size": t.size, "keywords": t.keywords[:10], "seed": t.seed,
             "is_new": t.is_new, "merged_from": t.merged_from} for t in model.topics]


@app.command()
def fit(
    input: Annotated[Path, typer.Argument(help="feedback file (csv, xlsx, jsonl, parquet, chats, transcripts)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="model directory to write")],
    text_col: Annotated[str | None, typer.Option("--text-col", help="text column name")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy YAML whose topics seed the model")] = None,
    reference: Annotated[Path | None, typer.Option(help="previous model dir: matching topics keep their ids")] = None,
    clustering: Annotated[str, typer.Option(help="kmeans | hdbscan | umap_hdbscan")] = "kmeans",
    n_topics: Annotated[int | None, typer.Option(help="k-means topics (default √(n/3))")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """Fit a topic model on INPUT and save it to MODELDIR."""
    from voc.topics.model import TopicModel

    frame = _read(input, text_col)
    try:
        from voc.config import ConfigError

        model = TopicModel(clustering=clustering, n_topics=n_topics).fit(  # type: ignore[arg-type]  # checked there
            frame["text"].tolist(), taxonomy=taxonomy, reference=reference)
    except (ValueError, FileNotFoundError, ConfigError) as exc:
        _fail(str(exc))
    model.save(output)
    s = model.stats_
    assert s is not None  # set by fit
    if as_json:
        typer.echo(json.dumps({"model_dir": str(output), "version": model.version, "n_docs": s.n_docs,
                               "n_topics": s.n_topics, "n_seeded": s.n_seeded, "outlier_share": s.outlier_share,
                               "seconds": s.seconds, "topics": _topics_json(model)}, ensure_ascii=False, indent=1))
    else:
        typer.echo(f"{s.n_topics} topics ({s.n_seeded} seeded) from {s.n_docs} texts, "
                   f"outliers {s.outlier_share:.1%}, {s.seconds:.1f} s → {output}")


@app.command()
def show(model_dir: Path, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the topics of a model (after curation)."""
    model = _load(model_dir)
    if as_json:
        typer.echo(json.dumps({"version": model.version, "topics": _topics_json(model)}, ensure_ascii=False, indent=1))
        return
    for t in model.topics:
        flags = " [seed]" if t.seed else (" [new]" if t.is_new else "")
        typer.echo(f"{t.id:>4}  {t.size:>6}  {t.name}{flags}  — {', '.join(t.keywords[:6])}")


@app.command()
def assign(
    model_dir: Path,
    input: Path,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV to write (default: stdout)")] = None,
    text_col: Annotated[str | None, typer.Option("--text-col")] = None,
) -> None:
    """Assign each record of INPUT to a topic: id, topic_id, topic, prob."""
    model = _load(model_dir)
    frame = _read(input, text_col)
    result = model.assign(frame["text"].tolist())
    frame = frame[["id"]].assign(topic_id=[r[0] for r in result], topic=[r[1] for r in result],
                                 prob=[r[2] for r in result])
    if output is None:
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        frame.to_csv(output, index=False)
        typer.echo(f"{len(frame)} rows → {output}")


@app.command()
def merge(model_dir: Path, ids: Annotated[list[int], typer.Argument(help="topic ids to merge (2+)")],
          name: Annotated[str | None, typer.Option(help="name of the merged topic")] = None) -> None:
    """Merge topics into the smallest id; kept in the model dir's curation log."""
    model = _load(model_dir)
    try:
        topic = model.merge(ids, name=name)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
    model.save_curation(model_dir)
    typer.echo(f"merged {sorted(ids)} → {topic.id}: {topic.name} ({topic.size})")


@app.command()
def rename(model_dir: Path, topic_id: int, name: str) -> None:
    """Rename a topic; kept in the model dir's curation log."""
    model = _load(model_dir)
    try:
        topic = model.rename(topic_id, name)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
    model.save_curation(model_dir)
    typer.echo(f"{topic.id}: {topic.name}")


@app.command()
def promote(model_dir: Path, topic_id: int,
            taxonomy: Annotated[Path, typer.Option(help="taxonomy YAML to append to (created if missing)")],
            name: Annotated[str | None, typer.Option(help="taxonomy name (default: the topic's name)")] = None) -> None:
    """Append a discovered topic (name, c-TF-IDF keywords, examples) to a taxonomy YAML."""
    model = _load(model_dir)
    try:
        entry = model.promote(topic_id, taxonomy, name=name)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
    model.save_curation(model_dir)
    typer.echo(f"added topic {entry['name']!r} with {len(entry['keywords'])} keywords → {taxonomy}")
