"""The /brief grammar: what users type, what the engine receives, and what users are told."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import typing

import pytest

from bot.commands import grammar as commands
from bot.commands.grammar import (
    AdminDeliveries,
    AdminFeedsAdd,
    AdminFeedsHealth,
    AdminFeedsList,
    AdminFeedsRemove,
    AdminReadingAdd,
    AdminScheduleList,
    AdminScheduleRemove,
    AdminScheduleSendNow,
    AdminScheduleSet,
    AdminSectorsAdd,
    AdminSectorsList,
    ChannelRef,
    Command,
    CommandError,
    CommandRequest,
    CommandText,
    Help,
    Invocation,
    KeywordChange,
    Overview,
    Search,
    SectorSummary,
    Settings,
    Subscribe,
    Today,
    Unsubscribe,
    help_text,
    language_from_locale,
    parse_command,
    parse_request,
    resolve_day,
    usage,
    zone_choices,
)
from bot.models import Language, SectorDef

SECTORS = ("ai", "cloud", "security", "semis", "devtools")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def parse(text: str, language: Language = "en") -> Command:
    return parse_command(text, known_sectors=SECTORS, language=language)


def error(text: str, language: Language = "en") -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse(text, language)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Overview()),
        ("   ", Overview()),
        ("/brief", Overview()),
        ("help", Help(None)),
        ("help sector", Help("sector")),
        ("help admin feeds", Help("admin feeds")),
        ("HELP /brief Today", Help("today")),
        ("today", Today()),
        ("Today", Today()),
        ("/brief today", Today()),
        ("sector ai", SectorSummary("ai", "today")),
        ("sector AI yesterday", SectorSummary("ai", "yesterday")),
        ("sector cloud 2024-05-01", SectorSummary("cloud", dt.date(2024, 5, 1))),
        ("sector cloud 2024/5/1", SectorSummary("cloud", dt.date(2024, 5, 1))),
        ("sector ai 昨日", SectorSummary("ai", "yesterday")),
        ("search rust async runtime", Search("rust async runtime")),
        ('search "large language model"  pricing', Search('"large language model" pricing')),
        ("subscribe ai", Subscribe(("ai",))),
        ("subscribe ai cloud Security", Subscribe(("ai", "cloud", "security"))),
        ("subscribe ai, cloud,semis ai", Subscribe(("ai", "cloud", "semis"))),
        ("unsubscribe semis", Unsubscribe(("semis",))),
        ("unsubscribe all", Unsubscribe((), all=True)),
        ("unsubscribe ALL", Unsubscribe((), all=True)),
        ("follow openai", KeywordChange("follow", "openai")),
        ("unfollow OpenAI", KeywordChange("unfollow", "OpenAI")),
        ('mute "crypto airdrop"', KeywordChange("mute", "crypto airdrop")),
        ("unmute large language models", KeywordChange("unmute", "large language models")),
        ("follow 生成AI", KeywordChange("follow", "生成AI")),
        ("follow ＡＩ規制", KeywordChange("follow", "AI規制")),
        ("mute O'Reilly", KeywordChange("mute", "O'Reilly")),
        ("follow C#", KeywordChange("follow", "C#")),
        ("follow 'rust lang'", KeywordChange("follow", "rust lang")),
        ("settings", Settings()),
        (
            "settings time 08:30 tz Asia/Tokyo days mon-fri lang ja length short",
            Settings(dt.time(8, 30), "Asia/Tokyo", WEEKDAYS, "ja", "short"),
        ),
        ("settings length full lang en", Settings(lang="en", length="full")),
        ("settings time 7:05", Settings(time=dt.time(7, 5))),
        ("settings time 8am", Settings(time=dt.time(8, 0))),
        ("settings time 7:30pm", Settings(time=dt.time(19, 30))),
        ("settings time 12am", Settings(time=dt.time(0, 0))),
        ("settings time 12pm", Settings(time=dt.time(12, 0))),
        ("settings time 8時半", Settings(time=dt.time(8, 30))),
        ("settings time 午後7時", Settings(time=dt.time(19, 0))),
        ("settings time ０８：１５", Settings(time=dt.time(8, 15))),
        ("settings time=06:00 tz=utc", Settings(time=dt.time(6, 0), tz="UTC")),
        ("settings tz asia/tokyo", Settings(tz="Asia/Tokyo")),
        ("settings tz tokyo", Settings(tz="Asia/Tokyo")),
        ("settings tz America/New_York", Settings(tz="America/New_York")),
        ("settings days weekdays", Settings(days=WEEKDAYS)),
        ("settings days daily", Settings(days=(*WEEKDAYS, "sat", "sun"))),
        ("settings days sat,sun", Settings(days=("sat", "sun"))),
        ("settings days mon,wed,fri", Settings(days=("mon", "wed", "fri"))),
        ("settings days mon, wed, fri", Settings(days=("mon", "wed", "fri"))),
        ("settings days fri-mon", Settings(days=("mon", "fri", "sat", "sun"))),
        ("settings days Monday-Wednesday", Settings(days=("mon", "tue", "wed"))),
        ("settings days 月-金", Settings(days=WEEKDAYS)),
        ("settings days 平日", Settings(days=WEEKDAYS)),
        ("settings days 土日", Settings(days=("sat", "sun"))),
        ("settings lang 日本語", Settings(lang="ja")),
        (
            "admin feeds add https://example.com/feed.xml",
            AdminFeedsAdd("https://example.com/feed.xml"),
        ),
        (
            "admin feeds add http://example.com/rss AI",
            AdminFeedsAdd("http://example.com/rss", "ai"),
        ),
        ("admin feeds remove 12", AdminFeedsRemove(12)),
        ("admin feeds list", AdminFeedsList()),
        ("admin feeds health", AdminFeedsHealth()),
        ("Admin Feeds List", AdminFeedsList()),
        (
            "admin schedule set #general 08:00 Asia/Tokyo",
            AdminScheduleSet(ChannelRef(name="general"), dt.time(8), "Asia/Tokyo"),
        ),
        (
            "admin schedule set #news 7:30 Europe/London weekdays ai cloud",
            AdminScheduleSet(
                ChannelRef(name="news"), dt.time(7, 30), "Europe/London", WEEKDAYS, ("ai", "cloud")
            ),
        ),
        (
            "admin schedule set #news 9am UTC semis",
            AdminScheduleSet(ChannelRef(name="news"), dt.time(9), "UTC", None, ("semis",)),
        ),
        ("admin schedule list", AdminScheduleList()),
        ("admin schedule remove 3", AdminScheduleRemove(3)),
        ("admin schedule send-now #general", AdminScheduleSendNow(ChannelRef(name="general"))),
        ("admin sectors list", AdminSectorsList()),
        (
            "admin sectors add robotics Robotics ロボット robot, 'humanoid robot' ロボティクス",
            AdminSectorsAdd(
                "robotics", "Robotics", "ロボット", ("robot", "humanoid robot", "ロボティクス")
            ),
        ),
        (
            'admin sectors add space "Space tech" 宇宙',
            AdminSectorsAdd("space", "Space tech", "宇宙"),
        ),
        (
            "admin reading add ai https://example.com/llm What an LLM is, briefly",
            AdminReadingAdd("https://example.com/llm", "What an LLM is, briefly", sector="ai"),
        ),
        (
            'admin reading add "chiplet" https://example.com/c Chiplets explained',
            AdminReadingAdd("https://example.com/c", "Chiplets explained", keyword="chiplet"),
        ),
    ],
)
def test_each_command_parses_into_its_dataclass(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_every_command_kind_has_a_usage_line_in_both_languages() -> None:
    kinds = [cls.kind for cls in typing.get_args(Command) if cls is not KeywordChange]
    kinds += ["follow", "unfollow", "mute", "unmute"]
    for kind in kinds:
        en, ja = usage(kind, "en"), usage(kind, "ja")
        assert en.startswith("/brief") and ja.startswith("/brief")
        assert "\n" not in en


def test_admin_commands_say_they_need_an_admin() -> None:
    assert parse("admin feeds list").admin
    assert parse("admin schedule set #x 8:00 UTC").admin
    assert not parse("today").admin
    assert not parse("settings lang ja").admin


# --- Platform forms ---------------------------------------------------------------------------


def test_slack_channel_mention_gives_id_and_name() -> None:
    command = parse("admin schedule set <#C0123ABC|eng-news> 08:00 Asia/Tokyo mon-fri ai")
    assert command == AdminScheduleSet(
        ChannelRef(id="C0123ABC", name="eng-news"), dt.time(8), "Asia/Tokyo", WEEKDAYS, ("ai",)
    )


def test_slack_channel_mention_without_name() -> None:
    assert parse("admin schedule send-now <#C0123ABC|>") == AdminScheduleSendNow(
        ChannelRef(id="C0123ABC")
    )


def test_discord_channel_mention_gives_id() -> None:
    assert parse("admin schedule send-now <#112233445566778899>") == AdminScheduleSendNow(
        ChannelRef(id="112233445566778899")
    )


def test_japanese_keyword_after_full_width_space() -> None:
    assert parse("follow\u3000半導体") == KeywordChange("follow", "半導体")


def test_japanese_quoted_phrase_with_full_width_space_inside() -> None:
    assert parse("mute\u3000“半導体\u3000輸出規制”") == KeywordChange("mute", "半導体 輸出規制")


def test_typographic_quotes_from_phones_group_words() -> None:
    assert parse("follow “rust lang”") == KeywordChange("follow", "rust lang")


def test_full_width_command_words_are_understood() -> None:
    assert parse("ｓｅｃｔｏｒ\u3000ＡＩ") == SectorSummary("ai", "today")


def test_sector_names_in_english_and_japanese_are_accepted_when_known() -> None:
    sectors = [SectorDef("semis", "Semiconductors", "半導体"), SectorDef("ai", "AI", "人工知能")]
    assert parse_command("sector 半導体", known_sectors=sectors) == SectorSummary("semis")
    assert parse_command("subscribe semiconductors 人工知能", known_sectors=sectors) == Subscribe(
        ("semis", "ai")
    )


# --- Mistakes, in English and Japanese -----------------------------------------------------------

MISTAKES: list[tuple[str, str, str, str, str]] = [
    # text, fragment of the EN message, fragment of the JA message, EN usage, JA usage
    (
        "tday",
        "Did you mean “today”?",
        "「today」のことですか",
        "/brief today",
        "/brief today",
    ),
    (
        "subscibe ai",
        "There is no command “subscibe”",
        "「subscibe」というコマンドはありません",
        "/brief subscribe <sector...>",
        "/brief subscribe <セクター...>",
    ),
    (
        "admin feeds lst",
        "Did you mean “admin feeds list”?",
        "「admin feeds list」のことですか",
        "/brief admin feeds list",
        "/brief admin feeds list",
    ),
    (
        "sector robots",
        "Sectors: ai, cloud, devtools, security, semis",
        "セクター: ai、cloud、devtools、security、semis",
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
    ),
    (
        "subscribe ai clod",
        "Did you mean “cloud”?",
        "「cloud」のことですか",
        "/brief subscribe <sector...>",
        "/brief subscribe <セクター...>",
    ),
    (
        "sector",
        "Missing a sector. Sectors: ai,",
        "セクターを指定してください。セクター: ai、",
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
    ),
    (
        "settings time 25:00",
        "“25:00” is not a time",
        "「25:00」は時刻として読めません",
        "/brief settings [time HH:MM]",
        "/brief settings [time 時:分]",
    ),
    (
        "settings time 13pm",
        "“13pm” is not a time",
        "「13pm」は時刻として読めません",
        "/brief settings [time HH:MM]",
        "/brief settings [time 時:分]",
    ),
    (
        "settings time soon",
        "“soon” is not a time",
        "「soon」は時刻として読めません",
        "/brief settings [time HH:MM]",
        "/brief settings [time 時:分]",
    ),
    (
        "settings tz Asia/Tokio",
        "Did you mean Asia/Tokyo",
        "候補: Asia/Tokyo",
        "[tz Area/City]",
        "[tz 地域/都市]",
    ),
    (
        "settings tz Mars/Olympus",
        "“Mars/Olympus” is not a time zone",
        "「Mars/Olympus」はタイムゾーンとして読めません",
        "[tz Area/City]",
        "[tz 地域/都市]",
    ),
    (
        "settings days mon-fir",
        "“mon-fir” is not a set of days",
        "「mon-fir」は曜日として読めません",
        "[days mon-fri]",
        "[days 曜日]",
    ),
    (
        "settings days mon,,fri",
        "“mon,,fri” is not a set of days",
        "「mon,,fri」は曜日として読めません",
        "[days mon-fri]",
        "[days 曜日]",
    ),
    (
        "settings lang fr",
        "Use en or ja",
        "en か ja を指定してください",
        "[lang en|ja]",
        "[lang en|ja]",
    ),
    (
        "settings length medium",
        "Use short or full",
        "short か full を指定してください",
        "[length short|full]",
        "[length short|full]",
    ),
    (
        "settings tmie 8:00",
        "Did you mean “time”?",
        "「time」のことですか",
        "/brief settings",
        "/brief settings",
    ),
    (
        "settings time",
        "Missing a value for “time”",
        "「time」の値を指定してください",
        "/brief settings",
        "/brief settings",
    ),
    (
        "settings lang ja lang en",
        "“lang” is given twice",
        "「lang」が 2 回指定されています",
        "/brief settings",
        "/brief settings",
    ),
    (
        "sector ai 2024-02-30",
        "“2024-02-30” is not a date",
        "「2024-02-30」は日付として読めません",
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
    ),
    (
        "sector ai tomorrowish",
        "Use YYYY-MM-DD, today or yesterday",
        "YYYY-MM-DD、today、yesterday",
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
    ),
    (
        "admin feeds add ftp://example.com/feed",
        "Give a full http:// or https:// URL",
        "http:// か https:// で始まる URL",
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
    ),
    (
        "admin feeds add example.com/feed",
        "Did you mean https://example.com/feed?",
        "https://example.com/feed のことですか",
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
    ),
    (
        "admin feeds add javascript:alert(1)",
        "is not a web address",
        "URL として読めません",
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
    ),
    (
        "admin feeds add",
        "Missing a URL",
        "URLを指定してください",
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
    ),
    (
        "admin feeds remove first",
        "“first” is not an id",
        "「first」は ID として読めません",
        "/brief admin feeds remove <id>",
        "/brief admin feeds remove <ID>",
    ),
    (
        "admin schedule send-now general",
        "Mention it with #",
        "# を付けて指定してください",
        "/brief admin schedule send-now <#channel>",
        "/brief admin schedule send-now <#チャンネル>",
    ),
    (
        "admin schedule set #general 8:00",
        "Missing a time zone",
        "タイムゾーン(地域/都市)を指定してください",
        "/brief admin schedule set <#channel> <HH:MM> <tz> [days] [sectors...]",
        "/brief admin schedule set <#チャンネル> <時:分> <タイムゾーン> [曜日] [セクター...]",
    ),
    (
        "admin schedule set #general 8:00 UTC mon-fir",
        "“mon-fir” is not a set of days",
        "「mon-fir」は曜日として読めません",
        "/brief admin schedule set",
        "/brief admin schedule set",
    ),
    (
        "admin schedule set #general 8:00 UTC weekdays robots",
        "There is no sector “robots”",
        "「robots」というセクターはありません",
        "/brief admin schedule set",
        "/brief admin schedule set",
    ),
    (
        "admin sectors add AI Artificial 人工知能",
        "The sector “ai” already exists",
        "セクター「ai」はすでにあります",
        "/brief admin sectors add <key> <name_en> <name_ja> [keywords...]",
        "/brief admin sectors add <キー> <英語名> <日本語名> [キーワード...]",
    ),
    (
        "admin sectors add space/tech Space 宇宙",
        "cannot be a sector key",
        "セクターのキーに使えません",
        "/brief admin sectors add",
        "/brief admin sectors add",
    ),
    (
        "admin sectors add space Space",
        "Missing the Japanese name",
        "日本語名を指定してください",
        "/brief admin sectors add",
        "/brief admin sectors add",
    ),
    (
        "admin reading add ai https://example.com/x",
        "Missing a title",
        "タイトルを指定してください",
        "/brief admin reading add <sector|keyword> <url> <title...>",
        "/brief admin reading add <セクター|キーワード> <URL> <タイトル...>",
    ),
    (
        "admin",
        "Say which one: deliveries, audit, feeds, schedule, sectors, reading",
        "次のどれかを指定してください: deliveries, audit, feeds, schedule, sectors, reading",
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
    ),
    (
        "today please",
        "Unexpected extra words: please",
        "余分な語句があります: please",
        "/brief today",
        "/brief today",
    ),
    (
        "sector ai today extra words",
        "Unexpected extra words: extra words",
        "余分な語句があります: extra words",
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
    ),
    (
        "admin feeds list all",
        "Unexpected extra words: all",
        "余分な語句があります: all",
        "/brief admin feeds list",
        "/brief admin feeds list",
    ),
    (
        'follow "rust lang',
        "A quotation mark is not closed",
        "引用符が閉じていません",
        "/brief follow <keyword>",
        "/brief follow <キーワード>",
    ),
    (
        "mute",
        "Missing a keyword",
        "キーワードを指定してください",
        "/brief mute <keyword>",
        "/brief mute <キーワード>",
    ),
    (
        "follow " + "x" * 101,
        "too long (at most 100 characters)",
        "100 文字まで",
        "/brief follow <keyword>",
        "/brief follow <キーワード>",
    ),
    (
        "search",
        "Missing the words to search for",
        "検索する語句を指定してください",
        "/brief search <words>",
        "/brief search <語句>",
    ),
    (
        "unsubscribe",
        "Missing a sector",
        "セクターを指定してください",
        "/brief unsubscribe <sector...|all>",
        "/brief unsubscribe <セクター...|all>",
    ),
    (
        "help sectr",
        "Did you mean “sector”?",
        "「sector」のことですか",
        "/brief help [command]",
        "/brief help [コマンド]",
    ),
]


@pytest.mark.parametrize(
    ("text", "message_en", "message_ja", "usage_en", "usage_ja"),
    MISTAKES,
    ids=[m[0][:40] for m in MISTAKES],
)
def test_mistakes_are_explained_in_the_users_language_with_usage(
    text: str, message_en: str, message_ja: str, usage_en: str, usage_ja: str
) -> None:
    en = error(text, "en")
    assert message_en in en.message
    assert usage_en in en.usage
    assert en.text.startswith(en.message) and f"Usage: {en.usage}" in en.text

    ja = error(text, "ja")
    assert message_ja in ja.message
    assert usage_ja in ja.usage
    assert f"使い方: {ja.usage}" in ja.text
    # The Japanese message really is Japanese, not the English one passed through.
    assert ja.message != en.message


def test_unknown_command_without_a_close_match_lists_the_user_commands() -> None:
    caught = error("frobnicate")
    assert caught.message == "There is no command “frobnicate”."
    assert "/brief today" in caught.usage and "/brief settings" in caught.usage
    assert "admin" not in caught.usage


def test_errors_name_the_value_exactly_as_the_user_typed_it() -> None:
    assert "“Asia/Tokio”" in error("settings tz Asia/Tokio").message
    assert "「ＸＹＺ」" in error("sector ＸＹＺ", "ja").message


def test_no_sectors_yet_is_said_plainly() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("subscribe ai", known_sectors=(), language="en")
    assert "(none yet)" in caught.value.message


# --- Help and usage ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ja"])
def test_help_lists_every_command_line_with_a_description(language: Language) -> None:
    text = help_text(language)
    for kind in ["help", "today", "sector", "settings", "admin schedule set", "admin reading add"]:
        assert usage(kind, language) + " — " in text
    # The full list is the users' list plus the admin group, one line per command.
    lines = text.splitlines()
    users = help_text(language, include_admin=False).splitlines()
    assert lines[0] == users[0]
    assert lines[1:] == users[1:] + help_text(language, "admin").splitlines()
    assert all(line.startswith("/brief") and " — " in line for line in lines[1:])


def test_help_is_written_in_each_language() -> None:
    assert "ShiftBrief commands" in help_text("en")
    assert "ShiftBrief のコマンド" in help_text("ja")
    assert "セクター別の要約" in help_text("ja")


def test_help_on_a_topic_shows_only_that_topic() -> None:
    text = help_text("en", "admin feeds")
    assert len(text.splitlines()) == 4
    assert all(line.startswith("/brief admin feeds ") for line in text.splitlines())


def test_help_for_users_can_leave_admin_commands_out() -> None:
    assert "admin" not in help_text("en", include_admin=False)


def _help_topics() -> set[str]:
    """Every command name and group the help lists ("admin", "admin feeds", "admin feeds add")."""
    topics: set[str] = set()
    for line in help_text("en").splitlines()[1:]:
        words = line.split(" — ")[0].split()[1:]
        words = list(itertools.takewhile(lambda w: not w.startswith(("<", "[")), words))
        topics.update(" ".join(words[:n]) for n in range(1, len(words) + 1))
    return topics


def test_every_help_topic_the_parser_accepts_has_help() -> None:
    topics = _help_topics()
    assert {"admin", "admin feeds", "admin schedule send-now", "settings"} <= topics
    for topic in topics:
        command = parse(f"help {topic}")
        assert isinstance(command, Help) and command.topic is not None
        assert help_text("ja", command.topic)


def test_usage_of_an_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        usage("frobnicate", "en")


@pytest.mark.parametrize(
    "text",
    [
        "frobnicate",
        "admin",
        "sector",
        "sector nope",
        "sector ai 2024-13-01",
        "settings time 25:00",
        "settings tz Mars/Base",
        "settings days someday",
        "settings lang fr",
        "settings length huge",
        "settings colour red",
        "settings time 08:00 time 09:00",
        "admin feeds add notaurl",
        "admin feeds remove x",
        "admin schedule send-now general",
        "admin sectors add BAD!KEY A B",
        "admin sectors add ai A B",
        "help frobnicate",
        'follow "open',
        "subscribe",
    ],
)
def test_every_error_is_written_in_each_language(text: str) -> None:
    english, japanese = error(text, "en"), error(text, "ja")
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese.text), japanese.text
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", english.message), english.text
    assert english.usage.startswith("/brief") and japanese.usage.startswith("/brief")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_help_line_has_a_usage_and_a_description(language: Language) -> None:
    for line in help_text(language).splitlines()[1:]:
        usage_part, _, description = line.partition(" — ")
        assert usage_part.strip() and description.strip(), line


# --- Requests and helpers ---------------------------------------------------------------------


def test_request_from_text_and_request_from_typed_options_give_the_same_command() -> None:
    invocation = Invocation(platform="slack", tenant_id="T1", user_id="U1", locale="ja-JP")
    from_slack = CommandRequest(CommandText("settings tz tokyo days 平日"), invocation)
    typed = Settings(tz="Asia/Tokyo", days=WEEKDAYS)
    from_discord = CommandRequest(typed, invocation)
    assert parse_request(from_slack, known_sectors=SECTORS) == typed
    assert parse_request(from_discord, known_sectors=SECTORS) == typed


def test_locale_hints_map_to_languages() -> None:
    assert language_from_locale("ja") == "ja"
    assert language_from_locale("ja-JP") == "ja"
    assert language_from_locale("en-US", default="ja") == "en"
    assert language_from_locale("fr", default="ja") == "ja"
    assert language_from_locale(None) == "en"


def test_relative_days_resolve_against_the_readers_today() -> None:
    today = dt.date(2024, 3, 1)
    assert resolve_day("today", today=today) == today
    assert resolve_day("yesterday", today=today) == dt.date(2024, 2, 29)
    assert resolve_day(dt.date(2023, 1, 5), today=today) == dt.date(2023, 1, 5)


def test_zone_choices_for_autocomplete() -> None:
    choices = zone_choices("tok")
    assert "Asia/Tokyo" in choices
    assert len(zone_choices("")) == 25


def test_a_channel_reference_needs_an_id_or_a_name() -> None:
    with pytest.raises(ValueError):
        ChannelRef()


# --- Robustness -------------------------------------------------------------------------------

_PIECES = [
    "today", "sector", "search", "settings", "admin", "feeds", "schedule", "sectors", "reading",
    "add", "set", "send-now", "follow", "mute", "help", "all", "time", "tz", "days", "lang",
    "ai", "AI", "08:00", "8am", "99:99", "Asia/Tokyo", "mon-fri", "月-金", "2024-02-30",
    "https://x.y/z", "<https://a.b|a.b>", "<#C1|x>", "<#1>", "<#|>", "<>", "#", "#x", "<#",
    '"', "'", "“", "”", "\u3000", " ", ",", "=", "&amp;", "\\", "\x00", "{}", "{0}", "%s",
    "生成AI", "半導体", "ｔｏｄａｙ", "٣:٣٣", "http://[::1", "http://x:port", "-", "~", "\n",
]  # fmt: skip


def _check_never_crashes(text: str) -> None:
    try:
        result = parse(text)
    except CommandError as caught:
        assert caught.message and caught.usage
    else:
        assert isinstance(result, typing.get_args(Command))


def test_arbitrary_command_like_text_raises_only_command_errors() -> None:
    # A seeded fuzz over pieces that have broken parsers before; runs without extra packages.
    rng = random.Random(20240501)
    for _ in range(3000):
        words = rng.choices(_PIECES, k=rng.randint(1, 8))
        _check_never_crashes(rng.choice(["", " "]).join(words))


def test_arbitrary_text_raises_only_command_errors_hypothesis() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    strategies = pytest.importorskip("hypothesis.strategies")

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(
        strategies.text() | strategies.lists(strategies.sampled_from(_PIECES)).map(" ".join)
    )
    def check(text: str) -> None:
        _check_never_crashes(text)

    check()


def test_overlong_text_is_refused_before_parsing() -> None:
    caught = error("search " + "word " * 1000)
    assert caught.message == "That command is too long (at most 4000 characters)."
    assert error("search " + "語" * 4000, "ja").message == "コマンドが長すぎます(4000 文字まで)。"


def test_echoed_user_text_is_shortened_in_messages() -> None:
    caught = error("sector " + "x" * 500)
    assert "“" + "x" * 59 + "…”" in caught.message
    assert len(caught.message) < 200


@pytest.mark.parametrize(
    ("text", "today"), [("admin deliveries", False), ("admin deliveries today", True)]
)
def test_admin_deliveries_takes_an_optional_today(text: str, today: bool) -> None:
    command = parse_command(text, known_sectors=SECTORS)
    assert isinstance(command, AdminDeliveries)
    assert command.today is today
    assert command.admin


# --- Which texts need admin rights --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "admin feeds list",
        "ADMIN sectors list",
        "brief admin feeds list",
        "/brief admin feeds list",
        "ａｄｍｉｎ　feeds list",
        "  admin\u00a0schedule list",
    ],
)
def test_every_spelling_of_an_admin_command_is_named_admin(text: str) -> None:
    # An adapter asks the platform for admin rights only when this says so; a spelling the
    # parser accepts but this missed would refuse a real admin.
    assert parse(text).admin
    assert commands.names_admin_command(text)


@pytest.mark.parametrize(
    "text", ["", "today", "help admin", "search admin", "administrator", "brief", "follow admin"]
)
def test_other_commands_are_not_named_admin(text: str) -> None:
    assert not commands.names_admin_command(text)


def test_names_admin_command_agrees_with_the_parser() -> None:
    rng = random.Random(20250304)
    prefixes = ["", "brief ", "/brief ", "BRIEF\u3000", "/ｂｒｉｅｆ "]
    heads = ["admin", "ａｄｍｉｎ", "Admin", "help", "today", "administrator", "sector", "search"]
    tails = ["feeds list", "sectors list", "schedule list", "deliveries", "feeds health", "ai", ""]
    seen: set[bool] = set()
    for _ in range(500):
        text = rng.choice(prefixes) + rng.choice(heads) + rng.choice([" ", "\u3000", "  "])
        text += rng.choice(tails)
        try:
            command = parse(text)
        except CommandError:
            continue
        assert commands.names_admin_command(text) is command.admin, text
        seen.add(command.admin)
    assert seen == {True, False}
