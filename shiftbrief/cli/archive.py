"""``shiftbrief embed``: vectors for every stored item, now, so the archive can be asked."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.app import AppContext, open_app
from bot.briefing import embed as embedding
from bot.briefing.embed_worker import embed_everything
from bot.briefing.sector_vectors import SectorVectors, vector_classifier
from shiftbrief.cli.base import UserError, app, out, run_async, settings
from storage.repositories import embeddings as embedding_repo


async def embed_archive(ctx: AppContext, *, quiet: bool = False) -> int:
    """Embed every item not embedded yet, with a progress bar on a terminal; returns the count.

    Raises:
        UserError: The embedding model is not installed here.
    """
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
    columns = (
        TextColumn("Embedding items"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out, transient=True) as progress:
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
    async with open_app(settings()) as ctx:
        done = await embed_archive(ctx)
    out.print(f"Embedded {done} items with {embedding.model_name()}.")
