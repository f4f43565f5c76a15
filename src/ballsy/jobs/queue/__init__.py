"""How workers learn that a job is ready: one module per backend, registered by name.

``base`` holds the protocol and the registry ``JOB_QUEUE`` names a backend in;
``embedded`` (the database, polled in this process) and ``redis`` (SAQ) register
themselves. Every module of this package is imported when the registry is first
asked, so a new backend is one new file.
"""
