"""The keyword engine: a table of what people actually reply, and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.compliance.keywords import InboundIntent, classify

OUT = InboundIntent.OPT_OUT
IN = InboundIntent.OPT_IN
HELP = InboundIntent.HELP
COMPLAINT = InboundIntent.COMPLAINT
NONE = InboundIntent.NONE

CASES: list[tuple[str, InboundIntent]] = [
    # -- PRODUCT.md's exact words, any case, punctuation and whitespace around --------------
    ("STOP", OUT), ("stop", OUT), ("Stop", OUT), ("sToP", OUT), ("  stop  ", OUT),
    ("STOP.", OUT), ("Stop!", OUT), ("STOP!!!", OUT), ("\"STOP\"", OUT), ("(stop)", OUT),
    ("stop\n", OUT), ("\tSTOP\r\n", OUT), ("STOPALL", OUT), ("Stop All", OUT),
    ("END", OUT), ("end.", OUT), ("QUIT", OUT), ("quit!", OUT), ("CANCEL", OUT),
    ("cancel", OUT), ("UNSUBSCRIBE", OUT), ("Unsubscribe.", OUT), ("UNSUB", OUT),
    ("unsub", OUT), ("REMOVE ME", OUT), ("remove me", OUT), ("Remove me!", OUT),
    ("OPT OUT", OUT), ("opt-out", OUT), ("Opt Out", OUT), ("OPTOUT", OUT), ("optout", OUT),
    ("REVOKE", OUT), ("revoke", OUT), ("BLOCK", OUT), ("block", OUT), ("WRONG", OUT),
    ("wrong", OUT), ("Wrong number", OUT), ("wrong #", OUT),
    # -- misspellings of STOP and UNSUBSCRIBE ------------------------------------------------
    ("STPO", OUT), ("stopp", OUT), ("SOTP", OUT), ("STP", OUT), ("tsop", OUT),
    ("sstop", OUT), ("stoop", OUT), ("srop", OUT), ("stoo", OUT), ("stpp", OUT),
    ("STOPPPP", OUT), ("stopppp", OUT), ("Stoooop", OUT), ("STOPPPPP!!!", OUT),
    ("st000p", OUT), ("s t o p p p", OUT), ("Stoppp texting me", OUT),
    ("unsubscribeeee", OUT), ("pleaseeee stop", OUT), ("STOPPP ALL", OUT),
    ("unsubcribe", OUT), ("unsubscibe", OUT), ("unsuscribe", OUT), ("unsubscrib", OUT),
    ("unsubscirbe", OUT), ("unsubsribe", OUT), ("unsusbcribe", OUT), ("unsubb", OUT),
    ("cancell", OUT), ("cancle", OUT), ("optuot", OUT), ("qiut", OUT),
    # -- digit, symbol and space disguises ------------------------------------------------
    ("st0p", OUT), ("ST0P", OUT), ("5top", OUT), ("$top", OUT), ("$T0P", OUT),
    ("s t o p", OUT), ("S T O P", OUT), ("s.t.o.p", OUT), ("S-T-O-P", OUT),
    ("s_t_o_p", OUT), ("s  t  o  p", OUT), ("st op", OUT), ("unsubscr1be", OUT),
    ("un subscribe", OUT), ("0pt 0ut", OUT), ("qu1t", OUT), ("3nd", OUT),
    # -- Unicode look-alikes and compatibility forms --------------------------------------
    ("ЅТОР", OUT), ("ѕтор", OUT), ("ＳＴＯＰ", OUT), ("𝐒𝐓𝐎𝐏", OUT), ("ⓢⓣⓞⓟ", OUT),
    ("STO\u200bP", OUT), ("stóp", OUT), ("sТоP", OUT), ("ѕтoр", OUT),
    # -- phrases ---------------------------------------------------------------------------
    ("stop texting me", OUT), ("Stop texting me please", OUT), ("please stop", OUT),
    ("Please STOP", OUT), ("stop please", OUT), ("STOP thanks", OUT),
    ("do not text", OUT), ("do not text me again", OUT), ("Don't text me", OUT),
    ("dont message me", OUT), ("no more texts", OUT), ("No more messages please", OUT),
    ("take me off your list", OUT), ("Take me off the list", OUT),
    ("remove me from your list", OUT), ("remove my number", OUT),
    ("why are you texting me", OUT), ("Why r u texting me?", OUT),
    ("who gave you my number", OUT), ("leave me alone", OUT), ("lose my number", OUT),
    ("you have the wrong number", OUT), ("not interested", OUT),
    ("I never signed up for this", OUT), ("i didnt sign up for this", OUT),
    ("cancel my subscription", OUT), ("cancel these texts", OUT), ("quit it", OUT),
    ("stop it", OUT), ("stop sending me these", OUT), ("please stop messaging me", OUT),
    ("I will block this number", OUT), ("opt me out", OUT), ("unsubscribe me", OUT),
    ("how do I unsubscribe", OUT), ("STOP STOP STOP", OUT), ("Stop. Who is this?", OUT),
    ("ok stop", OUT), ("Yes stop", OUT), ("no stop", OUT), ("stop now", OUT),
    ("STOP 2", OUT), ("Stop 🛑", OUT), ("👎 STOP", OUT), ("just stop", OUT),
    ("make it stop", OUT), ("you need to stop", OUT), ("i said stop", OUT),
    ("stop contacting me", OUT), ("end these texts", OUT), ("quit texting me", OUT),
    # -- Spanish ------------------------------------------------------------------------
    ("ALTO", OUT), ("alto", OUT), ("PARAR", OUT), ("parar", OUT), ("BAJA", OUT),
    ("baja", OUT), ("Cancelar", OUT), ("no mas", OUT), ("No más mensajes", OUT),
    ("no me envies mensajes", OUT), ("basta", OUT),
    # -- opt-in --------------------------------------------------------------------------
    ("START", IN), ("start", IN), ("Start.", IN), ("UNSTOP", IN), ("unstop", IN),
    ("YES", IN), ("yes", IN), ("Yes!", IN), ("yes please", IN), ("SUBSCRIBE", IN),
    ("subscribe", IN), ("resubscribe", IN), ("opt in", IN), ("OPT-IN", IN),
    # -- help ----------------------------------------------------------------------------
    ("HELP", HELP), ("help", HELP), ("Help?", HELP), ("help me", HELP), ("INFO", HELP),
    ("info", HELP), ("AYUDA", HELP), ("help please", HELP),
    # -- complaints ----------------------------------------------------------------------
    ("spam", COMPLAINT), ("SPAM", COMPLAINT), ("This is spam", COMPLAINT),
    ("scam", COMPLAINT), ("SCAM!", COMPLAINT), ("this is a scam", COMPLAINT),
    ("reported", COMPLAINT), ("Reported as spam", COMPLAINT), ("stop spamming me", COMPLAINT),
    ("scammer", COMPLAINT), ("I am reporting you to the FTC", COMPLAINT),
    ("Is this spam?", COMPLAINT), ("fraud", COMPLAINT), ("STOP this is spam", COMPLAINT),
    # -- false positives: not an opt-out -------------------------------------------------
    ("stop by the store", NONE), ("I'll stop by later", NONE), ("don't stop", NONE),
    ("don’t stop", NONE), ("Don't stop!", NONE), ("can't stop laughing", NONE),
    ("I can't stop", NONE), ("never stop", NONE), ("won't stop", NONE),
    ("can't stop won't stop", NONE), ("the bus stop", NONE), ("at the bus stop", NONE),
    ("stop sign ahead", NONE), ("one stop shop", NONE), ("non stop deals", NONE),
    ("pit stop", NONE), ("I will stop at the bank", NONE), ("stop in anytime", NONE),
    ('Liked “Reply STOP to opt out”', NONE), ('Loved "STOP"', NONE),
    ('Disliked “Get 50% off! Reply STOP to end”', NONE), ('Laughed at “stop”', NONE),
    ('Emphasized “Reply STOP to unsubscribe”', NONE), ('Questioned “STOP?”', NONE),
    ('Reacted 👍 to “Reply STOP to opt out”', NONE),
    ("😡", NONE), ("👍", NONE), ("🛑", NONE), ("😂😂😂", NONE), ("❤️", NONE), ("...", NONE),
    ("?", NONE), ("", NONE), ("   ", NONE), ("123", NONE),
    ("shop", NONE), ("top", NONE), ("spot", NONE), ("step", NONE), ("atop", NONE),
    ("quite", NONE), ("cancer", NONE), ("the end", NONE), ("weekend", NONE),
    ("who is this", NONE), ("Thanks!", NONE), ("ok", NONE), ("No", NONE),
    ("Where is my order?", NONE), ("sounds good", NONE), ("lol", NONE),
    ("I love this deal", NONE), ("What time does the sale end?", NONE),
    ("This is not spam", NONE), ("call me later", NONE), ("stopwatch", NONE),
    ("unstoppable", NONE), ("blockchain", NONE), ("endless summer", NONE),
    ("soooo good", NONE), ("Toooop deal", NONE), ("stoooop by the store", NONE),
    ("HELPPP", HELP), ("Yesssss", IN),
]


def test_the_table_is_big_enough():
    assert len(CASES) >= 150
    assert len({text for text, _ in CASES}) == len(CASES), "duplicate cases"


@pytest.mark.parametrize(("text", "intent"), CASES, ids=[repr(t)[:40] for t, _ in CASES])
def test_classify(text: str, intent: InboundIntent):
    match = classify(text)
    assert match.intent == intent, (text, match)
    assert match.rule  # every answer names the rule that decided it


def test_match_carries_rule_and_keyword():
    match = classify("st0p")
    assert (match.intent, match.rule, match.keyword, match.opt_out) == (
        OUT, "exact:stop", "STOP", True)
    assert classify("STPO").rule == "fuzzy:stop"
    assert classify("no more texts").rule == "phrase:no_more_texts"
    assert classify('Liked “STOP”').rule == "tapback"
    assert classify("👍").rule == "no_text"
    assert classify("ALTO").keyword == "ALTO"


def test_complaints_say_whether_they_also_ask_to_stop():
    assert classify("stop spamming me").opt_out is True
    assert classify("STOP this is spam").opt_out is True
    assert classify("this is spam").opt_out is False
    assert classify("spam").opt_out is False


def test_never_raises_on_odd_input():
    for odd in [None, "\x00", "\ud800", "a" * 100_000, "s" * 5000 + "top", "💩" * 1000,
                "\u202estop", "\r\n" * 50]:
        classify(odd)  # type: ignore[arg-type]


_WORDS = st.sampled_from([
    "stop", "STOP", "st0p", "please", "texting", "me", "by", "the", "store", "dont", "no",
    "more", "texts", "help", "start", "yes", "spam", "unsubscribe", "s", "t", "o", "p",
    "Liked", "“hi”", "😡", "!", ".", "Stop!", "end", "quit", "cancel", "ALTO",
])
_MESSAGES = st.one_of(
    st.text(max_size=60),
    st.lists(_WORDS, max_size=6).map(" ".join),
    st.text(alphabet="stopSTOP0$5 .!-'\t\n", max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(_MESSAGES)
def test_never_raises_and_is_deterministic(text: str):
    first = classify(text)
    assert classify(text) == first


@settings(max_examples=400, deadline=None)
@given(_MESSAGES)
def test_case_insensitive(text: str):
    expected = classify(text)
    assert classify(text.upper()) == expected
    assert classify(text.lower()) == expected
    assert classify(text.swapcase()) == expected


@settings(max_examples=400, deadline=None)
@given(_MESSAGES, st.sampled_from([" ", "  ", "\t", "\n", " \r\n ", "\u00a0"]))
def test_whitespace_insensitive(text: str, space: str):
    expected = classify(text)
    respaced = space + re.sub(r"\s+", lambda m: m.group(0) + space, text) + space
    assert classify(respaced) == expected


# -- explainable decisions and the review flag --------------------------------------------


@pytest.mark.parametrize(("text", "rule"), [
    ("STOP", "exact:stop"),
    ("I withdraw my consent", "phrase:revoke_consent"),
    ("sáquenme de su lista", "phrase:es_remove_me"),
    ("put me back on the list", "phrase:add_me_back"),
    ("can someone help me", "phrase:help_me"),
    ("how do I unsubscribe", "token:unsubscribe"),
    ("Reply STOP to cancel", "quote:reply_stop"),
    ("Reacted 😂 to “Reply STOP to opt out”", "tapback"),
    ("\u200aReacted \u200b👍\u200b to \u200aReply STOP\u200a\u200a", "reaction:google"),
])
def test_the_rule_that_decided_is_named(text: str, rule: str):
    assert classify(text).rule == rule


@pytest.mark.parametrize(("text", "set_aside"), [
    ("please never stop these", "negation:quit_it"),
    ("I don't want to unsubscribe", "negation:unsubscribe"),
    ("Meet me at the next stop", "sense:stop"),
    ("Stop & Shop has the same price", "name:stop"),
    ("Will I lose my points if I unsubscribe?", "hypothetical:unsubscribe"),
    ("\"Reply STOP to opt out\" lol no way, keep the deals coming", "quote:reply_stop"),
    ("What does reply stop do?", "question:asks_about_stop"),
])
def test_a_none_that_set_an_opt_out_word_aside_says_which_rule_and_asks_for_review(
        text: str, set_aside: str):
    match = classify(text)
    assert (match.intent, match.rule, match.set_aside, match.needs_review) == (
        NONE, set_aside, set_aside, True)


def test_a_none_holding_an_opt_out_word_asks_for_review():
    assert classify("When does the sale end?").needs_review is True
    assert classify("El fin de semana").needs_review is True


def test_a_stop_sent_by_mistake_resubscribes_and_asks_for_review():
    match = classify("I accidentally texted stop, please add me back")
    assert (match.intent, match.needs_review) == (IN, True)


@pytest.mark.parametrize("text", [
    "Thanks!", "Where is my order?", "👍", "", "Para mi esposa", "I love Spam musubi",
    'Liked “Reply STOP to opt out”', "Reacted 😂 to “Reply STOP to opt out”",
])
def test_nothing_to_review(text: str):
    assert classify(text).needs_review is False


@pytest.mark.parametrize("text", ["STOP", "stop texting me", "spam", "STOP this is spam"])
def test_opt_outs_and_complaints_are_never_up_for_review(text: str):
    assert classify(text).needs_review is False
