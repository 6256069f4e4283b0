// The sandbox web chat: one page, no build step. The server renders message HTML safely
// (render.py); everything else here is set with textContent.
"use strict";

(function () {
  const view = {
    lang: localStorage.getItem("wijkbot-sandbox-lang") || "nl",
    personaId: Number(localStorage.getItem("wijkbot-sandbox-persona")) || null,
    state: null,
    chat: null,
    busy: 0,
    refreshing: false,
    refreshAgain: false,
    shownCount: 0,
    shownPersona: null,
  };

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  };
  const t = (key, params) => {
    const texts = (view.state && view.state.texts) || {};
    let text = texts[key] !== undefined ? texts[key] : "";
    for (const [name, value] of Object.entries(params || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  };

  // --- talking to the sandbox --------------------------------------------------------------

  async function api(method, path, body) {
    const url = path + (path.includes("?") ? "&" : "?") + "lang=" + encodeURIComponent(view.lang);
    const options = { method, headers: { Accept: "application/json" } };
    if (method === "POST") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      throw new Error(t("error_network"));
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || t("error_network"));
    }
    return data;
  }

  // Runs one user action: every action control is disabled meanwhile, errors are shown.
  // Resolves to whether it worked.
  async function act(work) {
    view.busy += 1;
    setBusy();
    showStatus("");
    try {
      await work();
      return true;
    } catch (error) {
      showStatus(error.message, true);
      return false;
    } finally {
      view.busy -= 1;
      setBusy();
      await refresh();
    }
  }

  function setBusy() {
    const busy = view.busy > 0;
    document.body.classList.toggle("busy", busy);
    for (const node of document.querySelectorAll("button, input")) {
      // Looking at another chat or language while a request runs is harmless.
      if (node.dataset.lang || node.classList.contains("persona")) continue;
      node.disabled = busy || (node.dataset.jump === "exchange_day" && !nextExchangeDay());
    }
    if (!busy && document.activeElement === document.body) $("input").focus();
  }

  function nextExchangeDay() {
    return view.state ? view.state.next_exchange_day : null;
  }

  function showStatus(text, isError) {
    const status = $("status");
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
    status.dataset.testid = isError ? "error" : "status";
    status.hidden = !text;
  }

  // --- refreshing --------------------------------------------------------------------------

  async function refresh() {
    // Events can come in bursts; one refresh at a time, and one more if something came in.
    if (view.refreshing) {
      view.refreshAgain = true;
      return;
    }
    view.refreshing = true;
    try {
      do {
        view.refreshAgain = false;
        await loadState();
        await loadChat();
      } while (view.refreshAgain);
    } catch (error) {
      showStatus(error.message, true);
    } finally {
      view.refreshing = false;
    }
  }

  async function loadState() {
    const state = await api("GET", "/api/state");
    applyState(state);
  }

  function applyState(state) {
    view.state = state;
    document.documentElement.lang = state.lang;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
    for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = t(node.dataset.placeholder);
    for (const node of document.querySelectorAll("[data-title]")) node.title = t(node.dataset.title);
    for (const node of document.querySelectorAll("[data-lang]")) {
      node.setAttribute("aria-pressed", String(node.dataset.lang === state.lang));
    }
    $("clock").textContent = state.clock;
    const badge = $("time-machine");
    badge.hidden = state.real_time;
    badge.textContent = state.real_time ? "" : t("time_machine") + " " + state.offset;
    const exchangeButton = document.querySelector('[data-jump="exchange_day"]');
    exchangeButton.title = state.next_exchange_day
      ? t("next_exchange_day", { when: state.next_exchange_day })
      : t("no_exchange_day");
    if (!state.personas.some((p) => p.id === view.personaId)) {
      view.personaId = state.personas.length ? state.personas[0].id : null;
    }
    renderPersonas();
    setBusy();
  }

  async function loadChat() {
    if (view.personaId === null) {
      view.chat = null;
      renderChat();
      return;
    }
    const wanted = view.personaId;
    const chat = await api("GET", "/api/chat/" + wanted);
    if (wanted !== view.personaId) return; // another persona was chosen meanwhile
    view.chat = chat;
    renderChat();
  }

  // --- drawing -----------------------------------------------------------------------------

  function renderPersonas() {
    const list = $("personas");
    list.replaceChildren();
    for (const persona of view.state.personas) {
      const chosen = persona.id === view.personaId;
      const button = el(
        "button",
        {
          type: "button",
          className: "persona" + (chosen ? " chosen" : ""),
          "data-testid": "persona",
          "data-persona-id": persona.id,
          "data-role": persona.role,
          "aria-current": chosen ? "true" : null,
        },
        [
          el("span", { className: "avatar", text: initials(persona.name), "aria-hidden": "true" }),
          el("span", { className: "who" }, [
            el("span", { className: "name", text: persona.name }),
            el("span", { className: "role role-" + persona.role, text: persona.role_label }),
            el("span", { className: "description", text: persona.description }),
          ]),
        ],
      );
      button.addEventListener("click", () => choosePersona(persona.id));
      list.appendChild(el("li", {}, [button]));
    }
  }

  function initials(name) {
    const words = name.split(/\s+/).filter(Boolean);
    return words.slice(-2).map((w) => w[0].toUpperCase()).join("") || "?";
  }

  function choosePersona(id) {
    if (id === view.personaId) return;
    view.personaId = id;
    localStorage.setItem("wijkbot-sandbox-persona", String(id));
    view.chat = null;
    closeMenu();
    renderPersonas();
    renderChat();
    loadChat().catch((error) => showStatus(error.message, true));
    $("input").focus();
  }

  function renderChat() {
    const box = $("messages");
    const chat = view.chat;
    const head = $("chat-head");
    head.replaceChildren();
    if (!chat) {
      box.replaceChildren(el("p", { className: "empty", text: view.personaId === null ? t("choose_persona") : "" }));
      renderReplyKeyboard(null);
      view.shownCount = 0;
      return;
    }
    head.appendChild(el("span", { className: "avatar", text: initials(chat.persona.name), "aria-hidden": "true" }));
    head.appendChild(
      el("div", { className: "who" }, [
        el("span", { className: "name", text: chat.persona.name + " · " + chat.persona.role_label }),
        el("span", { className: "description", text: chat.persona.description }),
      ]),
    );

    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const grew = chat.messages.length !== view.shownCount || view.shownPersona !== chat.persona.id;
    const items = [];
    let day = null;
    for (const message of chat.messages) {
      if (message.day !== day) {
        day = message.day;
        items.push(el("div", { className: "day", "data-testid": "day" }, [el("span", { text: day })]));
      }
      items.push(renderMessage(message));
    }
    if (!items.length) items.push(el("p", { className: "empty", text: t("empty_chat") }));
    box.replaceChildren(...items);
    if (grew || nearBottom) box.scrollTop = box.scrollHeight;
    view.shownCount = chat.messages.length;
    view.shownPersona = chat.persona.id;
    renderReplyKeyboard(chat.reply_keyboard);
    if (!$("command-menu").hidden) renderMenu();
    setBusy();
  }

  function renderMessage(message) {
    const bubble = el("div", {
      className: "message " + message.from,
      "data-testid": "message",
      "data-from": message.from,
      "data-message-id": message.id,
    });
    if (message.photo) {
      const link = el("a", { href: message.photo, target: "_blank", rel: "noopener noreferrer" }, [
        el("img", { src: message.photo, alt: t("photo"), className: "photo", loading: "lazy" }),
      ]);
      bubble.appendChild(link);
    }
    if (message.document) {
      bubble.appendChild(
        el("a", { className: "document", href: message.document.url, download: message.document.name, "data-testid": "document" }, [
          el("span", { className: "document-icon", text: "📄", "aria-hidden": "true" }),
          el("span", { className: "document-name", text: message.document.name }),
          el("span", { className: "document-action", text: t("download") }),
        ]),
      );
    }
    if (message.html) {
      const body = el("div", { className: "body" });
      body.innerHTML = message.html; // safe HTML from the server (render.py)
      for (const spoiler of body.querySelectorAll(".spoiler")) {
        spoiler.addEventListener("click", () => spoiler.classList.add("revealed"));
      }
      bubble.appendChild(body);
    }
    const meta = el("div", { className: "meta" });
    if (message.edited) meta.appendChild(el("span", { className: "edited", "data-testid": "edited", text: t("edited") }));
    meta.appendChild(el("time", { text: message.time }));
    bubble.appendChild(meta);
    if (message.buttons && message.buttons.length) {
      const keyboard = el("div", { className: "inline-keyboard" });
      for (const row of message.buttons) {
        const line = el("div", { className: "row" });
        for (const button of row) line.appendChild(inlineButton(message, button));
        keyboard.appendChild(line);
      }
      bubble.appendChild(keyboard);
    }
    return bubble;
  }

  function inlineButton(message, button) {
    if (button.url) {
      return el("a", {
        className: "inline-button link",
        href: button.url,
        target: "_blank",
        rel: "noopener noreferrer",
        "data-testid": "inline-link",
        text: button.text + " ↗",
      });
    }
    const node = el("button", {
      type: "button",
      className: "inline-button action",
      "data-testid": "inline-button",
      text: button.text,
      disabled: !button.data,
    });
    if (button.data) {
      node.addEventListener("click", () =>
        act(() => api("POST", "/api/chat/" + view.personaId + "/press", { message_id: message.id, data: button.data })),
      );
    }
    return node;
  }

  function renderReplyKeyboard(rows) {
    const box = $("reply-keyboard");
    box.replaceChildren();
    box.hidden = !rows || !rows.length;
    for (const row of rows || []) {
      const line = el("div", { className: "row" });
      for (const button of row) {
        const node = el("button", {
          type: "button",
          className: "reply-button action" + (button.kind === "location" ? " location" : ""),
          "data-testid": "reply-button",
          text: (button.kind === "location" ? "📍 " : "") + button.text,
        });
        node.addEventListener("click", () => {
          if (button.kind === "location") {
            act(() => api("POST", "/api/chat/" + view.personaId + "/location", {}));
          } else {
            send(button.text);
          }
        });
        line.appendChild(node);
      }
      box.appendChild(line);
    }
  }

  // --- the command menu --------------------------------------------------------------------

  function renderMenu(filter) {
    const menu = $("command-menu");
    const commands = (view.chat && view.chat.commands) || [];
    const wanted = (filter || "").toLowerCase();
    const shown = commands.filter((c) => c.command.toLowerCase().startsWith(wanted));
    menu.replaceChildren(el("div", { className: "menu-title", text: t("menu_title") }));
    if (!shown.length) menu.appendChild(el("p", { className: "empty", text: t("menu_empty") }));
    for (const command of shown) {
      const item = el(
        "button",
        { type: "button", className: "command action", "data-testid": "command", "data-command": command.command },
        [el("span", { className: "command-name", text: "/" + command.command }), el("span", { className: "command-description", text: command.description })],
      );
      item.addEventListener("click", () => {
        closeMenu();
        send("/" + command.command);
      });
      menu.appendChild(item);
    }
    setBusy();
  }

  function openMenu(filter) {
    renderMenu(filter);
    $("command-menu").hidden = false;
    $("menu-button").setAttribute("aria-expanded", "true");
  }

  function closeMenu() {
    $("command-menu").hidden = true;
    $("menu-button").setAttribute("aria-expanded", "false");
  }

  // --- actions -----------------------------------------------------------------------------

  function send(text) {
    if (view.personaId === null) return Promise.resolve(false);
    const persona = view.personaId;
    return act(() => api("POST", "/api/chat/" + persona + "/send", { text }));
  }

  function wire() {
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("input");
      const text = input.value;
      closeMenu();
      input.value = "";
      send(text).then((worked) => {
        if (!worked && !input.value) input.value = text;
        input.focus();
      });
    });
    $("input").addEventListener("input", (event) => {
      const value = event.target.value;
      if (/^\/\S*$/.test(value)) openMenu(value.slice(1));
      else closeMenu();
    });
    $("input").addEventListener("keydown", (event) => {
      if (event.key === "Escape") closeMenu();
    });
    $("menu-button").addEventListener("click", () => {
      if ($("command-menu").hidden) openMenu("");
      else closeMenu();
    });
    document.addEventListener("click", (event) => {
      const menu = $("command-menu");
      if (!menu.hidden && !menu.contains(event.target) && event.target !== $("menu-button") && event.target !== $("input")) {
        closeMenu();
      }
    });
    for (const button of document.querySelectorAll("[data-jump]")) {
      button.addEventListener("click", () =>
        act(async () => {
          const state = await api("POST", "/api/time", { to: button.dataset.jump });
          applyState(state);
          showStatus(state.jumped);
        }),
      );
    }
    $("reset").addEventListener("click", () => {
      if (!window.confirm(t("reset_confirm"))) return;
      act(async () => {
        const state = await api("POST", "/api/reset", {});
        applyState(state);
        showStatus(t("reset_done"));
      });
    });
    $("add-persona").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("persona-name");
      act(async () => {
        const persona = await api("POST", "/api/personas", { name: input.value });
        input.value = "";
        view.personaId = persona.id;
        localStorage.setItem("wijkbot-sandbox-persona", String(persona.id));
      });
    });
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => {
        view.lang = button.dataset.lang;
        localStorage.setItem("wijkbot-sandbox-lang", view.lang);
        showStatus("");
        refresh();
      });
    }
  }

  function listen() {
    // EventSource reconnects by itself; every message says something changed.
    const events = new EventSource("/api/events");
    let last = null;
    events.onmessage = (event) => {
      if (event.data === last) return;
      last = event.data;
      refresh();
    };
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) showStatus(t("error_network"), true);
    };
  }

  wire();
  refresh().then(listen);
  // The sandbox clock runs on; keep the shown time current between events.
  setInterval(() => {
    if (!view.busy) loadState().catch(() => {});
  }, 20000);
})();
