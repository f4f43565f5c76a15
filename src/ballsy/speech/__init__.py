"""Speech engines: audio decode/encode, VAD, speech-to-text and text-to-speech."""
