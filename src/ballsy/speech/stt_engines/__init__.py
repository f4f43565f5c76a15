"""Speech-to-text engines: each module registers itself in ``ballsy.speech.stt.STT_ENGINES``
(discovered: a new engine is one new file here)."""
