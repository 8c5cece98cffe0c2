"""A model that answers from fixture files: the LLM editor's real requests and written answers.

``tests/data/editor_answers/`` keeps, for real corpus days (``tests/corpus_days.py``), every
request the LLM editor makes (``requests/``), the answers a careful model would give
(``answers/``, written by hand), and answers with one invented number each (``invented.json``,
each a replacement in one honest answer). ``FixtureModel`` is a behaviour for
``tests/openai_api.py``'s loopback server: it finds the recorded request a new request is the
same as (same kind, language and sources; story ids of an edition call may be numbered
differently) and returns that request's answer, its ids renumbered; a request with no recorded
answer gets a 404, which the editor treats as a refused call.

Run as a program (see the folder's README.md)::

    python -m tests.fixture_model record                 # re-record requests/ from the corpus
    python -m tests.fixture_model brief 2026-03-24 ja    # the briefing a reader would get
    python -m tests.fixture_model serve --port 8089      # the stand-in for a running bot
    python -m tests.fixture_model ask --base-url URL --model M --out DIR   # a real model
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from bot.briefing.compose import BriefingContext
from bot.briefing.editor.base import EditionText
from bot.briefing.editor.cache import Key
from bot.briefing.editor.llm import LLMEditor
from bot.briefing.render_text import render_text
from bot.metrics import Metrics
from bot.models import Article, Briefing, Language, Profile
from tests.corpus_days import DAYS, SECTORS, corpus_day, edition_time
from tests.openai_api import OpenAIAPI, Reply, Request

FOLDER = Path(__file__).resolve().parent / "data" / "editor_answers"
LANGUAGES: tuple[Language, ...] = ("en", "ja")
_LANGUAGE_OF = {"English": "en", "Japanese": "ja"}


class MemoryCache:
    """A ``TextCache`` in memory: each run starts with nothing written."""

    def __init__(self) -> None:
        self.texts: dict[Key, dict[str, object]] = {}

    async def get_many(self, keys: Iterable[Key]) -> dict[Key, dict[str, object]]:
        return {k: self.texts[k] for k in keys if k in self.texts}

    async def put_many(self, texts: Mapping[Key, tuple[str, dict[str, object]]]) -> None:
        self.texts.update({k: payload for k, (_, payload) in texts.items()})


# ---- matching a request to a recorded one ------------------------------------------------------


def _story_titles(story: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(" ".join(s["title"].split()) for s in story["sources"]))


def request_key(kind: str, language: str, data: Mapping[str, Any]) -> tuple[object, ...]:
    """What makes two requests the same question: kind, language, the sources' titles and, for
    the edition, the sector each story is listed under."""
    if kind == "story":
        return (kind, language, _story_titles(data))
    placed = frozenset(
        (sector["sector"], _story_titles(story))
        for sector in data["sectors"]
        for story in sector["stories"]
    )
    return (kind, language, data["edition_date"], placed)


def _ids_by_titles(data: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    return {_story_titles(st): st["id"] for sector in data["sectors"] for st in sector["stories"]}


def renumber(answer: dict[str, Any], recorded: Mapping[str, Any], asked: Mapping[str, Any]) -> Any:
    """An edition answer to ``recorded`` with its story ids as ``asked`` numbers them."""
    old = {v: k for k, v in _ids_by_titles(recorded).items()}
    new = _ids_by_titles(asked)
    ids = {i: new[titles] for i, titles in old.items()}
    answer = json.loads(json.dumps(answer))
    for synergy in answer.get("synergies", []):
        synergy["story_ids"] = [ids.get(i, i) for i in synergy["story_ids"]]
    for item in answer.get("watch", []):
        item["story_id"] = ids.get(item["story_id"], item["story_id"])
    return answer


# ---- the fixture files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One recorded request (``requests/<name>.json``) and its honest answer, if written."""

    name: str
    """``<day>/<lang>-<nn>-<kind>``, e.g. ``2026-03-24/ja-03-story``."""
    kind: str
    language: str
    """"English" or "Japanese", as the system prompt asks."""
    body: dict[str, Any]
    """The chat-completions request as sent (messages, response_format)."""
    answer: dict[str, Any] | None

    @property
    def data(self) -> dict[str, Any]:
        user = json.loads(self.body["messages"][1]["content"])
        return dict(user["data"])

    @property
    def day(self) -> str:
        return self.name.split("/")[0]

    @property
    def lang(self) -> Language:
        return "ja" if self.language == "Japanese" else "en"


