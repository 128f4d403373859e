"""Rendering: feeds in RSS 2.0, Atom 1.0 and JSON Feed 1.1 and OPML (``formats``), story bodies
as sanitized HTML (``html``), and rendering and storing each touched feed once (``publish``)."""
