"""The parser's phrases, English and Japanese: errors, the help title, names of arguments."""

from __future__ import annotations

from bot.i18n import Catalog, phrase
from bot.models import Language

MESSAGES: Catalog = {
    "usage_label": {"en": "Usage", "ja": "使い方"},
    "help_title": {"en": "ShiftBrief commands", "ja": "ShiftBrief のコマンド"},
    "unknown_command": {
        "en": "There is no command “{word}”.",
        "ja": "「{word}」というコマンドはありません。",
    },
    "did_you_mean": {"en": " Did you mean “{suggestion}”?", "ja": "「{suggestion}」のことですか?"},
    "did_you_mean_any": {
        "en": " Did you mean {suggestions}?",
        "ja": "候補: {suggestions}",
    },
    "missing_subcommand": {
        "en": "Say which one: {choices}.",
        "ja": "次のどれかを指定してください: {choices}",
    },
    "missing": {"en": "Missing {what}.", "ja": "{what}を指定してください。"},
    "extra_words": {
        "en": "Unexpected extra words: {words}.",
        "ja": "余分な語句があります: {words}",
    },
    "unbalanced_quotes": {
        "en": "A quotation mark is not closed. Close it, or leave the quotes out.",
        "ja": "引用符が閉じていません。閉じるか、引用符を外してください。",
    },
    "unknown_sector": {
        "en": "There is no sector “{value}”. Sectors: {valid}.",
        "ja": "「{value}」というセクターはありません。セクター: {valid}。",
    },
    "valid_sectors": {"en": " Sectors: {valid}.", "ja": "セクター: {valid}。"},
    "no_sectors": {"en": "(none yet)", "ja": "(まだありません)"},
    "bad_time": {
        "en": "“{value}” is not a time. Use 24-hour HH:MM such as 08:30 (7:30pm also works).",
        "ja": (
            "「{value}」は時刻として読めません。"
            "08:30 のように 24 時間制の 時:分 で指定してください。"
        ),
    },
    "bad_zone": {
        "en": "“{value}” is not a time zone. Use Area/City such as Asia/Tokyo or Europe/London.",
        "ja": (
            "「{value}」はタイムゾーンとして読めません。"
            "Asia/Tokyo のように 地域/都市 で指定してください。"
        ),
    },
    "bad_days": {
        "en": (
            "“{value}” is not a set of days. Try mon-fri, weekdays, daily, sat,sun or mon,wed,fri."
        ),
        "ja": (
            "「{value}」は曜日として読めません。"
            "mon-fri、weekdays、daily、sat,sun、月-金 などで指定してください。"
        ),
    },
    "bad_date": {
        "en": "“{value}” is not a date. Use YYYY-MM-DD, today or yesterday.",
        "ja": (
            "「{value}」は日付として読めません。"
            "YYYY-MM-DD、today、yesterday のどれかで指定してください。"
        ),
    },
    "bad_url": {
        "en": "“{value}” is not a web address. Give a full http:// or https:// URL.",
        "ja": (
            "「{value}」は URL として読めません。"
            "http:// か https:// で始まる URL を指定してください。"
        ),
    },
    "bad_url_scheme": {
        "en": "“{value}” is not a web address. Did you mean https://{value}?",
        "ja": "「{value}」は URL として読めません。https://{value} のことですか?",
    },
    "bad_id": {
        "en": "“{value}” is not an id. Use the number shown by the list command.",
        "ja": "「{value}」は ID として読めません。一覧コマンドで表示される番号を指定してください。",
    },
    "bad_channel": {
        "en": "“{value}” is not a channel. Mention it with #, such as #general.",
        "ja": (
            "「{value}」はチャンネルとして読めません。"
            "#general のように # を付けて指定してください。"
        ),
    },
    "bad_lang": {
        "en": "“{value}” is not a language I speak. Use en or ja.",
        "ja": "「{value}」には対応していません。en か ja を指定してください。",
    },
    "bad_length": {
        "en": "“{value}” is not a length. Use short or full.",
        "ja": "「{value}」は長さとして指定できません。short か full を指定してください。",
    },
    "unknown_setting": {
        "en": "There is no setting “{value}”. Settings: time, tz, days, lang, length.",
        "ja": "「{value}」という設定はありません。設定: time、tz、days、lang、length",
    },
    "repeated_setting": {
        "en": "“{value}” is given twice.",
        "ja": "「{value}」が 2 回指定されています。",
    },
    "bad_sector_key": {
        "en": "“{value}” cannot be a sector key. Use up to 32 lowercase letters, digits, - or _.",
        "ja": (
            "「{value}」はセクターのキーに使えません。"
            "小文字英数字と - _ で 32 文字以内にしてください。"
        ),
    },
    "sector_exists": {
        "en": "The sector “{value}” already exists.",
        "ja": "セクター「{value}」はすでにあります。",
    },
    "too_long": {
        "en": "That {what} is too long (at most {limit} characters).",
        "ja": "{what}が長すぎます({limit} 文字まで)。",
    },
    "unknown_help_topic": {
        "en": "There is no help on “{value}”.",
        "ja": "「{value}」のヘルプはありません。",
    },
    # Names of arguments, for "missing ..." and "too long".
    "arg_command": {"en": "command", "ja": "コマンド"},
    "arg_sector": {"en": "a sector", "ja": "セクター"},
    "arg_words": {"en": "the words to search for", "ja": "検索する語句"},
    "arg_keyword": {"en": "a keyword", "ja": "キーワード"},
    "arg_url": {"en": "a URL", "ja": "URL"},
    "arg_id": {"en": "an id", "ja": "ID"},
    "arg_channel": {"en": "a #channel", "ja": "#チャンネル"},
    "arg_time": {"en": "a time (HH:MM)", "ja": "時刻(時:分)"},
    "arg_tz": {"en": "a time zone (Area/City)", "ja": "タイムゾーン(地域/都市)"},
    "arg_value": {"en": "a value for “{setting}”", "ja": "「{setting}」の値"},
    "arg_key": {"en": "a sector key", "ja": "セクターのキー"},
    "arg_name_en": {"en": "the English name", "ja": "英語名"},
    "arg_name_ja": {"en": "the Japanese name", "ja": "日本語名"},
    "arg_target": {"en": "a sector or keyword", "ja": "セクターかキーワード"},
    "arg_title": {"en": "a title", "ja": "タイトル"},
    "arg_query": {"en": "search", "ja": "検索語句"},
}


_ECHO_CHARS = 60
_ECHOED = ("value", "word", "words")


def say(key: str, language: Language, /, **values: str) -> str:
    """A catalog phrase; the user's own text is shortened so a reply stays readable."""
    for name in _ECHOED:
        if name in values and len(values[name]) > _ECHO_CHARS:
            values[name] = values[name][: _ECHO_CHARS - 1] + "…"
    return phrase(MESSAGES, key, language, **values)
