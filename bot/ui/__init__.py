"""What the bot shows: every message and button, apart from deciding what happens.

- `replies`: the reply model (`Reply`, `Btn`, `Attachment`: catalogue keys and parameters)
  and its rendering per language into Telegram text and keyboards.
- `views`: longer texts built from data they are given (timelines, summaries, progress,
  today's schedule, the outbox status); they run no queries.
- `outbox`: what each outbox message says, written from the data loaded when it is sent
  (bot/services/outbox_content.py); no queries either.
- `callbacks`: every callback-data prefix of the inline buttons and how their data is read.
"""
