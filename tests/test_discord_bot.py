"""The Discord bot without Discord: /ask, /about, the buttons (also after a restart), cooldown, failures,
concurrency and the worker threads, command syncing, intents, the token, and `ragbot discord`.

Slash commands and buttons are driven by calling their callbacks with a fake Interaction
(tests/helpers/discord_fakes.py). The real engine answers wherever the answer matters; a tiny fake engine
is used only to hold calls open (the queue) or to fail on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest
from click.testing import CliRunner

import bot.discord_bot as discord_bot
from bot.discord_bot import check_token
from bot.discord_bot.app import APOLOGY, PERMISSIONS, RagBot, intents_for, invite_url
from bot.discord_bot.embeds import answer_of_description
from bot.discord_bot.feedback import FeedbackStore
from retrieval.errors import InputError, StoreError
from tests.helpers.discord_fakes import BOT_ID, FakeInteraction, Recording, offline_bot, pings_nobody

ANSWERABLE = "How long was the cease-fire proposed in the resolution that was blocked?"
UNANSWERABLE = "Can you give me a recipe for hummus?"
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789ab"


class Failing:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def answer(self, question, history=(), **kwargs):
        raise self.exc


@pytest.fixture
async def make_bot(make_settings, make_discord_settings):
    bots: list[RagBot] = []

    async def make(engine, **discord_overrides) -> RagBot:
        bot = await offline_bot(make_settings(), make_discord_settings(**discord_overrides), engine)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.store.close()


async def ask(bot: RagBot, question: str, user_id: int = 1) -> FakeInteraction:
    itx = FakeInteraction(bot, user_id)
    cog = bot.get_cog("Ask")
    await cog.ask.callback(cog, itx, question)
    assert all(pings_nobody(s.allowed_mentions) for s in itx.sent if s.kind != "defer")
    return itx


def custom_ids(view: discord.ui.View) -> list[str]:
    return [item.custom_id for item in view.children]


# -- /ask -------------------------------------------------------------------------------------
async def test_ask_defers_then_replaces_thinking_with_the_cited_embed(make_bot, engine):
    bot = await make_bot(Recording(engine))
    itx = await ask(bot, ANSWERABLE)
    defer, edit = itx.sent
    assert defer.kind == "defer" and itx.thinking and not defer.ephemeral
    assert edit.kind == "edit" and edit.embed.title == ANSWERABLE
    assert "seven-day cease-fire" in edit.embed.description and "[1]" in edit.embed.description
    assert edit.embed.fields[0].name.startswith("[1] ") and edit.embed.footer.text.startswith("confidence: ")
    assert " · extractive · no LLM · " in edit.embed.footer.text
    (record_id,) = {int(c.rsplit(":", 1)[1]) for c in custom_ids(edit.view)}
    store_id = bot.store.store_id
    assert custom_ids(edit.view) == [
        f"ragbot:sources:{store_id}:{record_id}",
        f"ragbot:up:{store_id}:{record_id}",
        f"ragbot:down:{store_id}:{record_id}",
    ]
    assert edit.view.timeout is None
    record = bot.store.get(record_id)
    assert record.question == ANSWERABLE and record.message_id == edit.id and record.user_id == 1
    assert (record.guild_id, record.channel_id) == (1, 2)


async def test_ask_unanswerable_says_so_and_shows_the_closest_passage(make_bot, engine):
    bot = await make_bot(engine)
    edit = (await ask(bot, UNANSWERABLE)).last()
    assert edit.embed.description == "The article doesn't say."
    assert edit.embed.fields[0].name.startswith("Closest passage")
    assert bot.store.get(int(custom_ids(edit.view)[0].rsplit(":", 1)[1])).answerable is False


@pytest.mark.parametrize(
    ("question", "message"),
    [("<@123456789012345678>", "the question is empty"), ("x" * 2001, "the limit is 2000"), ("@everyone   ", "empty")],
)
async def test_a_bad_question_is_refused_ephemerally_before_deferring(make_bot, engine, question, message):
    recording = Recording(engine)
    bot = await make_bot(recording)
    (reply,) = (await ask(bot, question)).sent
    assert reply.kind == "response" and reply.ephemeral and message in reply.content
    assert recording.calls == []


async def test_mentions_are_stripped_from_the_question(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    await ask(bot, f"<@{BOT_ID}> {ANSWERABLE} @everyone")
    assert recording.calls == [(ANSWERABLE, [])]


async def test_cooldown_refuses_the_same_user_ephemerally(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, cooldown_s=30)
    await ask(bot, ANSWERABLE, user_id=7)
    (refusal,) = (await ask(bot, ANSWERABLE, user_id=7)).sent
    assert refusal.ephemeral and "One question every 30 s" in refusal.content and "try again in" in refusal.content
    assert (await ask(bot, ANSWERABLE, user_id=8)).last().kind == "edit"
    assert len(recording.calls) == 2


async def test_cooldown_counts_from_the_last_accepted_question(make_bot, engine):
    bot = await make_bot(engine, cooldown_s=10)
    assert bot.retry_after(1, now=100.0) == 0
    assert bot.retry_after(1, now=104.0) == pytest.approx(6)
    assert bot.retry_after(2, now=104.0) == 0
    assert bot.retry_after(1, now=105.0) == pytest.approx(5)  # a refused question does not restart the wait
    assert bot.retry_after(1, now=110.5) == 0
    assert bot.retry_after(1, now=111.0) == pytest.approx(9.5)
    unlimited = await make_bot(engine, cooldown_s=0)
    assert unlimited.cooldowns is None and unlimited.retry_after(1) == unlimited.retry_after(1) == 0


async def test_a_failure_after_deferring_becomes_a_short_apology_and_a_logged_trace(make_bot, caplog):
    bot = await make_bot(Failing(RuntimeError("boom in the engine")))
    with caplog.at_level(logging.ERROR, logger="bot.discord_bot.app"):
        itx = await ask(bot, ANSWERABLE)
    defer, edit = itx.sent
    assert defer.kind == "defer" and edit.kind == "edit"
    assert edit.content == APOLOGY and edit.embed is None and edit.view is None
    (record,) = [r for r in caplog.records if r.exc_info]
    assert isinstance(record.exc_info[1], RuntimeError) and "boom" not in edit.content


async def test_a_core_input_error_after_deferring_shows_its_message(make_bot):
    bot = await make_bot(Failing(InputError("the question has no words the documents use")))
    assert (await ask(bot, ANSWERABLE)).last().content == "the question has no words the documents use"


async def test_a_store_failure_is_an_apology_too(make_bot, engine):
    bot = await make_bot(engine)
    bot.store.close()
    edit = (await ask(bot, ANSWERABLE)).last()
    assert edit.kind == "edit" and edit.content == APOLOGY


async def test_the_tree_error_handler_answers_an_unanswered_interaction(make_bot, engine, caplog):
    bot = await make_bot(engine)
    itx = FakeInteraction(bot, 3)
    error = discord.app_commands.CommandInvokeError(bot.tree.get_command("ask"), ValueError("bad"))
    with caplog.at_level(logging.ERROR, logger="bot.discord_bot.app"):
        await bot.tree.on_error(itx, error)
    (reply,) = itx.sent
    assert reply.ephemeral and reply.content == APOLOGY
    assert any(isinstance(r.exc_info[1], ValueError) for r in caplog.records if r.exc_info)


# -- concurrency ------------------------------------------------------------------------------
async def test_twenty_users_at_once_all_get_answers_from_worker_threads(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    loop_thread = threading.get_ident()
    questions = [
        ANSWERABLE,
        UNANSWERABLE,
        "Who said opposition fighters would be eradicated?",
        "Where was Kerry speaking?",
    ]
    results = await asyncio.gather(*(ask(bot, questions[i % 4], user_id=100 + i) for i in range(20)))
    assert len(recording.calls) == 20
    assert all(itx.sent[0].kind == "defer" and itx.last().kind == "edit" and itx.last().embed for itx in results)
    serial = {q: engine.answer(q).answer for q in questions}  # concurrency changes no answer
    shown = [answer_of_description(itx.last().embed.description) for itx in results]
    assert shown == [serial[questions[i % 4]] for i in range(20)]
    assert loop_thread not in recording.threads
    assert recording.peak <= bot.discord_settings.max_concurrency
    ids = {int(custom_ids(itx.last().view)[0].rsplit(":", 1)[1]) for itx in results}
    assert len(ids) == 20 and all(bot.store.get(i).message_id for i in ids)


class Held:
    """An engine whose calls wait until released, to watch the queue."""

    def __init__(self, inner, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop
        self.release = threading.Event()
        self.entered = asyncio.Queue()
        self.active = self.peak = 0
        self._lock = threading.Lock()
        self.thresholds = inner.thresholds

    def answer(self, question, history=(), **kwargs):
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.loop.call_soon_threadsafe(self.entered.put_nowait, threading.get_ident())
        try:
            assert self.release.wait(60), "never released"
            return self.inner.answer(question, history, **kwargs)
        finally:
            with self._lock:
                self.active -= 1


async def test_the_concurrency_limit_queues_rather_than_rejects(make_bot, engine):
    held = Held(engine, asyncio.get_running_loop())
    bot = await make_bot(held, max_concurrency=2)
    itxs = [FakeInteraction(bot, 200 + i) for i in range(5)]
    cog = bot.get_cog("Ask")
    tasks = [asyncio.create_task(cog.ask.callback(cog, itx, ANSWERABLE)) for itx in itxs]
    first = {await held.entered.get(), await held.entered.get()}
    await asyncio.sleep(0.1)  # room for a third call to slip through, were the gate broken
    assert held.active == 2 and held.entered.empty()
    assert all(itx.sent and itx.sent[0].kind == "defer" for itx in itxs)  # everyone acknowledged, nobody refused
    held.release.set()
    await asyncio.gather(*tasks)
    assert held.peak == 2 and threading.get_ident() not in first
    assert all(itx.last().kind == "edit" and itx.last().embed for itx in itxs)


# -- buttons ----------------------------------------------------------------------------------
async def click(bot: RagBot, custom_id: str, user_id: int = 1) -> FakeInteraction:
    """Route a click the way discord.py does for persistent buttons: by matching the registered templates."""
    view_store = bot._connection._view_store
    matches = [(cls, p.fullmatch(custom_id)) for p, cls in view_store._dynamic_items.items() if p.fullmatch(custom_id)]
    assert len(matches) == 1, f"no persistent handler for {custom_id}"
    cls, match = matches[0]
    itx = FakeInteraction(bot, user_id)
    item = await cls.from_custom_id(itx, None, match)
    await item.callback(itx)
    assert all(pings_nobody(s.allowed_mentions) for s in itx.sent)
    return itx


async def test_sources_button_shows_every_cited_passage_in_full(make_bot, engine):
    bot = await make_bot(engine)
    ids = custom_ids((await ask(bot, ANSWERABLE)).last().view)
    (reply,) = (await click(bot, ids[0])).sent
    assert reply.kind == "response" and reply.ephemeral
    record = bot.store.get(int(ids[0].rsplit(":", 1)[1]))
    for row in record.sources:
        assert f"**[{row.n}]**" in reply.content and f"¶{row.paragraph}" in reply.content
        assert (
            f"score {row.score:.2f}" in reply.content
            and discord.utils.escape_markdown(row.passage)[:60] in reply.content
        )


async def test_thumbs_are_recorded_one_vote_per_user(make_bot, engine):
    bot = await make_bot(engine)
    _, up, down = custom_ids((await ask(bot, ANSWERABLE)).last().view)
    assert "1 👍 · 0 👎" in (await click(bot, up, user_id=5)).last().content
    assert "2 👍 · 0 👎" in (await click(bot, up, user_id=6)).last().content
    reply = (await click(bot, down, user_id=5)).last()
    assert reply.ephemeral and "your 👎 is recorded" in reply.content and "1 👍 · 1 👎" in reply.content


async def test_buttons_work_after_a_restart(make_bot, engine):
    first = await make_bot(engine)
    ids = custom_ids((await ask(first, ANSWERABLE)).last().view)
    await click(first, ids[1], user_id=5)
    first.store.close()

    second = await make_bot(engine)  # a new process: new bot, new view store, same SQLite file
    assert second.store is not first.store and second.store.path == first.store.path
    sources = (await click(second, ids[0])).last()
    assert "seven-day cease-fire" in sources.content and sources.ephemeral
    assert "2 👍 · 0 👎" in (await click(second, ids[1], user_id=6)).last().content


async def test_buttons_of_a_forgotten_answer_say_so(make_bot, engine):
    bot = await make_bot(engine)
    assert "no longer stored" in (await click(bot, "ragbot:sources:999")).last().content
    assert "not recorded" in (await click(bot, "ragbot:up:999")).last().content


async def test_a_button_failure_is_an_apology(make_bot, engine, caplog):
    bot = await make_bot(engine)
    ids = custom_ids((await ask(bot, ANSWERABLE)).last().view)
    bot.store.close()
    with caplog.at_level(logging.ERROR, logger="bot.discord_bot.app"):
        reply = (await click(bot, ids[0])).last()
    assert reply.ephemeral and reply.content == APOLOGY
    assert any(isinstance(r.exc_info[1], StoreError) for r in caplog.records if r.exc_info)


# -- /about -----------------------------------------------------------------------------------
async def test_about_lists_documents_passages_and_models(make_bot, engine):
    bot = await make_bot(engine)
    itx = FakeInteraction(bot, 1)
    cog = bot.get_cog("About")
    await cog.about.callback(cog, itx)
    defer, reply = itx.sent
    assert defer.kind == "defer" and defer.ephemeral and reply.kind == "edit"
    fields = {f.name: f.value for f in reply.embed.fields}
    assert pings_nobody(reply.allowed_mentions)
    assert "000_7f696d753bde9fea.txt" in fields["Documents (1)"]
    assert fields["Passages"] == str(engine.index.catalog.live_count())
    assert fields["Embedding model"] == "all-MiniLM-L6-v2-int8" and fields["LLM"] == "none (extractive)"


def test_the_engine_describes_what_about_shows(engine):
    overview = engine.describe()
    assert [d.source for d in overview.documents] == [d.source for d in engine.index.catalog.documents()]
    assert overview.passages == sum(d.passages for d in overview.documents) == engine.index.catalog.live_count()
    assert (overview.embedding_model, overview.llm_model) == ("all-MiniLM-L6-v2-int8", "")


# -- setup: syncing, intents, token -----------------------------------------------------------
async def test_commands_sync_to_the_dev_guild_and_globally_only_when_asked(
    make_settings, make_discord_settings, engine, monkeypatch
):
    calls = []

    async def fake_sync(self, *, guild=None):
        calls.append(guild.id if guild else "global")
        return []

    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", fake_sync)
    for overrides, sync_global, expected in [
        ({}, False, []),
        ({"guild_id": 555}, False, [555]),
        ({}, True, ["global"]),
    ]:
        calls.clear()
        discord_settings = make_discord_settings(**overrides)
        store = FeedbackStore(discord_settings.db_path)
        bot = RagBot(make_settings(), discord_settings, engine, store, sync_global=sync_global)
        await bot.setup_hook()
        assert calls == expected
        commands = {"ask", "about", "check", "quotes", "help", "forget", "Ask about this message"}
        assert {c.name for c in bot.tree.get_commands()} == commands
        if overrides:
            assert {c.name for c in bot.tree.get_commands(guild=discord.Object(555))} == commands
        bot.store.close()


def test_intents_need_message_content_only_for_thread_follow_ups(make_discord_settings):
    plain = intents_for(make_discord_settings())
    assert plain.guilds and plain.guild_messages and plain.dm_messages
    assert not (plain.message_content or plain.members or plain.presences)
    assert intents_for(make_discord_settings(message_content=True)).message_content


@pytest.mark.parametrize("raw", [None, "", "   ", "abc", "a b.c.d", '"a.b.c"', "Bot a.b.c"])
def test_a_missing_or_malformed_token_is_a_config_error_that_never_repeats_it(raw):
    from retrieval import Secret
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        check_token(Secret(raw) if raw is not None else None)
    assert "DISCORD_TOKEN" in str(err.value) and (not (raw or "").strip() or raw.strip() not in str(err.value))


def test_a_well_formed_token_passes_trimmed():
    from retrieval import Secret

    assert check_token(Secret(f"  {TOKEN}\n")) == TOKEN


def test_invite_url_asks_for_both_scopes_and_the_needed_permissions():
    url = invite_url(123)
    assert "client_id=123" in url and "scope=bot+applications.commands" in url
    assert f"permissions={PERMISSIONS.value}" in url
    p = PERMISSIONS
    assert p.send_messages and p.send_messages_in_threads and p.create_public_threads and p.embed_links
    assert not (p.administrator or p.mention_everyone or p.manage_messages)


# -- ragbot discord ---------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, store_copy, monkeypatch):
    from tests.helpers import ROOT

    monkeypatch.chdir(tmp_path)  # no developer .env is read
    return {
        "RAGBOT_CHROMA_PATH": str(store_copy),
        "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
        "RAGBOT_DISCORD_DB_PATH": str(tmp_path / "d.sqlite3"),
        "RAGBOT_LOG_LEVEL": "DEBUG",
    }


def run_cli(env: dict, args: list[str]):
    from bot.cli import cli

    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("token", "needle"), [(None, "is not set"), ("", "is not set"), ("not a token", "does not look like")]
)
def test_ragbot_discord_without_a_usable_token_is_one_line_and_exit_2(cli_env, token, needle):
    env = {**cli_env, "DISCORD_TOKEN": token}
    result = run_cli(env, ["discord"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ragbot: DISCORD_TOKEN") and needle in lines[0]
    assert "Traceback" not in result.output and (not token or token not in result.output)


def test_a_bad_discord_setting_fails_only_ragbot_discord_naming_it(cli_env):
    env = {**cli_env, "DISCORD_TOKEN": TOKEN, "RAGBOT_DISCORD_MAX_CONCURRENCY": "0"}
    result = run_cli(env, ["discord"])
    assert result.exit_code == 2 and result.output.startswith("ragbot: invalid setting: RAGBOT_DISCORD_MAX_CONCURRENCY")
    assert run_cli(env, ["ask", "--json", ANSWERABLE]).exit_code == 0  # the core's commands never read it


@pytest.mark.parametrize(
    ("error", "code", "needle"),
    [
        (discord.LoginFailure("Improper token has been passed."), 2, "rejected by Discord"),
        (discord.PrivilegedIntentsRequired(None), 2, "Message Content intent"),
        (OSError("Name or service not known"), 1, "cannot reach Discord"),
    ],
)
def test_ragbot_discord_turns_connection_failures_into_one_line(
    cli_env, engine, monkeypatch, caplog, error, code, needle
):
    async def fail(self, token, *, reconnect=True):
        assert token == TOKEN
        raise error

    monkeypatch.setattr(RagBot, "start", fail)
    monkeypatch.setattr("bot.cli._engine", lambda settings: engine)  # the engine build is covered below
    with caplog.at_level(logging.DEBUG):
        result = run_cli({**cli_env, "DISCORD_TOKEN": TOKEN}, ["discord"])
    assert result.exit_code == code and needle in result.output and "Traceback" not in result.output
    assert TOKEN not in result.output and all(TOKEN not in r.getMessage() for r in caplog.records)


def test_ragbot_discord_sync_flag_reaches_the_bot(cli_env, engine, monkeypatch):
    seen = {}

    def fake_run(settings, discord_settings, engine, token, *, sync_global=False, announce=None):
        seen.update(sync=sync_global, token=token, answers=engine.answer(ANSWERABLE).answerable)
        seen.update(db_path=discord_settings.db_path)

    monkeypatch.setattr(discord_bot, "run", fake_run)
    result = run_cli({**cli_env, "DISCORD_TOKEN": TOKEN}, ["discord", "--sync"])
    assert result.exit_code == 0, result.output
    assert seen.pop("db_path") == Path(cli_env["RAGBOT_DISCORD_DB_PATH"])  # the Discord settings, from the env
    assert seen == {"sync": True, "token": TOKEN, "answers": True}  # the real engine, built by the CLI
    monkeypatch.setattr("bot.cli._engine", lambda settings: engine)
    run_cli({**cli_env, "DISCORD_TOKEN": TOKEN}, ["discord"])
    assert seen["sync"] is False


# -- streaming (an LLM configured) ------------------------------------------------------------
HAMBURG_Q = "From which city did Interfax report Lavrov's comments about the Geneva talks?"


class Streaming:
    """The real engine's stream, noting the thread each event is made on."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.threads: list[int] = []
        self.thresholds = inner.thresholds

    def answer(self, question, history=(), **kwargs):
        raise AssertionError("a streaming engine is streamed")

    def stream(self, question, history=(), **kwargs):
        for event in self.inner.stream(question, history, **kwargs):
            self.threads.append(threading.get_ident())
            yield event


