"""The links skill: which phrasings open which service, with exact URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ballsy.assistant.skills import SkillContext
from ballsy.assistant.skills.links import LinksSkill, build_url

CONTEXT = SkillContext(now=datetime(2026, 11, 23, 15, 7, tzinfo=UTC))
SKILL = LinksSkill()

SPOTIFY = "https://open.spotify.com/search/"
YOUTUBE = "https://www.youtube.com/results?search_query="
DIRECTIONS = "https://www.google.com/maps/dir/?api=1&destination="
MAP_SEARCH = "https://www.google.com/maps/search/?api=1&query="
WEB = "https://www.google.com/search?q="


@pytest.mark.parametrize(
    ("text", "service", "action", "query", "url"),
    [
        # Spotify: a path segment, so spaces are %20.
        ("play relaxing jazz on Spotify", "spotify", "play", "relaxing jazz",
         SPOTIFY + "relaxing%20jazz"),
        ("play some relaxing jazz music on spotify", "spotify", "play", "relaxing jazz",
         SPOTIFY + "relaxing%20jazz"),
        ("Can you play AC/DC on Spotify please?", "spotify", "play", "AC/DC", SPOTIFY + "AC%2FDC"),
        ("listen to Daft Punk on spotify", "spotify", "play", "Daft Punk",
         SPOTIFY + "Daft%20Punk"),
        ("spotify Daft Punk", "spotify", "play", "Daft Punk", SPOTIFY + "Daft%20Punk"),
        ("search spotify for sea shanties", "spotify", "search", "sea shanties",
         SPOTIFY + "sea%20shanties"),
        ("search for podcasts on spotify", "spotify", "search", "podcasts", SPOTIFY + "podcasts"),
        # YouTube
        ("play despacito on youtube", "youtube", "play", "despacito", YOUTUBE + "despacito"),
        ("Play Bohemian Rhapsody on YouTube.", "youtube", "play", "Bohemian Rhapsody",
         YOUTUBE + "Bohemian+Rhapsody"),
        ("youtube cat videos", "youtube", "search", "cat videos", YOUTUBE + "cat+videos"),
        ("search youtube for lofi beats", "youtube", "search", "lofi beats",
         YOUTUBE + "lofi+beats"),
        ("search for cats on youtube", "youtube", "search", "cats", YOUTUBE + "cats"),
        ("watch the office bloopers", "youtube", "play", "the office bloopers",
         YOUTUBE + "the+office+bloopers"),
        ("show me videos of baby otters", "youtube", "search", "baby otters",
         YOUTUBE + "baby+otters"),
        ("show me cat videos", "youtube", "search", "cat", YOUTUBE + "cat"),
        ("play despacito", "youtube", "play", "despacito", YOUTUBE + "despacito"),
        ("play rock & roll", "youtube", "play", "rock & roll", YOUTUBE + "rock+%26+roll"),
        # Maps directions keep the article of the destination.
        ("directions to the nearest pharmacy", "maps", "directions", "the nearest pharmacy",
         DIRECTIONS + "the+nearest+pharmacy"),
        ("get directions to Berlin Hauptbahnhof", "maps", "directions", "Berlin Hauptbahnhof",
         DIRECTIONS + "Berlin+Hauptbahnhof"),
        ("how do I get to the Eiffel Tower?", "maps", "directions", "the Eiffel Tower",
         DIRECTIONS + "the+Eiffel+Tower"),
        ("navigate to 10 Downing Street", "maps", "directions", "10 Downing Street",
         DIRECTIONS + "10+Downing+Street"),
        ("take me to the airport please", "maps", "directions", "the airport",
         DIRECTIONS + "the+airport"),
        ("route to Café Müller", "maps", "directions", "Café Müller",
         DIRECTIONS + "Caf%C3%A9+M%C3%BCller"),
        # Maps search
        ("find coffee near me", "maps", "search", "coffee", MAP_SEARCH + "coffee"),
        ("where is the nearest pharmacy", "maps", "search", "pharmacy", MAP_SEARCH + "pharmacy"),
        ("where's the closest gas station?", "maps", "search", "gas station",
         MAP_SEARCH + "gas+station"),
        ("pizza near me", "maps", "search", "pizza", MAP_SEARCH + "pizza"),
        ("nearest ATM", "maps", "search", "ATM", MAP_SEARCH + "ATM"),
        ("show Paris on the map", "maps", "search", "Paris", MAP_SEARCH + "Paris"),
        # Web
        ("search for best pizza recipes", "web", "search", "best pizza recipes",
         WEB + "best+pizza+recipes"),
        ("google cute cats", "web", "search", "cute cats", WEB + "cute+cats"),
        ("look up the weather in Paris", "web", "search", "the weather in Paris",
         WEB + "the+weather+in+Paris"),
        ("search the web for python typing", "web", "search", "python typing",
         WEB + "python+typing"),
        ("look Marie Curie up", "web", "search", "Marie Curie", WEB + "Marie+Curie"),
        ("search C++ templates online", "web", "search", "C++ templates",
         WEB + "C%2B%2B+templates"),
        ("search for 2 plus 2", "web", "search", "2 plus 2", WEB + "2+plus+2"),
    ],
)  # fmt: skip
def test_links(text: str, service: str, action: str, query: str, url: str) -> None:
    reply = SKILL.answer(text, CONTEXT)
    assert reply is not None, text
    assert reply.skill == "links"
    assert reply.data == {"service": service, "action": action, "query": query, "url": url}


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("play relaxing jazz on Spotify", "Playing relaxing jazz on Spotify."),
        ("directions to the nearest pharmacy", "Here are directions to the nearest pharmacy."),
        ("play despacito", "Playing despacito on YouTube."),
        ("search youtube for lofi beats", "Here are YouTube results for lofi beats."),
        ("where is the nearest pharmacy", "Here are places for pharmacy near you."),
        ("show Paris on the map", "Here's Paris on the map."),
        ("google cute cats", "Here are search results for cute cats."),
    ],
)
def test_reply_text(text: str, spoken: str) -> None:
    reply = SKILL.answer(text, CONTEXT)
    assert reply is not None
    assert reply.text == spoken


@pytest.mark.parametrize(
    "text",
    [
        "what is the weather like",
        "what's the weather near me",
        "I like to play chess",
        "play chess",
        "play a game with me",
        "let's play a game",
        "play it again",
        "play the next song",
        "watch out",
        "look it up",
        "search",
        "google",
        "play",
        "tell me a joke",
        "what is the nearest star to earth",
        "how far is the moon",
        "where is Paris",
        "",
        "🙂",
        "play " + "x" * 400,
    ],
)
def test_not_links(text: str) -> None:
    assert SKILL.answer(text, CONTEXT) is None


def test_only_answers_in_english() -> None:
    french = SkillContext(now=CONTEXT.now, language="fr")
    assert SKILL.answer("play jazz on spotify", french) is None


def test_build_url_quotes_reserved_characters() -> None:
    assert build_url("web", "search", "a&b=c?d#e") == WEB + "a%26b%3Dc%3Fd%23e"
    assert build_url("spotify", "play", "a b/c?") == SPOTIFY + "a%20b%2Fc%3F"
