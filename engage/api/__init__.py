"""What every endpoint under ``/api`` (and the inbox) shares, so each app's API
only translates HTTP to its services and selectors:

- ``errors``: the one error body; ``exceptions``: the 400s and 409 that name what is at fault;
- ``parsers`` and ``fields``: JSON in, with its types as the schema states them;
- ``parameters``: query parameters (``limit``, text without NUL), refused by name;
- ``pagination``: the one list shape, keyset pages with ``next``/``previous`` links;
- ``scoping``: the key's workspace and ``profile_or_404``;
- ``schema``: the Bearer secret-key scheme and the errors each operation documents;
- ``routing``: one URL whose methods belong to different apps.
"""
