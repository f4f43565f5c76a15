"""Markdown becomes speakable text, whole or streamed."""

from __future__ import annotations

import pytest

from ballsy.assistant.spoken import SpokenStream, speakable

MARKDOWN = """Here are some tips:

1. **Create a relaxing environment**: dim the lights
2. Read a `book` before bed
3. See [the guide](https://example.com/sleep)

## Summary
- Sleep *well*
"""


def test_lists_and_headings_become_sentences() -> None:
    assert speakable(MARKDOWN) == (
        "Here are some tips: Create a relaxing environment: dim the lights. "
        "Read a book before bed. See the guide. Summary. Sleep well."
    )


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("It's 3:07 PM.", "It's 3:07 PM."),
        ("5 * 3 = 15", "5 times 3 = 15."),
        ("Visit https://example.com for more.", "Visit for more."),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "a, b. 1, 2."),
        ("> quoted ~~old~~ text", "quoted old text."),
    ],
)
def test_no_symbols_read_aloud(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize("size", [1, 3, 7, 500])
def test_streamed_in_any_pieces_says_the_same(size: int) -> None:
    stream = SpokenStream()
    said = [stream.push(MARKDOWN[i : i + size]) for i in range(0, len(MARKDOWN), size)]
    said.append(stream.flush())
    assert "".join(said) == speakable(MARKDOWN)


def test_a_long_line_is_released_before_it_ends() -> None:
    stream = SpokenStream()
    early = stream.push("word " * 40)
    assert early.startswith("word word")
    assert "*" not in early


def test_a_streamed_line_is_released_word_by_word_soon_after_it_starts() -> None:
    stream = SpokenStream()
    words = ("The", "capital", "of", "France", "is", "Paris", "and")
    said = [stream.push(word + " ") for word in words]
    # Speech must not wait for the end of the line: the first words leave at once.
    assert "".join(said[:4]).strip().startswith("The capital")


# What the smart model (a coder model) and others wrote in benchmarks/local_llm.py runs.
CODE_REPLY = """To add two numbers:

```python
def add(a, b):
    return a + b
```

That is all. 👍"""


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        (CODE_REPLY, "To add two numbers: That is all."),
        ("Water is H<sub>2</sub>O.<br>", "Water is H 2 O."),
        ("Have a great day! 😊 ❤️", "Have a great day!"),
        ("It is −5 °C outside.", "It is −5 °C outside."),
        ("Read this article: [https://example.com/a_b].", "Read this article."),
        ("See (https://example.com) or www.example.org.", "See or."),
    ],
)
def test_what_has_no_spoken_form_goes(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize("size", [1, 4, 500])
def test_a_streamed_code_block_is_not_spoken(size: int) -> None:
    stream = SpokenStream()
    said = [stream.push(CODE_REPLY[i : i + size]) for i in range(0, len(CODE_REPLY), size)]
    said.append(stream.flush())
    text = "".join(said)
    assert "def" not in text and "return" not in text and "`" not in text
    assert text.startswith("To add two numbers:") and text.endswith("That is all.")
