"""``/brief ask`` (a question answered from the team's archive, for the asker only) and
``/brief why`` (why a story is in the reader's briefing)."""

from __future__ import annotations

from bot.ask.answer import Answer
from bot.commands import params as P
from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply
from bot.commands.model import Ask, WhyStory
from bot.commands.values import MAX_QUERY_CHARS
from bot.i18n import Catalog, catalog
from bot.models import SourceRef, StoryEntry
from bot.stories.news import update_note
from bot.stories.why import explain
from bot.untrusted import quote

MESSAGES: Catalog = catalog("handlers.ask")


def answer_reply(ctx: Context, answer: Answer) -> Reply:
    """The answer as a reply: our framing, the quoted sentences, then the numbered sources."""
    if not answer.found:
        return Reply(text=ctx.say(MESSAGES, "nothing", question=answer.question))
    key = "answer_machine" if answer.machine_written else "answer_extractive"
    heading = ctx.say(MESSAGES, key, question=answer.question)
    body = "\n".join(quote(sentence) for sentence in answer.sentences)
    results = tuple(
        StoryEntry(
            story_key=f"story:{s.story}",
            title=f"[{s.story}] {s.title}",
            summary="",
            link=s.link,
            sources=(SourceRef(name=s.outlet, url=s.link),),
            sectors=(),
            published_at=s.published,
        )
        for s in answer.sources
    )
    return Reply(text=f"{heading}\n{body}\n{ctx.say(MESSAGES, 'sources')}", results=results)


@command(
    "ask",
    Ask,
    usage=("<question>", "<質問>"),
    help=(
        "ask the archive a question (answered from its stories, only to you)",
        "アーカイブに質問(記事をもとに、あなたにだけ回答)",
    ),
    params=(
        P.query(
            "question",
            "Your question, in English or Japanese",
            "質問（日本語または英語）",
            limit=MAX_QUERY_CHARS,
            option="question",
        ),
    ),
)
async def ask(ctx: Context, command: Ask) -> Reply:
    asker = ctx.services.asker
    assert asker is not None  # the dispatcher always gives one
    answer = await asker.ask(
        ctx.session, command.question, language=ctx.language, scope=ctx.tenant.id
    )
    return answer_reply(ctx, answer)


@command(
    "why",
    WhyStory,
    usage=("<story>", "<記事>"),
    help=(
        "why a story is in your briefing (words of its title)",
        "その記事が要約に入った理由(見出しの語句で指定)",
    ),
    params=(
        P.query(
            "story",
            "Words of the story's title",
            "記事の見出しの語句",
            limit=MAX_QUERY_CHARS,
            option="story",
        ),
    ),
)
async def why(ctx: Context, command: WhyStory) -> Reply:
    found = await explain(ctx.session, ctx.user, command.story, now=ctx.now)
    if found is None:
        return Reply(text=ctx.say(MESSAGES, "why_unknown", story=command.story))
    names = {s.key: s.name(ctx.language) for s in ctx.sectors}
    lines = [ctx.say(MESSAGES, "why_title", title=quote(found.story.lead.title))]
    for key, score, matched in found.sectors:
        how = (
            ctx.say(MESSAGES, "why_by_words", words=quote(", ".join(matched)))
            if matched
            else ctx.say(MESSAGES, "why_by_meaning")
        )
        lines.append(
            ctx.say(
                MESSAGES, "why_sector", sector=names.get(key, key), score=f"{score:.2f}", how=how
            )
        )
    lines.append(
        ctx.say(
            MESSAGES,
            "why_sources",
            n=len(found.outlets),
            outlets=quote(", ".join(found.outlets)),
            languages=", ".join(found.languages),
        )
    )
    lines.append(ctx.say(MESSAGES, "why_rank", hours=found.hours_old, n=len(found.outlets)))
    if found.followed:
        lines.append(ctx.say(MESSAGES, "why_followed", keywords=quote(", ".join(found.followed))))
    if found.news is not None:
        lines.append(quote(update_note(found.news, ctx.language)))
    else:
        lines.append(ctx.say(MESSAGES, "why_first"))
    return Reply(text="\n".join(lines))
