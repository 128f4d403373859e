"""``python -m wirefeed``: the same as the ``wirefeed`` console script."""

from wirefeed.cli import main

raise SystemExit(main())
