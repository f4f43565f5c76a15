"""Users and their API keys: one home.

``service.py`` (:class:`Accounts`: create, list, change users; issue, list, revoke
keys), ``schemas.py`` (their read schemas, validated from the ORM rows, and the admin
API's request bodies), ``keys.py`` (the key format and its hash) and ``cli.py``
(``ballsy users``). Their SQL stays in ``ballsy.store.repositories`` with the rest;
authentication (credential → principal) is ``ballsy.security``.
"""
