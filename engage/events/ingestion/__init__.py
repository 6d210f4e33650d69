"""The Segment-compatible ingestion API (``/v1/*``).

Written apart from DRF on purpose: it is the hot path, and a hand-written
validator plus ``COPY`` costs a fraction of serializers plus ``bulk_create``
(see docs/performance.md). Modules: ``body`` reads and decompresses the request,
``auth`` finds the write key, ``ratelimit`` counts requests per workspace,
``validation`` turns Segment messages into rows, ``storage`` writes them
deduplicated, ``views`` ties these together.
"""
