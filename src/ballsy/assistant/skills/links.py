"""The links skill: turns "play X on Spotify" or "directions to X" into a ready URL.

This module owns the phrase patterns for media, maps and web-search requests
and how each service's URL is built. The client opens `data["url"]`; the reply
text only says what is being opened.

Choices worth knowing:
- A bare "play X" or "watch X" (no service named) goes to YouTube, except for
  things that are clearly not media ("play chess", "play a game with me",
  "play it again"), which fall through to the LLM.
- Only commands that *start* with the verb match, so "I like to play chess" or
  "what is the weather like" are never links.
- Destinations keep their article: "directions to the nearest pharmacy" has
  destination "the nearest pharmacy"; Google Maps resolves it near the user.
  "Where is the nearest pharmacy" is a maps *search* for "pharmacy".
- Spotify's search is a path (`/search/relaxing%20jazz`), so it is quoted with
  `quote` (spaces become %20); query-string services use `urlencode` (+).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from .base import SkillContext, SkillReply, is_english

Service = Literal["youtube", "spotify", "maps", "web"]
Action = Literal["search", "directions", "play"]

# Longer requests are dictation or pasted text, not a command to open a link.
MAX_UTTERANCE_CHARS = 300

_POLITE_PREFIX = re.compile(
    r"^(?:(?:please|can you|could you|would you|will you|hey|ok|okay|go ahead and)[\s,]+)+",
    re.IGNORECASE,
)
_FILLER_SUFFIX = re.compile(r"(?:[\s,]+(?:please|for me|now|right now))+$", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|how|when|why|who|is|are|will|do|does|can|should)\b", re.IGNORECASE
)
# "play ..." requests that are about games or playback control, not media to find.
_NOT_MEDIA = re.compile(
    r"^(?:(?:a|an|the|some)\s+)?(?:game|games|chess|checkers|trivia|quiz|round|riddle|pretend|"
    r"hide and seek|twenty questions|20 questions|rock paper scissors|i spy|tic tac toe|"
    r"it|that|this|again|along|next|previous|back|out|over|me|yourself|your)\b"
    r"|\bwith (?:me|us)\b",
    re.IGNORECASE,
)


def _always(query: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    service: Service
    action: Action
    reply: str  # str.format template with {query}
    # Last word on a match, for patterns that would otherwise be too eager.
    accepts: Callable[[str], bool] = _always


def _route(
    pattern: str,
    service: Service,
    action: Action,
    reply: str,
    accepts: Callable[[str], bool] = _always,
) -> _Route:
    return _Route(re.compile(pattern, re.IGNORECASE), service, action, reply, accepts)


def _is_media(query: str) -> bool:
    return _NOT_MEDIA.search(query) is None


def _is_specific(query: str) -> bool:
    # "look it up" refers back to the conversation; only the LLM knows what "it" is.
    return query.lower() not in ("it", "that", "this", "them", "those", "something")


def _is_thing(query: str) -> bool:
    # "what's the weather near me" is a question for the LLM, not a place.
    return _QUESTION_START.search(query) is None


_ON = r"\s+(?:on|in|using|with|from)\s+"
_SPOTIFY = "Playing {query} on Spotify."
_YOUTUBE = "Playing {query} on YouTube."
_YOUTUBE_RESULTS = "Here are YouTube results for {query}."
_NEAR = "Here are places for {query} near you."
_WEB = "Here are search results for {query}."

# First match wins, so explicit services come before the bare "play"/"watch".
ROUTES: tuple[_Route, ...] = (
    _route(rf"(?:play|put\s+on|listen\s+to|start)\s+(?P<q>.+?){_ON}spotify",
           "spotify", "play", _SPOTIFY),
    _route(rf"(?:search\s+for|search|look\s+up|find)\s+(?P<q>.+?){_ON}spotify",
           "spotify", "search", "Here are Spotify results for {query}."),
    _route(r"(?:search|open)\s+spotify\s+for\s+(?P<q>.+)",
           "spotify", "search", "Here are Spotify results for {query}."),
    _route(r"spotify\s+(?P<q>.+)", "spotify", "play", _SPOTIFY),
    _route(rf"(?:play|put on|watch|show me|start)\s+(?P<q>.+?){_ON}youtube",
           "youtube", "play", _YOUTUBE),
    _route(rf"(?:search\s+for|search|look\s+up|find)\s+(?P<q>.+?){_ON}youtube",
           "youtube", "search", _YOUTUBE_RESULTS),
    _route(r"(?:search|open)\s+youtube\s+for\s+(?P<q>.+)", "youtube", "search", _YOUTUBE_RESULTS),
    _route(r"youtube\s+(?:search\s+)?(?:for\s+)?(?P<q>.+)", "youtube", "search", _YOUTUBE_RESULTS),
    _route(r"(?:show me|find)\s+(?:some\s+)?(?:videos?|clips?)\s+(?:of|about|on|for)\s+(?P<q>.+)",
           "youtube", "search", _YOUTUBE_RESULTS),
    _route(r"(?:get\s+|give me\s+|show me\s+|find\s+)?directions\s+(?:to|for)\s+(?P<q>.+)",
           "maps", "directions", "Here are directions to {query}."),
    _route(r"(?:how\s+(?:do|can|should)\s+(?:i|we)\s+get\s+to|navigate\s+(?:me\s+)?to|"
           r"take\s+me\s+to|(?:show\s+me\s+|find\s+|get\s+)?(?:the\s+|a\s+)?route\s+to)\s+(?P<q>.+)",
           "maps", "directions", "Here are directions to {query}."),
    _route(r"(?:where\s+is|where's|wheres|find|show\s+me)\s+(?:the\s+|a\s+)?(?:nearest|closest)"
           r"\s+(?P<q>.+)", "maps", "search", _NEAR),
    _route(r"(?:find|show\s+me|search\s+for|look\s+for|where\s+are|where\s+is|where's|any)\s+"
           r"(?:a\s+|an\s+|the\s+|some\s+)?(?P<q>.+?)\s+near\s+(?:me|here|by)",
           "maps", "search", _NEAR),
    _route(r"(?:the\s+)?(?:nearest|closest)\s+(?P<q>.+)", "maps", "search", _NEAR),
    _route(r"(?P<q>.+?)\s+near\s+(?:me|here)", "maps", "search", _NEAR, _is_thing),
    _route(r"(?:show|show\s+me|find|locate|put)\s+(?P<q>.+?)\s+on\s+(?:the\s+|a\s+)?map",
           "maps", "search", "Here's {query} on the map."),
    _route(r"(?:search\s+for|search|look\s+up|find)\s+(?P<q>.+?)\s+(?:online|on\s+the\s+(?:web|internet)|"
           r"on\s+google)", "web", "search", _WEB, _is_specific),
    _route(r"(?:search\s+(?:the\s+(?:web|internet)\s+|online\s+|google\s+)?for|google(?:\s+for)?|"
           r"look\s+up|search)\s+(?P<q>.+)", "web", "search", _WEB, _is_specific),
    _route(r"look\s+(?P<q>.+?)\s+up", "web", "search", _WEB, _is_specific),
    _route(r"(?:watch|play|put\s+on)\s+(?P<q>.+)", "youtube", "play", _YOUTUBE, _is_media),
    _route(r"(?:show\s+me|find)\s+(?P<q>.+?)\s+videos?", "youtube", "search", _YOUTUBE_RESULTS),
)  # fmt: skip


def build_url(service: Service, action: Action, query: str) -> str:
    """The URL that opens `query` on `service`."""
    if service == "spotify":
        return "https://open.spotify.com/search/" + quote(query, safe="")
    if service == "youtube":
        return "https://www.youtube.com/results?" + urlencode({"search_query": query})
    if service == "maps" and action == "directions":
        return "https://www.google.com/maps/dir/?" + urlencode({"api": "1", "destination": query})
    if service == "maps":
        return "https://www.google.com/maps/search/?" + urlencode({"api": "1", "query": query})
    return "https://www.google.com/search?" + urlencode({"q": query})


def _clean_command(text: str) -> str:
    command = " ".join(text.split()).strip(" .!?,;:")
    command = _POLITE_PREFIX.sub("", command)
    return _FILLER_SUFFIX.sub("", command).strip(" .!?,;:")


def _clean_query(query: str, service: Service) -> str:
    query = _FILLER_SUFFIX.sub("", query).strip(" .!?,;:\"'“”‘’")
    if service == "spotify":
        # "play some relaxing jazz music on spotify" searches for "relaxing jazz".
        query = re.sub(r"^some\s+", "", query, flags=re.IGNORECASE)
        query = re.sub(r"(?<=\S)\s+music$", "", query, flags=re.IGNORECASE)
    return query


class LinksSkill:
    """YouTube, Spotify, Google Maps and Google search links."""

    name = "links"

    def answer(self, text: str, context: SkillContext) -> SkillReply | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        command = _clean_command(text)
        for route in ROUTES:
            match = route.pattern.fullmatch(command)
            if match is None:
                continue
            query = _clean_query(match.group("q"), route.service)
            if not query or not route.accepts(query):
                continue
            url = build_url(route.service, route.action, query)
            return SkillReply(
                skill=self.name,
                text=route.reply.format(query=query),
                data={"service": route.service, "action": route.action, "query": query, "url": url},
            )
        return None
