"""``shiftbrief embed`` and ``ask``: vectors for every stored item, and questions to the archive."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from bot.app import AppContext, open_app
from shiftbrief.cli.base import UserError, app, out, run_async, settings, shown

if TYPE_CHECKING:
    from bot.models import Language

# Each command imports what it runs in its body (see shiftbrief/cli/__init__.py): the model
# client and numpy load only for embed and ask.


async def embed_archive(ctx: AppContext, *, quiet: bool = False) -> int:
    """Embed every item not embedded yet, with a progress bar on a terminal; returns the count.

    Raises:
        UserError: The embedding model is not installed here.
    """
    from bot.briefing import embed as embedding
    from bot.briefing.embed_worker import embed_everything
    from bot.briefing.sector_vectors import SectorVectors, vector_classifier
    from storage.repositories import embeddings as embedding_repo

    if not embedding.available():
        raise UserError(
            f"the embedding model ({embedding.DEFAULT_MODEL.package}) is not installed on this "
            "machine; stories are grouped lexically and ask uses full-text search only"
        )
    async with ctx.sessionmaker() as session:
        total = await embedding_repo.count_pending(session, model=embedding.model_name())
    vectors = SectorVectors()  # as the bot does: sectors for items the keyword rules missed
    after = vectors.after_embed(vector_classifier(vectors), clock=ctx.clock)
    if quiet or not out.is_terminal or not total:
        return await embed_everything(ctx.sessionmaker, ctx.clock, after_embed=after)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("Embedding items"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out.console, transient=True) as progress:
        task = progress.add_task("embed", total=total)
        return await embed_everything(
            ctx.sessionmaker,
            ctx.clock,
            after_embed=after,
            on_batch=lambda n: progress.advance(task, n),
        )


@app.command("embed")
@run_async
async def embed() -> None:
    """Embed every stored item that has no vector yet (what the bot does in the background)."""
    from bot.briefing import embed as embedding

    async with open_app(settings()) as ctx:
        done = await embed_archive(ctx)
    out.print(f"Embedded {done} items with {embedding.model_name()}.")


@app.command("ask")
@run_async
async def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Japanese.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"answer", "sources": [...]}.')
    ] = False,
) -> None:
    """Answer a question from the archive (the best stories, or a model's cited answer)."""
    from bot.ask.answer import make_answer_writer
    from bot.ask.retrieve import question_language
    from bot.ask.service import Asker

    config = settings()
    if not question.strip():
        raise UserError('ask needs a question, e.g. shiftbrief ask "Who makes sodium-ion cells?"')
    language: Language = "ja" if question_language(question) == "ja" else "en"
    async with open_app(config) as ctx, ctx.sessionmaker() as session:
        writer = make_answer_writer(config)
        try:
            answer = await Asker(writer=writer).ask(session, question, language=language)
        finally:
            if writer is not None:
                await writer.aclose()
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    from rich.text import Text

    if not answer.found:
        out.print(Text("Nothing in the archive is about "), shown(question), Text("."), sep="")
        return
    for sentence in answer.sentences:
        out.print(shown(sentence))
    out.print()
    for source in answer.sources:
        when = source.published.strftime("%Y-%m-%d")
        out.print(
            Text(f"[{source.story}] "),
            shown(source.title),
            Text(f" ({source.outlet}, {when})"),
            sep="",
        )
        if source.link:
            out.print(Text("    "), shown(source.link), sep="")
