"""Stories, their identity, topics, storage and rendering: everything between a wire dump and a
feed document, with no web or worker code. The subpackages, in the order a story meets them:

- :mod:`.stories` -- the story model, the wire-dump parser and exact story ids;
- :mod:`.identity` -- near-duplicate titles and versions of one story;
- :mod:`.queue` -- submitting a dump, its progress, and the batches the workers take;
- :mod:`.categorize` -- the topic taxonomy and the categorizer (rules + embedding classifier);
- :mod:`.store` -- Redis: the key schema (``keys``), the story store, feed selection;
- :mod:`.render` -- RSS, Atom, JSON Feed, OPML and HTML bodies; publishing feed documents;
- :mod:`.websub` -- the WebSub hub's subscriptions, callback checks and HTTP client.

``docs/architecture.md`` shows how they connect.
"""
