"""Where job media and transcripts live: one module per backend, registered by name.

``base`` holds the protocol, the helpers every backend shares and the registry that
``JOB_STORAGE`` names a backend in; ``local``, ``gcs`` and ``s3`` register themselves
(``remote`` is what the bucket backends share). Every module of this package is
imported when the registry is first asked, so a new backend is one new file.
"""
