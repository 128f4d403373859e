"""Story identity: is an incoming story new, or a new version of a stored one? Near-duplicate
titles (``near``, MinHash LSH) and folding versions into one story (``versions``)."""
