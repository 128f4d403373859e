"""The story model and the wire-dump parser: bytes in, :class:`~.model.ParsedStory` s and
:class:`~.model.Story` s out (``parse``, ``model``, ``text``, ``ids``, ``build``)."""
