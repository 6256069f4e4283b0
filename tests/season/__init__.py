"""A whole season played through the real bot: the cast, a recorder and the transcript."""
