"""The ``shopagent`` command: a thin front over ingest, agent, server and evals.

Each subcommand parses its options, builds settings, and calls one function of the
package that owns the work. Errors an operator can fix end with exit code 2 and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shop.errors import ConfigError

app = typer.Typer(
    name="shopagent",
    help="A retrieval-augmented shopping assistant for your own store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="offline | openai:MODEL | langchain:PROVIDER:MODEL")
]


def _not_yet(what: str) -> None:
    typer.echo(f"shopagent {what}: not available yet in this version.", err=True)
    raise typer.Exit(2)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    merchant: Annotated[str | None, typer.Option(help="Merchant id (default: SHOPAGENT_MERCHANT).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a JSON ingest report here.")] = None,
    replace: Annotated[
        bool, typer.Option("--replace/--append", help="Remove rows missing from a re-uploaded file.")
    ] = True,
) -> None:
    """Ingest catalogs, documents, order records and store.yaml.

    Exit 0: everything accepted; 3: some rows rejected (each printed as FILE:LINE: message),
    the rest stored; 1: nothing could be ingested and nothing stored was changed.
    """
    from ingest.cli import run_ingest

    raise typer.Exit(run_ingest(paths, merchant, report, replace))


@app.command()
def chat(model: ModelOpt = None, merchant: Annotated[str | None, typer.Option()] = None) -> None:
    """Talk to the agent in the terminal."""
    from agent.chat_cli import chat as run_chat
    from channels import outbox
    from shop.settings import load_settings

    outbox.install()  # orders placed here reach the merchant's webhooks like those from the server
    run_chat(load_settings(), model=model, merchant=merchant)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    model: ModelOpt = None,
) -> None:
    """Serve the HTTP API and the web widget (the demo store is created on first run)."""
    import uvicorn

    from api.demo import seed_demo_if_empty
    from api.logs import configure_logging
    from server import create_app
    from shop.db import open_database
    from shop.settings import load_settings

    settings = load_settings(**({"model": model} if model else {}))
    configure_logging(settings.log_level)
    db = open_database(settings)
    try:
        created = seed_demo_if_empty(settings, db, settings.merchant)
    finally:
        db.dispose()
    if created:
        typer.echo(f"first run: created the demo store: {created}")
    shown = f"[{host}]" if ":" in host else host
    typer.echo(
        f"shopagent: model {settings.resolved_model}, serving http://{shown}:{port}/ (API docs at /docs)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


apikey_app = typer.Typer(help="Merchant API keys (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    merchant: Annotated[str, typer.Option(help="The merchant id the key may act for.")],
    label: Annotated[str, typer.Option(help="A note to tell keys apart.")] = "",
) -> None:
    """Create an API key for the merchant routes and print it (only this once)."""
    import re

    from api.keys import create_api_key
    from shop.db import open_database
    from shop.settings import load_settings

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", merchant):
        typer.echo("--merchant: use 1 to 64 letters, digits, '-' or '_'", err=True)
        raise typer.Exit(2)
    db = open_database(load_settings())
    try:
        created = create_api_key(db, merchant, label)
    finally:
        db.dispose()
    typer.echo(created.key)
    typer.echo(
        f"API key {created.prefix} for merchant {merchant}: it is shown only now and stored hashed; keep it safe.",
        err=True,
    )


@app.command(name="eval")
def eval_(
    suite: Annotated[
        str | None, typer.Argument(help="Suite folder, or 'compare' followed by two reports.")
    ] = None,
    reports: Annotated[
        list[Path] | None,
        typer.Argument(help="With 'compare': the two JSON reports A and B.", show_default=False),
    ] = None,
    model: ModelOpt = None,
    trials: Annotated[int, typer.Option(min=1, help="Run each dialogue K times (pass^k).")] = 1,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    fail_under: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Exit 1 when pass^1 is below this rate.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Dialogues run concurrently.")] = 1,
    judge_model: Annotated[
        str | None, typer.Option(help="Also score helpfulness and tone with this model (reported apart).")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Embedder for the suite's store (default: settings).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only the dialogue with this id (repeatable).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    embed_cache: Annotated[
        bool, typer.Option("--embed-cache/--no-embed-cache", help="Reuse embeddings from earlier runs.")
    ] = True,
    tau2: Annotated[
        Path | None,
        typer.Option(help="Run τ²-bench retail from this folder (db.json, tasks.json, policy.md)."),
    ] = None,
    tasks: Annotated[
        str, typer.Option(help="With --tau2: all, test, train or task ids like 0,5,12.")
    ] = "all",
    user_model: Annotated[
        str | None, typer.Option(help="With --tau2: the model playing the customer (default: --model).")
    ] = None,
) -> None:
    """Run an eval suite of canned dialogues and retrieval queries, or compare two reports."""
    if tau2 is not None:  # τ²-bench retail has its own runner and report (evals/tau2/)
        from evals.tau2.cli import main as tau2_main

        tau2_main(tau2, tasks, model, user_model, trials, report)
        return
    if suite is None:
        raise typer.BadParameter("give a SUITE folder (or --tau2 PATH)", param_hint="SUITE")
    from evals.cli import eval_command
    from shop.settings import load_settings

    eval_command(
        suite,
        list(reports or []),
        model or load_settings().resolved_model,
        trials=trials,
        report_path=report,
        html_path=html,
        fail_under=fail_under,
        workers=workers,
        judge_model=judge_model,
        embedder=embedder,
        only=only,
        progress=progress,
        embed_cache=embed_cache,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one pass and print what it did.")] = False,
) -> None:
    """Deliver merchant webhooks and abandoned-cart reminders, with retries (runs until interrupted)."""
    import json

    from channels.worker import run_worker
    from shop.settings import load_settings

    settings = load_settings()
    if not once:
        typer.echo(
            f"shopagent worker: delivering webhooks and cart reminders, polling every {settings.worker_poll_s:g}s"
            " (Ctrl-C stops)"
        )
    counts = run_worker(settings, once=once)
    if once:
        typer.echo(json.dumps(counts))


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
