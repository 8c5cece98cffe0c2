"""``/brief ask`` and ``shiftbrief ask``: one question, retrieval, then the answer."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ask.answer import Answer, AnswerWriter, extractive_answer, grounded_answer
from bot.ask.retrieve import Retriever
from bot.models import Language
from storage.scope import EVERY, Scope

log = logging.getLogger(__name__)


class Asker:
    """Answers questions from the archive; one per process (it holds the vector index).

    Args:
        retriever: Finds the stories (default: the packaged model plus full-text search).
        writer: Writes the answer from them (None: their key sentences, no model).
    """

    def __init__(
        self, *, retriever: Retriever | None = None, writer: AnswerWriter | None = None
    ) -> None:
        self.retriever = retriever or Retriever()
        self._writer = writer

    async def warm(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Load the model and every stored vector ahead of the first question (at start)."""
        try:
            async with sessionmaker() as session:
                await self.retriever.warm(session)
        except Exception:  # a cold first question is slower, never wrong
            log.exception("could not warm the ask index")

    async def ask(
        self, session: AsyncSession, question: str, *, language: Language, scope: Scope = EVERY
    ) -> Answer:
        """The answer to ``question`` from what ``scope`` sees; no sources when nothing in
        the archive is about it."""
        found = await self.retriever.retrieve(session, question, scope=scope)
        relevant = found.relevant
        if not relevant:
            return Answer(question=question, sentences=(), sources=())
        if self._writer is not None:
            written = await self._writer.write(question, language, relevant)
            if written:
                answer = grounded_answer(question, relevant, written)
                if answer is not None:
                    return answer
        return extractive_answer(question, relevant)