def llm_engine(engine, *replies):
    """The real engine over the article, answering through the scripted model at the LLM seam."""
    fake_llm = pytest.importorskip("tests.helpers.fake_llm")
    from retrieval.engine import Engine

    def hamburg(messages):
        n = fake_llm.source_number(messages, "Hamburg")
        return f"Interfax reported Lavrov's comments from Hamburg, the agency said [{n}]."

    llm = fake_llm.FakeLLM().enqueue(*[hamburg if r is None else r for r in replies] or [hamburg])
    return Streaming(Engine(engine.settings, engine.index, llm=llm))


def drafts(itx: FakeInteraction) -> list[str]:
    return [
        s.embed.description
        for s in itx.sent
        if s.kind == "edit" and s.embed and s.embed.footer.text.startswith("writing")
    ]


async def test_ask_shows_an_llm_answer_as_it_is_written_then_the_verified_one(make_bot, engine):
    streaming = llm_engine(engine)
    bot = await make_bot(streaming)
    bot.stream_edit_s = 0  # show every piece
    itx = await ask(bot, HAMBURG_Q)
    shown = drafts(itx)
    assert itx.sent[0].kind == "defer" and len(shown) >= 5
    assert all(b.startswith(a.removesuffix(" ▌")) for a, b in zip(shown, shown[1:], strict=False))  # it grows
    assert shown[-1] == "Interfax reported Lavrov's comments from Hamburg, the agency said. ▌"  # markers held back
    final = itx.last()
    assert final.kind == "edit" and final.embed.description.endswith("the agency said [1].")
    assert " · llm · fake/model" in final.embed.footer.text and custom_ids(final.view)[0].startswith("ragbot:")
    assert streaming.threads and threading.get_ident() not in streaming.threads


