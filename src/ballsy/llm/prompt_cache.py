"""The local LLM's prompt cache: evaluated prompt states kept in RAM, within a budget.

llama-cpp-python's ``LlamaRAMCache`` keys saved states by their tokens and restores the
longest prefix of a new prompt, so a conversation's next turn evaluates only its new
tokens. Two things make it unusable as it is: each saved state also carries the
logits of every prompt position (n_tokens × vocabulary floats, ~100 MB for a 500-token
prompt with a 49k vocabulary), and the budget counts only the llama.cpp part. After a
restore llama.cpp always decodes at least one token again before sampling, so the
stored logits are never read (without ``logits_all``): this cache keeps only the last
row, and counts every byte it keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_cpp.llama import LlamaState
from llama_cpp.llama_cache import LlamaRAMCache


def state_bytes(state: LlamaState) -> int:
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


class PromptCache(LlamaRAMCache):
    @property
    def cache_size(self) -> int:
        return sum(state_bytes(state) for state in self.cache_state.values())

    def __setitem__(self, key: Sequence[int], value: Any) -> None:
        value.scores = value.scores[-1:].copy()
        if state_bytes(value) > self.capacity_bytes:
            return  # one prompt larger than the whole budget is not worth evicting all for
        super().__setitem__(key, value)