def load(folder: Path = FOLDER, answers: Path | None = None) -> list[Recorded]:
    """Every recorded request with its answer from ``answers`` (by default the honest ones;
    None where none is written yet)."""
    found = []
    answers = answers or folder / "answers"
    for path in sorted((folder / "requests").glob("*/*.json")):
        name = f"{path.parent.name}/{path.stem}"
        record = json.loads(path.read_text(encoding="utf-8"))
        answer_path = answers / f"{name}.json"
        answer = (
            json.loads(answer_path.read_text(encoding="utf-8")) if answer_path.exists() else None
        )
        found.append(Recorded(name, record["kind"], record["language"], record["body"], answer))
    return found


@dataclass(frozen=True)
class Invented:
    """An honest answer with one invented number: ``old`` replaced by ``new`` in ``piece``."""

    name: str
    """The honest answer it is derived from."""
    piece: str
    """Where: "headline", "summary", "why", "theme", "opening", "sectors.<key>",
    "synergies.<n>" or "watch.<n>"."""
    old: str
    new: str
    form: str
    """How the number is invented: digits, english-words, kanji, scale, date, ..."""

    def apply(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """``answer`` with the invention in place (raises if ``old`` is not in the piece)."""
        changed: dict[str, Any] = json.loads(json.dumps(answer))
        field_name, _, index = self.piece.partition(".")
        holder: dict[str, Any]
        text_key = field_name
        if field_name == "sectors":
            holder = next(s for s in changed["sectors"] if s["sector"] == index)
            text_key = "paragraph"
        elif field_name in ("synergies", "watch"):
            holder = changed[field_name][int(index)]
            text_key = "why" if field_name == "synergies" else "sentence"
        else:
            holder = changed
        text = holder[text_key]
        if self.old not in text:
            raise ValueError(f"{self.name} {self.piece}: {self.old!r} is not in {text!r}")
        holder[text_key] = text.replace(self.old, self.new, 1)
        return changed

    def text(self, answer: Mapping[str, Any]) -> str:
        """The piece as invented."""
        changed = self.apply(answer)
        field_name, _, index = self.piece.partition(".")
        if field_name == "sectors":
            return str(next(s for s in changed["sectors"] if s["sector"] == index)["paragraph"])
        if field_name == "synergies":
            return str(changed["synergies"][int(index)]["why"])
        if field_name == "watch":
            return str(changed["watch"][int(index)]["sentence"])
        return str(changed[field_name])


def load_invented(folder: Path = FOLDER) -> list[Invented]:
    """The answers with one invented number each (``invented.json``)."""
    path = folder / "invented.json"
    if not path.exists():
        return []
    return [Invented(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


# ---- serving -----------------------------------------------------------------------------------


@dataclass
class FixtureModel:
    """An ``OpenAIAPI`` behaviour answering each request with its recorded answer.

    Args:
        recorded: The recorded requests and honest answers.
        replace: Answers to give instead, by recorded name (an invented one, say).
    """

    recorded: list[Recorded]
    replace: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmatched: list[Request] = field(default_factory=list)
    """Requests no recorded answer fits (answered 404)."""
    served: list[str] = field(default_factory=list)
    """Names of the recorded requests answered, in order."""

    def __post_init__(self) -> None:
        self._by_key = {request_key(r.kind, r.language, r.data): r for r in self.recorded}

    def __call__(self, request: Request, number: int) -> Reply:
        found = self._by_key.get(request_key(request.kind, request.language, request.data))
        answer = None
        if found is not None:
            answer = self.replace.get(found.name, found.answer)
        if found is None or answer is None:
            self.unmatched.append(request)
            return Reply(status=404)
        self.served.append(found.name)
        if request.kind == "edition":
            answer = renumber(answer, found.data, request.data)
        return Reply(content=json.dumps(answer, ensure_ascii=False))


async def edition_with(
    corpus: Path,
    day: str,
    model: FixtureModel | None = None,
    *,
    languages: Iterable[Language] = LANGUAGES,
    metrics: Metrics | None = None,
    api: OpenAIAPI | None = None,
) -> tuple[BriefingContext, OpenAIAPI]:
    """The edition of ``day`` written by the LLM editor against the loopback stand-in.

    With no ``model`` the stand-in gives its default answers (enough to record requests).
    Calls go one at a time, so requests arrive in a stable order.
    """
    context = day_context(corpus, day)
    own = api is None
    server = api or OpenAIAPI(behaviour=model)
    if own:
        await server.__aenter__()
    try:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="fixture", max_retries=0)
        editor = LLMEditor(
            client=client,
            model="fixture",
            cache=MemoryCache(),
            metrics=metrics,
            concurrency=1,
            retries=0,
        )
        await context.edit(editor, list(languages))
        await client.close()
    finally:
        if own:
            await server.__aexit__(None, None, None)
    return context, server


@functools.cache
def _day_articles(corpus: Path, day: str) -> tuple[Article, ...]:
    return tuple(corpus_day(corpus, day))


def day_context(corpus: Path, day: str) -> BriefingContext:
    """A fresh, unwritten edition of ``day`` (the corpus is parsed once per day and process)."""
    return BriefingContext.prepare(list(_day_articles(corpus, day)), SECTORS, (), edition_time(day))


async def write_with(
    api: OpenAIAPI, context: BriefingContext, language: Language, metrics: Metrics | None = None
) -> EditionText:
    """What the LLM editor writes for ``context`` in ``language`` against ``api``."""
    client = openai.AsyncOpenAI(base_url=api.base_url, api_key="fixture", max_retries=0)
    editor = LLMEditor(
        client=client, model="fixture", cache=MemoryCache(), metrics=metrics, concurrency=1
    )
    written = await editor.write(context.edition, [language])
    await client.close()
    return written[language]


def pieces(recorded: Recorded, answer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The pieces the editor checks one by one: (piece, text a reader would see).

    A story is one piece (its headline, summary and why are checked together); an edition's
    theme and opening are one, and each sector paragraph, synergy and watch item is one.
    """
    if recorded.kind == "story":
        return [("story", str(answer["headline"]))]
    found = [("theme", str(answer["theme"]))] if answer["theme"] else []
    found += [(f"sectors.{s['sector']}", str(s["paragraph"])) for s in answer["sectors"]]
    found += [(f"synergies.{n}", str(s["why"])) for n, s in enumerate(answer["synergies"])]
    found += [(f"watch.{n}", str(w["sentence"])) for n, w in enumerate(answer["watch"])]
    return found


def piece_of(invented: Invented) -> str:
    """The editor's piece an invented number lands in."""
    name, _, index = invented.piece.partition(".")
    if name in ("headline", "summary", "why"):
        return "story"
    if name in ("theme", "opening"):
        return "theme"
    return f"{name}.{index}"


def written_pieces(text: EditionText) -> set[str]:
    """Every machine-written text of ``text`` (headlines, theme, paragraphs, synergies, watch)."""
    found = {s.headline for s in text.stories.values() if s.machine_written}
    found |= {text.theme} if text.theme else set()
    found |= set(text.sector_notes.values())
    found |= {s.why for s in text.synergies or () if s.machine_written}
    found |= {w.sentence for w in text.watch or () if w.machine_written}
    return found


def compose(context: BriefingContext, language: Language) -> Briefing:
    """The full briefing of every sector in ``language``."""
    return context.compose(Profile(sectors=tuple(SECTORS), language=language, length="full"))


# ---- the command line --------------------------------------------------------------------------


def _request_files(api: OpenAIAPI, day: str) -> Iterator[tuple[str, dict[str, Any]]]:
    counts: dict[str, int] = {}
    for request in api.requests:
        lang = _LANGUAGE_OF[request.language]
        counts[lang] = counts.get(lang, 0) + 1
        name = f"{day}/{lang}-{counts[lang]:02d}-{request.kind}"
        yield (
            name,
            {"kind": request.kind, "language": request.language, "body": request.body},
        )


async def record(corpus: Path, days: Iterable[str], folder: Path = FOLDER) -> None:
    """Write every request the editor makes for ``days`` to ``folder/requests/``."""
    old = {request_key(r.kind, r.language, r.data): r.name for r in load(folder)}
    for day in days:
        _, api = await edition_with(corpus, day)
        target = folder / "requests" / day
        for stale in target.glob("*.json"):
            stale.unlink()
        target.mkdir(parents=True, exist_ok=True)
        for name, content in _request_files(api, day):
            text = json.dumps(content, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
            (folder / "requests" / f"{name}.json").write_text(text, encoding="utf-8")
            user = json.loads(content["body"]["messages"][1]["content"])
            was = old.get(request_key(content["kind"], content["language"], user["data"]))
            note = "new" if was is None else ("same" if was == name else f"was {was}")
            print(f"{name}: {note}")


async def serve(port: int, invented: str | None, answers: Path | None) -> None:
    """Serve the fixture answers on 127.0.0.1:``port`` until interrupted."""
    recorded = load(answers=answers)
    replace = {}
    if invented:
        by_name = {r.name: r for r in recorded}
        for entry in load_invented():
            if f"{entry.name}:{entry.piece}" == invented or entry.name == invented:
                answer = by_name[entry.name].answer
                assert answer is not None
                replace[entry.name] = entry.apply(answer)
    model = FixtureModel(recorded, replace)
    async with OpenAIAPI(behaviour=model, port=port) as api:
        print(f"serving {len(recorded)} recorded answers at {api.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            for request in model.unmatched:
                print(f"no recorded answer: {request.kind} {request.language}", file=sys.stderr)


async def ask(base_url: str, model: str, api_key: str, out: Path) -> None:
    """Send every recorded request to a real OpenAI-compatible endpoint; keep its answers in
    ``out`` (one file per request, named like ``answers/``) to review or serve them."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=2)
    for recorded in load():
        body = {k: v for k, v in recorded.body.items() if k != "model"}
        response = await client.chat.completions.create(model=model, **body)
        content = response.choices[0].message.content or "{}"
        target = out / f"{recorded.name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = json.dumps(json.loads(content), ensure_ascii=False, indent=1)
        except json.JSONDecodeError:
            text = content  # kept as the model wrote it: the editor will refuse it too
        target.write_text(text + "\n", encoding="utf-8")
        print(f"{recorded.name}: {len(content)} characters")
    await client.close()


async def brief(corpus: Path, day: str, language: Language, answers: Path | None) -> str:
    """The plain-text briefing of ``day`` in ``language`` with the answers (honest ones by
    default), after the editor's checks."""
    model = FixtureModel(load(answers=answers))
    context, _ = await edition_with(corpus, day, model, languages=[language])
    for request in model.unmatched:
        print(f"no recorded answer: {request.kind} {request.language}", file=sys.stderr)
    return render_text(compose(context, language))


def main(argv: list[str] | None = None) -> None:
    from tests.conftest import CORPUS

    parser = argparse.ArgumentParser(prog="python -m tests.fixture_model")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="re-record the editor's requests")
    rec.add_argument("days", nargs="*", default=list(DAYS))
    srv = commands.add_parser("serve", help="serve the answers to a running bot")
    srv.add_argument("--port", type=int, default=8089)
    srv.add_argument("--invented", help="serve one invented answer: NAME or NAME:PIECE")
    srv.add_argument("--answers", type=Path, help="a folder of answers instead of answers/")
    out = commands.add_parser("brief", help="print a day's briefing with the answers")
    out.add_argument("day", choices=DAYS)
    out.add_argument("language", choices=LANGUAGES)
    out.add_argument("--answers", type=Path, help="a folder of answers instead of answers/")
    real = commands.add_parser("ask", help="ask a real model the recorded requests")
    real.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:11434/v1")
    real.add_argument("--model", required=True)
    real.add_argument("--api-key", default="not-needed")
    real.add_argument("--out", type=Path, required=True, help="folder for its answers")
    args = parser.parse_args(argv)
    if args.command == "record":
        asyncio.run(record(args.corpus, args.days))
    elif args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.port, args.invented, args.answers))
    elif args.command == "ask":
        asyncio.run(ask(args.base_url, args.model, args.api_key, args.out))
    else:
        print(asyncio.run(brief(args.corpus, args.day, args.language, args.answers)))


if __name__ == "__main__":
    main()
