"""What the bot shows: every message and button, apart from deciding what happens.

- `replies`: the reply model (`Reply`, `Btn`, `Attachment`: catalogue keys and parameters)
  and its rendering per language into Telegram text and keyboards.
- `views`: longer texts built from data they are given (timelines, summaries, progress,
  today's schedule, the outbox status); they run no queries.
- `pushes`: what each scheduled or pushed message says, written when the outbox sends it.
- `callbacks`: every callback-data prefix of the inline buttons and how their data is read.
"""
