"""``voc serve`` and ``voc keys create|list|revoke`` (the lead mounts ``app`` into the ``voc`` CLI)."""

from __future__ import annotations

from pathlib import Path

import typer

from voc_api.keys import ROLES, create_key, list_keys, revoke_key
from voc_api.settings import Settings, SettingsError

app = typer.Typer(help="HTTP service: serve the API, manage API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored as salted hashes; a new key is printed once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
corrections_app = typer.Typer(help="Analysts' label corrections: export (CSV, Label Studio) and import.",
                              no_args_is_help=True)
app.add_typer(corrections_app, name="corrections")


def _settings(settings_file: Path | None, **overrides: object) -> Settings:
    try:
        s = Settings.load(file=settings_file)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    values = {k: v for k, v in overrides.items() if v is not None}
    return s.model_copy(update=values) if values else s


def _sessions(settings: Settings):
    from voc_api.db import init_db, make_engine, session_factory

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    init_db(engine)
    return session_factory(engine)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int | None = typer.Option(None, help="batch worker processes (default $VOC_WORKERS or 1)"),
    settings_file: Path | None = typer.Option(None, "--settings", help="YAML/JSON settings file"),
    log_level: str = typer.Option("warning", help="uvicorn's own log level"),
) -> None:
    """Run the HTTP service (one API process with the pipeline loaded, plus batch workers)."""
    import uvicorn

    from voc_api.app import create_app

    settings = _settings(settings_file, workers=workers)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                timeout_graceful_shutdown=30)


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., help=f"one of {', '.join(ROLES)}"),
    name: str = typer.Option("", help="who or what uses the key"),
    settings_file: Path | None = typer.Option(None, "--settings"),
) -> None:
    """Create a key and print it once."""
    if role not in ROLES:
        typer.echo(f"error: --role must be one of {', '.join(ROLES)}, got {role!r}", err=True)
        raise typer.Exit(2)
    token, row = create_key(_sessions(_settings(settings_file)), role, name)
    typer.echo(token)
    typer.echo(f"key id {row.id}, role {row.role}; store the key now, it is not shown again", err=True)


@keys_app.command("list")
def keys_list(settings_file: Path | None = typer.Option(None, "--settings")) -> None:
    """List keys (id, role, name, created, revoked) — never the secrets."""
    for row in list_keys(_sessions(_settings(settings_file))):
        revoked = row.revoked_at.isoformat() if row.revoked_at else "-"
        typer.echo(f"{row.id}\t{row.role}\t{row.name or '-'}\t{row.created_at.isoformat()}\trevoked: {revoked}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, settings_file: Path | None = typer.Option(None, "--settings")) -> None:
    """Revoke a key by id."""
    if not revoke_key(_sessions(_settings(settings_file)), key_id):
        typer.echo(f"error: no key with id {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}; running services refuse it within key_cache_ttl_s (1 s by default)")


@corrections_app.command("export")
def corrections_export(
    format: str = typer.Option("csv", "--format", help="csv (for voc train --with-corrections) | label-studio | json"),
    task: str | None = typer.Option(None, "--task", help="only this task: sentiment, emotions, topics, cause, "
                                    "journey_stage"),
    out: Path | None = typer.Option(None, "-o", "--out", help="file to write (default: standard output)"),
    all_versions: bool = typer.Option(False, "--all", help="every correction, not only the newest per record"),
    settings_file: Path | None = typer.Option(None, "--settings"),
) -> None:
    """Write the stored corrections (newest per record and task) as CSV, Label Studio tasks or JSON."""
    import json

    from voc_api import corrections as corr

    if format not in ("csv", "label-studio", "json"):
        typer.echo(f"error: --format must be csv, label-studio or json, got {format!r}", err=True)
        raise typer.Exit(2)
    if task is not None and task not in corr.TASKS:
        typer.echo(f"error: --task must be one of {', '.join(corr.TASKS)}, got {task!r}", err=True)
        raise typer.Exit(2)
    from voc_api.audit import record

    sessions = _sessions(_settings(settings_file))
    rows = corr.query(sessions, task=task)
    rows = rows if all_versions else corr.latest(rows)
    record(sessions, None, f"correction.export.{format}", "corrections", "cli")
    if format == "csv":
        text = corr.to_csv(rows)
    else:
        data = corr.to_label_studio(rows) if format == "label-studio" else [corr.as_dict(r) for r in rows]
        text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(rows)} corrections to {out}", err=True)


@corrections_app.command("import")
def corrections_import(
    path: Path = typer.Argument(..., help="a Label Studio JSON export (tasks with annotations)"),
    author: str = typer.Option("label-studio", "--author", help="recorded as who made them (+ the annotator)"),
    settings_file: Path | None = typer.Option(None, "--settings"),
) -> None:
    """Store the annotations of a Label Studio export as corrections (audited as the CLI's)."""
    import json

    from voc_api import corrections as corr
    from voc_api.audit import record

    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {path}: cannot read it as JSON ({exc})", err=True)
        raise typer.Exit(2) from None
    sessions = _sessions(_settings(settings_file))
    try:
        stored, problems = corr.from_label_studio(sessions, tasks, author)
    except corr.CorrectionError as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    record(sessions, None, "correction.import", f"file:{path.name}", "cli")
    for problem in problems:
        typer.echo(f"{path}: {problem}", err=True)
    typer.echo(f"imported {stored} corrections from {path}" + (f"; {len(problems)} tasks skipped" if problems else ""))
    if problems and not stored:
        raise typer.Exit(1)