async def test_edits_are_throttled(make_bot, engine):
    bot = await make_bot(llm_engine(engine))
    bot.stream_edit_s = 3600
    itx = await ask(bot, HAMBURG_Q)
    assert drafts(itx) == ["Interfax ▌"] and itx.last().embed.description.endswith("[1].")


async def test_a_restarted_stream_discards_what_was_shown(make_bot, engine):
    fake_llm = pytest.importorskip("tests.helpers.fake_llm")
    bot = await make_bot(llm_engine(engine, fake_llm.Broken(["Moscow said ", "the talks "]), None))
    bot.stream_edit_s = 0
    shown = drafts(await ask(bot, HAMBURG_Q))
    assert shown[0].startswith("Moscow") and "Moscow" not in shown[-1] and shown[-1].startswith("Interfax")


async def test_on_ready_announces_the_invite_url_and_how_to_sync(make_settings, make_discord_settings, engine):
    notes: list[str] = []
    for overrides, synced in (({}, False), ({"guild_id": 555}, True)):
        notes.clear()
        discord_settings = make_discord_settings(**overrides)
        store = FeedbackStore(discord_settings.db_path)
        bot = RagBot(make_settings(), discord_settings, engine, store, announce=notes.append)
        bot._connection.user = SimpleNamespace(id=BOT_ID, __str__=lambda self: "ragbot#0001")
        await bot.on_ready()
        (note,) = notes
        assert invite_url(BOT_ID) in note and note.startswith("connected as ")
        assert ("not synced" in note) is not synced
        bot.store.close()
