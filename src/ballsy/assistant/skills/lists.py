"""The lists skill: named lists the user adds to, removes from, reads back and clears.

"Add eggs, milk and two loaves of bread to my shopping list" adds three items (split
on commas, "and", "plus", "&"), kept as said. A list is named by the word(s) before
"list" ("shopping", "packing"; "grocery" is the shopping list, "todo" the "to do"
list). "My list" with no name is the user's only list, or the shopping list.
Known limit: an item that itself contains "and" ("mac and cheese") becomes two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .base import SkillContext, is_english
from .personal import PersonalReply, PersonalStore, reply
from .wording import normalise, speak_items

NAME = "lists"
MAX_UTTERANCE_CHARS = 300
MAX_ITEM_CHARS = 200
DEFAULT_LIST = "shopping"
_ALIASES = {"grocery": "shopping", "groceries": "shopping", "todo": "to do", "to do": "to do"}

_OWNER = r"(?:(?:my|the|our|a)\s+)?"
_NAME = r"(?P<name>(?:(?!(?:my|the|our|back|me)\b)[a-z'][a-z']{0,20}\s+){1,3})?"
_LIST = rf"{_OWNER}{_NAME}list"
_ADD = re.compile(
    rf"^(?:add|put|stick|throw|write|include|append)\s+(?P<items>.+?)\s+(?:to|on|onto|in|into)\s+{_LIST}$"
)
_REMOVE = re.compile(
    rf"^(?:remove|delete|take|cross|scratch|strike|drop)\s+(?P<items>.+?)\s+"
    rf"(?:off of|off|from|out of)\s+{_LIST}$"
)
_READ = re.compile(
    rf"^(?:(?:what's|whats|what is|what's left|what else is|what do i have|what have i got)"
    rf"\s+(?:on|in)\s+|(?:read|read me|read out|read back|tell me|show me|show|go through)"
    rf"\s+(?:me\s+)?){_LIST}(?:\s+back)?$"
)
_CLEAR = re.compile(
    rf"^(?:clear|empty|wipe|reset|erase|clean out"
    rf"|(?:delete|remove|take|cross|scratch|strike|drop)\s+"
    rf"(?:everything|all(?:\s+(?:of\s+)?the)?(?:\s+(?:items|things))?)"
    rf"\s+(?:on|from|in|off of|off|out of))"
    rf"\s+(?:out\s+)?{_LIST}$"
)
_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+plus\s+")
_ARTICLE = re.compile(r"^(?:all\s+(?:of\s+)?the|some|a|an|the)\s+")  # not "all purpose flour"


def list_name(said: str | None) -> str | None:
    if said is None:
        return None
    name = said.strip()
    return _ALIASES.get(name, name) or None


def split_items(said: str) -> list[str]:
    """ "eggs, milk and two loaves of bread" → ["eggs", "milk", "two loaves of bread"]."""
    items: list[str] = []
    for part in _SPLIT.split(said):
        item = _ARTICLE.sub("", part.strip(" ,.")).strip()[:MAX_ITEM_CHARS]
        if item and item not in items:
            items.append(item)
    return items


async def _resolve(store: PersonalStore, name: str | None) -> str:
    if name is not None:
        return name
    names = await store.list_names()
    return names[0] if len(names) == 1 else DEFAULT_LIST


def _counted(count: int) -> str:
    return "one item" if count == 1 else f"{count} items"


@dataclass(frozen=True, slots=True)
class AddItems:
    name: str | None
    items: tuple[str, ...]

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        name, items = await _resolve(store, self.name), list(self.items)
        text = f"I added {speak_items(items)} to your {name} list."

        async def add(store: PersonalStore) -> object:
            await store.add_items(name, items)
            return None

        return PersonalReply(reply(NAME, text, action="add", list=name, items=items).reply, add)


@dataclass(frozen=True, slots=True)
class RemoveItems:
    name: str | None
    items: tuple[str, ...]

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        name = await _resolve(store, self.name)
        present = {item.lower() for item in await store.items(name)}
        found = [item for item in self.items if item.lower() in present]
        missing = [item for item in self.items if item.lower() not in present]
        if not found:
            verb = "isn't" if len(missing) == 1 else "aren't"
            text = f"{speak_items(missing).capitalize()} {verb} on your {name} list."
            return reply(NAME, text, action="remove", list=name, removed=[])
        text = f"I removed {speak_items(found)} from your {name} list."
        if missing:
            verb = "wasn't" if len(missing) == 1 else "weren't"
            text += f" {speak_items(missing).capitalize()} {verb} on it."

        async def remove(store: PersonalStore) -> object:
            return await store.remove_items(name, found)

        data = reply(NAME, text, action="remove", list=name, removed=found)
        return PersonalReply(data.reply, remove)


@dataclass(frozen=True, slots=True)
class ReadList:
    name: str | None

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        name = await _resolve(store, self.name)
        items = await store.items(name)
        if not items:
            return reply(NAME, f"Your {name} list is empty.", action="read", list=name, items=[])
        text = f"Your {name} list has {_counted(len(items))}: {speak_items(items)}."
        return reply(NAME, text, action="read", list=name, items=items)


@dataclass(frozen=True, slots=True)
class ClearList:
    name: str | None

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        name = await _resolve(store, self.name)
        if not await store.items(name):
            return reply(NAME, f"Your {name} list is already empty.", action="clear", list=name)

        async def clear(store: PersonalStore) -> object:
            return await store.clear(name)

        text = f"OK, I cleared your {name} list."
        return PersonalReply(reply(NAME, text, action="clear", list=name).reply, clear)


ListRequest = AddItems | RemoveItems | ReadList | ClearList


class ListSkill:
    name = NAME

    def parse(self, text: str, context: SkillContext) -> ListRequest | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        core = normalise(text)
        if not core.endswith("list") and not core.endswith("list back"):
            return None
        if (match := _ADD.match(core)) is not None:
            items = split_items(match["items"])
            return AddItems(list_name(match["name"]), tuple(items)) if items else None
        if (match := _CLEAR.match(core)) is not None:  # before "remove …": "remove everything"
            return ClearList(list_name(match["name"]))
        if (match := _REMOVE.match(core)) is not None:
            items = split_items(match["items"])
            return RemoveItems(list_name(match["name"]), tuple(items)) if items else None
        if (match := _READ.match(core)) is not None:
            return ReadList(list_name(match["name"]))
        return None
