"""Text-to-speech engines: each module registers itself in ``ballsy.speech.tts.TTS_ENGINES``
(discovered: a new engine is one new file here)."""
