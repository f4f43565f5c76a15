"""Chunk cutting, speech packing and media probing (no model, no database)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from ballsy.errors import AudioTooLong, UnsupportedMedia
from ballsy.jobs.chunking import (
    RATE,
    ChunkAudio,
    choose_cut,
    iter_chunks,
    pack_speech,
    probe_media,
    vad_speech_finder,
)


def test_cut_prefers_a_late_long_pause() -> None:
    length = 100 * RATE
    spans = [(0, 40 * RATE), (41 * RATE, 70 * RATE), (70 * RATE, 80 * RATE), (82 * RATE, 99 * RATE)]
    # Pauses: 40-41 s, 70 s (touching spans), 80-82 s, 99-100 s: the latest long one wins.
    assert choose_cut(spans, length) == (99 * RATE + length) // 2
    assert choose_cut(spans[:3], length) == (80 * RATE + length) // 2  # trailing silence
    # A long pause early beats a short one late (a word split by a short pause can be
    # lost at the start of the next chunk); before the first quarter it is too early.
    assert choose_cut([(0, 40 * RATE), (41 * RATE, 70 * RATE), (70 * RATE, length)], length) == (
        81 * RATE // 2
    )
    assert choose_cut([(0, 10 * RATE), (11 * RATE, 70 * RATE), (70 * RATE, length)], length) == (
        70 * RATE
    )
    assert choose_cut([(0, length)], length) == length  # non-stop speech: a hard cut
    assert choose_cut([], length) == length


def test_chunks_are_contiguous_and_resume_identically(recording_40s: tuple[Path, str]) -> None:
    path, _ = recording_40s
    finder = vad_speech_finder()
    chunks = list(iter_chunks(path, chunk_seconds=15, find_speech=finder))
    assert len(chunks) >= 3
    assert chunks[0].start_sample == 0
    for before, after in itertools.pairwise(chunks):
        assert before.end_sample == after.start_sample  # no gap, no overlap
        assert 3 * RATE <= len(before.samples) <= 15 * RATE
    # Resuming at any chunk boundary cuts exactly the chunks an unbroken run cut.
    middle = chunks[2]
    resumed = list(
        iter_chunks(
            path,
            chunk_seconds=15,
            start_sample=middle.start_sample,
            first_index=middle.index,
            find_speech=finder,
        )
    )
    assert [(c.index, c.start_sample, c.end_sample) for c in resumed] == [
        (c.index, c.start_sample, c.end_sample) for c in chunks[2:]
    ]
    assert np.array_equal(resumed[0].samples, middle.samples)
    assert list(iter_chunks(path, chunk_seconds=15, start_sample=chunks[-1].end_sample,
                            find_speech=finder)) == []  # fmt: skip


def test_packing_maps_back_to_the_chunk() -> None:
    samples = np.zeros(70 * RATE, dtype=np.float32)
    chunk = ChunkAudio(
        index=3,
        start_sample=1000 * RATE,
        samples=samples,
        speech=((2 * RATE, 22 * RATE), (30 * RATE, 45 * RATE), (60 * RATE, 65 * RATE)),
    )
    packed = pack_speech(chunk, skip_pauses=True)
    assert len(packed.audio) == 40 * RATE
    assert packed.clips == ((0, 20 * RATE), (20 * RATE, 40 * RATE))  # each ≤ 30 s
    assert packed.to_chunk_seconds(0.0) == 2.0
    assert packed.to_chunk_seconds(21.0) == 31.0
    assert packed.to_chunk_seconds(36.0) == 61.0
    whole = pack_speech(chunk, skip_pauses=False)
    assert [b - a for a, b in whole.clips] == [30 * RATE, 30 * RATE, 10 * RATE]
    assert whole.to_chunk_seconds(50.0) == 50.0


def test_probe_refuses_bad_media_at_once(tmp_path: Path, recording_40s: tuple[Path, str]) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"GIF89a not audio at all " * 4000)
    started = time.perf_counter()
    with pytest.raises(UnsupportedMedia):
        probe_media(junk, 3600)
    assert time.perf_counter() - started < 2.0
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(recording_40s[0].read_bytes()[:30])  # a header, no audio
    with pytest.raises(UnsupportedMedia):
        probe_media(truncated, 3600)
    info = probe_media(recording_40s[0], 3600)
    assert info.duration is not None and 40 <= info.duration < 60
    with pytest.raises(AudioTooLong):
        probe_media(recording_40s[0], 10)
