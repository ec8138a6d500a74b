"""bot/discord_bot/embeds.py and sources.py: splitting, shortening, mention stripping, the answer embed (its
bold short answer and confidence word) and the Sources message, within Discord's limits."""

from __future__ import annotations

import re
from dataclasses import replace

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_bot import embeds, sources
from bot.discord_bot.feedback import SourceRow, StoredAnswer, source_rows
from retrieval import confidence_word
from retrieval.schema import Answer, Citation, Hit, Passage, ShortAnswer, Span

ANSWERABLE = "How long was the cease-fire proposed in the resolution that was blocked?"
UNANSWERABLE = "Can you give me a recipe for hummus?"
THRESHOLDS = (0.2, 0.6)  # (refusal, confident) for constructed answers; real ones use engine.thresholds


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_limits(embed: discord.Embed) -> None:
    assert len(embed) <= embeds.EMBED_LIMIT
    assert len(embed.title or "") <= embeds.TITLE_LIMIT
    assert len(embed.description or "") <= embeds.DESCRIPTION_LIMIT
    assert len(embed.fields) <= embeds.FIELD_COUNT_LIMIT
    for f in embed.fields:
        assert 0 < len(f.name) <= embeds.FIELD_NAME_LIMIT
        assert 0 < len(f.value) <= embeds.FIELD_LIMIT
    assert len(embed.footer.text or "") <= embeds.FOOTER_LIMIT


# -- split_message ----------------------------------------------------------------------------
def test_short_text_is_one_part():
    assert embeds.split_message("  Hello there.  ") == ["Hello there."]
    assert embeds.split_message("   ") == []


def test_split_prefers_the_last_sentence_end_within_the_limit():
    text = "One two three. Four five six. Seven eight nine."
    assert embeds.split_message(text, 32) == ["One two three. Four five six.", "Seven eight nine."]


def test_a_citation_marker_stays_with_its_sentence():
    text = "Aleppo fell. [1] Talks stalled in Geneva. [2] More."
    parts = embeds.split_message(text, 20)
    assert parts[0] == "Aleppo fell. [1]"
    assert all(not p.startswith("[") for p in parts)


def test_split_falls_back_to_words_then_hard_cuts():
    assert embeds.split_message("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]
    assert embeds.split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_at_2000_characters_on_sentence_boundaries():
    sentence = "The convoy reached the eastern districts before dawn on Thursday. "
    text = sentence * 100  # 6,600 characters
    parts = embeds.split_message(text)
    assert len(parts) == 4
    assert all(len(p) <= 2000 for p in parts)
    assert all(p.endswith("Thursday.") for p in parts)
    assert _squash("".join(parts)) == _squash(text)


def test_newlines_count_as_boundaries():
    assert embeds.split_message("first line\nsecond line", 15) == ["first line", "second line"]


def test_split_rejects_a_non_positive_limit():
    with pytest.raises(ValueError):
        embeds.split_message("abc", 0)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n[]1")), max_size=400), st.integers(min_value=1, max_value=60))
def test_split_never_exceeds_the_limit_and_loses_nothing(text, limit):
    parts = embeds.split_message(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p == p.strip() for p in parts)
    assert _squash("".join(parts)) == _squash(text)


# -- shorten, mentions, thread names ----------------------------------------------------------
def test_shorten_keeps_text_that_fits_and_cuts_words_otherwise():
    assert embeds.shorten("short", 10) == "short"
    out = embeds.shorten("alpha beta gamma delta", 14)
    assert out == "alpha beta…" and len(out) <= 14
    assert embeds.shorten("x" * 50, 10) == "x" * 9 + "…"
    assert embeds.shorten("abcdef", 1) == "a"


def test_shorten_cuts_the_word_when_the_last_boundary_is_too_far_back():
    assert embeds.shorten("a " + "x" * 50, 20) == "a " + "x" * 17 + "…"


def test_shorten_on_sentences_when_asked():
    text = "First sentence here. Second sentence is much longer than the first one."
    assert embeds.shorten(text, 40, sentences=True) == "First sentence here.…"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<@123456789012345678> who blocked the resolution?", "who blocked the resolution?"),
        ("<@!123456789012345678>, who blocked it?", "who blocked it?"),
        ("hey <@&987654321098765432> and @everyone and @here: what happened?", "hey and and : what happened?"),
        ("what did <@1> say <@2>", "what did say"),
        ("no mentions at all", "no mentions at all"),
        ("<@123>", ""),
        ("email me@example.com <#123> stays", "email me@example.com <#123> stays"),
    ],
)
def test_strip_mentions(raw, clean):
    assert embeds.strip_mentions(raw) == clean


