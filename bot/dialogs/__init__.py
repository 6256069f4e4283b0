"""Conversations kept in the database: a question, an answer, the next question.

- `store`: the one row per chat (kind, step, data, version, last answer), its lifetime, and
  the `<prefix>:<version>:<value>` data of its buttons.
- `data`: what each kind keeps between steps, as TypedDicts.
- `engine`: takes a pressed button or a typed text to the chat's current conversation, the
  same way for every kind, and answers it.

To write a new conversation (see `handlers/checkins.py`'s /checkout for a small one):

1. Give it a kind (a short string), a callback prefix in `bot/ui/callbacks.py` (in
   `DIALOG_PREFIXES`) when it has buttons, and a TypedDict in `data.py` for what it keeps
   (add it to `DialogData`).
2. Write `ask(uow, dialog) -> Reply`: the question of `dialog.step`, its buttons made with
   `store.button_data(prefix, dialog, value)`, so a button of an earlier question is stale.
3. Write `step(uow, dialog, value, how) -> Turn`: `how` is BUTTON, TEXT or PHOTO. Move on
   with `store.advance(dialog, next_step, now, {...})`, end with `store.finish`; return the
   replies (or `edit=` to redraw the pressed message). Raise `InputError` for a bad answer
   (the engine explains it and asks again), `Expired` for a button that does not fit.
4. Start it from a command with `store.start` (or `engine.start_dialog` to first pick an
   exchange), and in the handler module's `register`:
   `register_dialog(app, Conversation(KIND, step, ask, prefix=PREFIX))`.

/annuleren ends any conversation (`handlers/dialogs.py`); one left alone lapses after its
lifetime (`store.DIALOG_TTL`, shorter ones in `AppContext.dialog_ttls`).
"""
