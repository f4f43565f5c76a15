"""Long-recording transcription jobs: queue, worker, chunked processing, outputs.

A job is a row in the database (``store.models.TranscriptionJob``) plus its media in
storage. Workers take jobs under a lease, stream-decode the recording chunk by chunk,
write each finished chunk's segments before starting the next, and render the
outputs (txt, srt, vtt, json) at the end. See docs/jobs.md for the whole picture.
"""