def test_thread_name_fits_discord():
    assert embeds.thread_name("  who   blocked it?  ") == "who blocked it?"
    long = embeds.thread_name("word " * 60)
    assert len(long) <= embeds.THREAD_NAME_LIMIT and long.endswith("…")
    assert embeds.thread_name("") == "Question"


def test_no_mentions_allows_nobody():
    m = embeds.no_mentions()
    assert (m.everyone, m.users, m.roles, m.replied_user) == (False, False, False, False)


# -- answer embeds over real answers ----------------------------------------------------------
def test_answerable_embed_from_the_engine(engine):
    answer = engine.answer(ANSWERABLE)
    assert answer.answerable and answer.citations and answer.short_answer
    reply = embeds.answer_reply(answer, engine.thresholds)
    embed = reply.embed
    check_limits(embed)
    assert reply.overflow == ()
    assert embed.title == ANSWERABLE
    lead, text = embed.description.split("\n", 1)
    assert lead == f"**{answer.short_answer.text}**"  # the phrase that answers, bold, on the first line
    assert text == answer.answer and "[1]" in text
    assert embed.colour == embeds.ANSWERED_COLOUR
    first = embed.fields[0]
    assert first.name.startswith("[1] ") and "000_7f696d753bde9fea.txt ¶" in first.name
    assert "seven-day cease-fire" in first.value
    word = confidence_word(answer.confidence, engine.thresholds)
    assert embed.footer.text.startswith(f"confidence: {word} · extractive · no LLM · ")
    assert embed.footer.text.endswith(" ms") and word in ("medium", "high")
    assert len(embed.fields) == len(answer.citations)


def test_unanswerable_embed_shows_the_closest_passage(engine):
    answer = engine.answer(UNANSWERABLE)
    assert not answer.answerable and answer.closest and answer.short_answer is None
    embed = embeds.answer_reply(answer, engine.thresholds).embed
    check_limits(embed)
    assert embed.description == "The article doesn't say."  # no bold line
    assert embed.footer.text.startswith("confidence: low · extractive")
    assert embed.colour == embeds.UNANSWERED_COLOUR
    (field,) = embed.fields
    assert (
        field.name.startswith("Closest passage (not an answer)") and f"score {answer.closest.score:.2f}" in field.name
    )
    assert field.value.startswith("“") and field.value[1:40] == answer.closest.quote[:39]


def _passage(i: int, text: str) -> Passage:
    return Passage(
        id=f"p{i}",
        source="seeds/a.txt",
        title="T" * 300,
        paragraph=i,
        start=i * 1000,
        end=i * 1000 + len(text),
        text=text,
    )


