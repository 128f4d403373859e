"""Data only: ``wire-sample.txt``, the sample wire dump that ``wirefeed up`` ingests."""
