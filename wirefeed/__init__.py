"""wirefeed's command line and process management (``wirefeed up``, the embedded Redis)."""