def _big_answer(n_citations: int, answer_chars: int, quote_chars: int) -> Answer:
    sentence = "Officials said the evacuation of civilians continued overnight [1]. "
    text = (sentence * (answer_chars // len(sentence) + 1))[:answer_chars]
    quote = ("q" * 9 + " ") * (quote_chars // 10)
    passages = [_passage(i, quote) for i in range(1, n_citations + 1)]
    citations = tuple(
        Citation(n=i, source=p.source, quote=quote, start=p.start, end=p.end, score=0.5, passage_id=p.id, paragraph=i)
        for i, p in enumerate(passages, start=1)
    )
    return Answer(
        question="Q" * 400,
        answer=text,
        answerable=True,
        mode="generative",
        model="m" * 3000,
        note="n" * 2000,
        citations=citations,
        retrieved=tuple(Hit(p, 0.9) for p in passages),
        timings_ms={"total": 12.0},
        dropped_citations=2,
    )


@pytest.mark.parametrize(
    ("n", "chars", "quote"),
    [(1, 100, 50), (3, 5000, 2000), (12, 3900, 1500), (30, 12000, 5000), (25, 4096, 1024)],
)
def test_embeds_stay_within_every_limit(n, chars, quote):
    answer = _big_answer(n, chars, quote)
    reply = embeds.answer_reply(answer, THRESHOLDS)
    check_limits(reply.embed)
    assert all(0 < len(t) <= embeds.MESSAGE_LIMIT for t in reply.overflow)
    shown = reply.embed.description.removesuffix(" … (continued below)")
    assert _squash(shown + "".join(reply.overflow)) == _squash(answer.answer)
    assert "unverifiable citation(s) dropped" in reply.embed.footer.text
    if n > embeds.MAX_SOURCE_FIELDS:
        assert any(
            f.name == "More sources" and f"{n - embeds.MAX_SOURCE_FIELDS} more" in f.value for f in reply.embed.fields
        )


def test_markdown_in_quotes_is_escaped():
    answer = _big_answer(1, 50, 20)
    c = replace(answer.citations[0], quote="*bold* and _it_")
    embed = embeds.answer_reply(replace(answer, citations=(c,)), THRESHOLDS).embed
    assert embed.fields[0].value == "“\\*bold\\* and \\_it\\_”"


def _with_short(answer: Answer, text: str, **changes) -> Answer:
    """`answer` whose first citation quotes `text` inside a sentence, with `text` as its short answer."""
    c = answer.citations[0]
    quote = f"The agency reported from {text} on Friday."
    start = c.start + len("The agency reported from ")
    short = ShortAnswer(text, c.source, start, start + len(text))
    return replace(answer, citations=(replace(c, quote=quote), *answer.citations[1:]), short_answer=short, **changes)


def test_the_short_answer_is_the_first_line_in_bold_escaped_and_defused():
    answer = _with_short(_big_answer(1, 60, 20), "Ham_burg *port* <@123456789012345678>", note=None)
    embed = embeds.answer_reply(answer, THRESHOLDS).embed
    check_limits(embed)
    lead, text = embed.description.split("\n", 1)
    assert lead == "**Ham\\_burg \\*port\\* <@\u200b123456789012345678>**"  # markdown shown as text, no ping
    assert text == answer.answer.strip()


def test_without_a_short_answer_the_description_is_the_answer_alone():
    llm = replace(_big_answer(1, 60, 20), mode="llm", model="openai/gpt-4o-mini", confidence=0.9)
    embed = embeds.answer_reply(llm, THRESHOLDS).embed
    assert embed.description == llm.answer.strip() and not embed.description.startswith("**")
    assert embed.footer.text.startswith("confidence: high · llm · openai/gpt-4o-mini · 12 ms")
    stray = _with_short(_big_answer(1, 60, 20), "Hamburg", answerable=False)  # a refusal never leads with one
    assert not embeds.answer_reply(stray, THRESHOLDS).embed.description.startswith("**")


@pytest.mark.parametrize(
    ("confidence", "word"),
    [(0.0, "low"), (0.1999, "low"), (0.2, "medium"), (0.5999, "medium"), (0.6, "high"), (1.0, "high")],
)
def test_the_footer_words_the_confidence_at_the_thresholds(confidence, word):
    answer = replace(_big_answer(1, 60, 20), confidence=confidence, dropped_citations=0)
    footer = embeds.answer_reply(answer, THRESHOLDS).embed.footer.text
    assert footer.startswith(f"confidence: {word} · generative · ")


@pytest.mark.parametrize(("n", "chars", "quote"), [(1, 100, 50), (12, 3900, 1500), (30, 12000, 5000)])
def test_a_long_short_answer_keeps_every_limit_and_stays_first(n, chars, quote):
    answer = _with_short(_big_answer(n, chars, quote), "Ham *burg* " * 100)  # 1,100 characters of markdown
    reply = embeds.answer_reply(answer, THRESHOLDS)
    check_limits(reply.embed)
    lead, text = reply.embed.description.split("\n", 1)
    assert lead.startswith("**Ham \\*burg\\* ") and lead.endswith("…**")
    assert len(lead) <= 2 * embeds.SHORT_ANSWER_CHARS + 4
    shown = text.removesuffix(" … (continued below)")
    assert _squash(shown + "".join(reply.overflow)) == _squash(answer.answer)  # the lead is never in the overflow


def test_a_draft_is_marked_unfinished_and_stays_within_limits():
    draft = embeds.draft_embed("Who <@123> said *that*?", "They said *so* [1")
    assert draft.title == "Who <@\u200b123> said *that*?" and draft.description == "They said \\*so\\* [1 ▌"
    assert draft.footer.text.startswith("writing…") and not draft.fields
    long = embeds.draft_embed("Q" * 400, "word " * 2000)
    check_limits(long)
    assert long.description.endswith("… ▌") and len(long.title) == embeds.TITLE_LIMIT


# -- sources message --------------------------------------------------------------------------
def _record(rows: tuple[SourceRow, ...], answerable: bool = True) -> StoredAnswer:
    return StoredAnswer(1, "now", 1, 1, 1, 1, "Who?", "They [1]", answerable, "extractive", None, rows)


def test_sources_show_each_passage_in_full_with_the_quote_in_bold(engine):
    answer = engine.answer(ANSWERABLE)
    rows = source_rows(answer)
    messages = sources.sources_messages(_record(rows))
    text = "\n".join(messages)
    for r in rows:
        assert f"**[{r.n}]**" in text and f"¶{r.paragraph}" in text and f"score {r.score:.2f}" in text
        assert discord.utils.escape_markdown(r.passage) in text.replace("**", "") or r.passage in text

    passage = "Before the quote. The quoted words. After it."
    row = SourceRow(1, "seeds/a.txt", "Title", 4, 0.61, "The quoted words.", passage, 100, 118, 135)
    (message,) = sources.sources_messages(_record((row,)))
    assert "> Before the quote. **The quoted words.** After it." in message
    assert "**[1]** Title · `a.txt` ¶4 · chars 118-135 · score 0.61" in message


def test_sources_of_an_unanswered_question_name_the_closest_passage(engine):
    answer = engine.answer(UNANSWERABLE)
    (message,) = sources.sources_messages(_record(source_rows(answer), answerable=False))
    assert "do not answer it" in message and "**Closest passage** (not a citation)" in message
    assert sources.sources_messages(_record((), answerable=False))[0].endswith("nothing close to this question.")


def test_long_sources_are_packed_into_messages_of_2000():
    rows = tuple(SourceRow(i, "s.txt", "", i, 0.5, "q", "word " * 150, 0, 0, 1) for i in range(1, 12))
    messages = sources.sources_messages(_record(rows))
    assert len(messages) > 1 and all(len(m) <= 2000 for m in messages)
    assert sum(m.count("**[") for m in messages) == 11
    huge = SourceRow(1, "s.txt", "", 1, 0.5, "q", "Long sentence here. " * 300, 0, 0, 1)
    assert all(len(m) <= 2000 for m in sources.sources_messages(_record((huge,))))


def test_pack_joins_blocks_until_full():
    assert sources.pack(["a" * 10, "b" * 10, "c" * 10], limit=22) == ["a" * 10 + "\n\n" + "b" * 10, "c" * 10]


# -- /about and the rest -----------------------------------------------------------------------
class Doc:
    def __init__(self, i: int) -> None:
        self.source, self.title, self.passages = f"seeds/doc{i}.txt", f"Document number {i} " * 3, i


def test_about_embed_lists_documents_within_limits():
    embed = embeds.about_embed([Doc(i) for i in range(200)], 12345, "all-MiniLM-L6-v2-int8", "none (extractive)")
    check_limits(embed)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Documents (200)"].endswith("more") and "`doc0.txt` (0 passages)" in fields["Documents (200)"]
    assert fields["Passages"] == "12345"
    assert fields["Embedding model"] == "all-MiniLM-L6-v2-int8" and fields["LLM"] == "none (extractive)"
    empty = embeds.about_embed([], 0, "m", "none (extractive)")
    assert "run `ragbot ingest`" in empty.fields[0].value


def test_answer_without_timings_or_title():
    answer = Answer(question="", answer="", answerable=False, closest=Span("s.txt", "near", 0, 4, 0.1))
    embed = embeds.answer_reply(answer, THRESHOLDS).embed
    assert embed.title is None and embed.description == "…"
    assert embed.footer.text == "confidence: low · extractive · no LLM"
