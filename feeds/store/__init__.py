"""Redis storage: the whole key schema (``keys``), connections, the story store with its topic
indexes, change logs and feed documents (``story_store``), and feed selection (``select``)."""
