"""`make bench`: the figures of issue 12, each beside its baseline, measured through the
project's fake Bot API server. Results go to bench/results.json and bench/results.md."""
