"""Reactions: a phone turning a tap on our message into a text that quotes it.

A reaction never means what it quotes: ``Liked “Reply STOP to opt out”`` is a thumbs-up,
not a STOP. The forms recognised, whole-message only:

- iPhone tapbacks: ``Liked``, ``Loved``, ``Disliked``, ``Laughed at``, ``Emphasized`` (or
  ``Emphasised``), ``Questioned`` followed by the quoted message; the iOS 18 any-emoji
  reaction ``Reacted 😂 to “...”``; removals ``Removed a like from “...”``, ``Removed 😂
  from “...”``; reactions to a picture (``Liked an image``). Spanish iPhones say ``Le
  gusta “...”``, ``Le encantó``, ``Se rió de``, ``Enfatizó``, ``Cuestionó``...
- Google Messages, which wraps the same words in invisible delimiters: a hair space
  (U+200A) around the parts and a zero-width space (U+200B; U+200C for a removal) around
  the emoji. The delimiters, not the words, carry the structure, so every language is
  recognised. A carrier that drops them leaves ``Reacted 😂 to ...`` with no quotes; that
  is recognised too, as long as what sits between the verb and ``to`` is not a word.
"""

from __future__ import annotations

import re

# On the raw text: Google Messages' delimiters survive only there.
_GOOGLE = re.compile(
    r"^[ \t]*\u200a[^\u200a]*([\u200b\u200c])[^\u200a]*\1[^\u200a]*\u200a.*\u200a\s*$",
    re.DOTALL)

_QUOTE = r"(?:\"|'|<<|``|,,)"
_EMOJI = r"[^\w\s\"'<`,]{1,12}"  # one emoji, possibly with joiners and modifiers (folded)
_REMOVED_WHAT = (r"(?:an? )?(?:heart|like|dislike|laugh|haha|exclamation(?: mark)?|"
                 r"emphasis|question(?: mark)?|" + _EMOJI + r")(?: reaction| tapback)?")
_ES_WHAT = r"(?:(?:un|una|el|la|su) )?(?:me gusta|corazon|risa|exclamacion|pregunta|" \
    + _EMOJI + r")"
_IPHONE = re.compile(
    r"^\s*(?:"
    r"(?:liked|loved|disliked|laughed at|emphasi[sz]ed|questioned|"
    r"reacted(?: with)?(?: " + _EMOJI + r"| a sticker)? to|"
    r"removed " + _REMOVED_WHAT + r" from|"
    r"le gusta|le gusto|le encanta|le encanto|no le gusta|no le gusto|le hace gracia|"
    r"le hizo gracia|se rio de|se ha reido de|le divierte|le divirtio|enfatizo|resalto|"
    r"destaco|cuestiono|pregunto por|reacciono(?: con " + _EMOJI + r")? a|"
    r"(?:elimino|quito|removio) " + _ES_WHAT + r" de)"
    r"\s*" + _QUOTE
    + r"|(?:liked|loved|disliked|laughed at|emphasi[sz]ed|questioned|le gusta|le encanta)"
    r" (?:an image|a photo|a picture|a video|an attachment|a movie|a gif|a sticker|"
    r"an audio message|una imagen|una foto|un video)\s*$"
    r")",
    re.IGNORECASE | re.DOTALL)
# Google's words once a carrier has dropped the invisible delimiters.
_GOOGLE_BARE = re.compile(
    r"^\s*(?:reacted " + _EMOJI + r" to|removed " + _EMOJI + r" from)\s+\S", re.IGNORECASE)


def reaction(raw: str, folded: str) -> str | None:
    """The rule that recognised ``raw`` as a reaction (``tapback``, ``reaction:google``),
    or None. ``folded`` is ``raw`` through :func:`normalise.fold`."""
    if "\u200a" in raw and _GOOGLE.match(raw):
        return "reaction:google"
    head = folded[:300]
    if _IPHONE.match(head):
        return "tapback"
    if _GOOGLE_BARE.match(head):
        return "reaction:google"
    return None
