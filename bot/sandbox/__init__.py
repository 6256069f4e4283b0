"""The sandbox: the real bot on demo data, behind a web chat instead of Telegram.

`make run` without a token (or `python -m bot sandbox`) starts the project's fake Bot API
server, the real bot Application against it on `data/sandbox.db`, and a web page on
127.0.0.1 where one person plays every role of a pair and moves the clock forward (the time
machine), so anyone can see what wijkbot does without making a Telegram bot first.
"""
