/*
 * Zijwijzer chat widget. Plain JavaScript, no build step, no dependencies.
 *
 * Embed with one tag:
 *   <script src="https://example.org/static/widget.js" data-chat-url="https://chat.example.org"
 *           data-retention-days="180" data-language="nl" defer></script>
 *
 * Talks to the engine's widget channel (/webhooks/widget/...). The conversation id and its
 * signed token stay in localStorage, so the conversation survives reloads and navigation;
 * the history comes back from the channel. Untrusted text (the bot's and the user's) is only
 * ever put in the page with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.ZijwijzerWidget) {
    return;
  }

  var KEY = "zijwijzer.widget.";
  var CHAT_URL = (script.getAttribute("data-chat-url") || "").replace(/\/+$/, "");
  var RETENTION_DAYS = parseInt(script.getAttribute("data-retention-days") || "180", 10);
  var MAX_CHARS = parseInt(script.getAttribute("data-max-chars") || "1000", 10);
  // The deploying organisation's privacy statement (AVG art. 13), linked from the notice.
  var PRIVACY_URL = script.getAttribute("data-privacy-url") || "";
  var BASE = script.src.replace(/[^/]*$/, "");
  var API = CHAT_URL + "/webhooks/widget";
  var TIMEOUT_MS = 30000;

  // Every text of the widget itself, in both languages. The bot's texts come from the bot.
  var TEXTS = {
    nl: {
      launcher: "Chat met Zijwijzer",
      title: "Zijwijzer",
      subtitle: "Jouw weg naar werk in de zorg",
      close: "Chat sluiten",
      restart: "Nieuw gesprek",
      switchTo: "English",
      switchLabel: "Switch to English",
      privacyTitle: "Voordat je begint",
      privacy: [
        "Zijwijzer is een chatbot: een computerprogramma, geen mens. Wil je liever met een mens praten? Vraag dan naar een adviseur.",
        "We bewaren dit gesprek om je te kunnen helpen. Persoonlijke gegevens zoals je e-mailadres, telefoonnummer, BSN, IBAN, adres en geboortedatum halen we eruit voordat we iets bewaren.",
        "Vertel liever niets over je gezondheid of andere gevoelige zaken. Voor dit advies is dat niet nodig.",
        "We bewaren het gesprek {days} dagen. Daarna wordt het verwijderd.",
        "Wil je dat we je gesprek eerder verwijderen? Typ 'verwijder mijn gesprek'. Je kunt ook contact opnemen via je adviseur.",
      ],
      privacyLink: "Lees de privacyverklaring",
      accept: "Akkoord, start de chat",
      inputLabel: "Typ je bericht",
      placeholder: "Typ je bericht…",
      send: "Verstuur",
      typing: "Zijwijzer (chatbot) typt…",
      you: "Jij",
      bot: "Zijwijzer",
      errorDown: "Het lukt nu niet om Zijwijzer te bereiken. Je bericht is niet verloren.",
      errorServer: "Er ging iets mis bij Zijwijzer. Je bericht is niet verloren.",
      errorStorage: "Het lukt nu even niet om je bericht op te slaan. Je bericht staat nog in het venster; probeer het over een minuut opnieuw.",
      errorTooLong: "Je bericht is te lang. Maak het korter dan {max} tekens.",
      errorBusy: "Je stuurt veel berichten kort na elkaar. Wacht {seconds} seconden en probeer het dan opnieuw. Je bericht is niet verloren.",
      errorBlocked: "Deze chat werkt niet op deze website.",
      retry: "Opnieuw proberen",
      uncertain: "nog niet zeker",
      planTitle: "Jouw plan",
      contact: "Met wie:",
      more: "Meer en waarom",
      alternatives: "Dit kan ook",
      why: "Waarom dit plan",
      notPossible: "Dit kan nu niet",
      notices: "Let op",
      words: "Moeilijke woorden",
      saveAdvice: "Bewaar mijn advies",
      saveUntil: "De link werkt tot {date}.",
      newMessages: "Nieuw bericht van Zijwijzer: ",
      chars: "{n} van {max} tekens",
    },
    en: {
      launcher: "Chat with Zijwijzer",
      title: "Zijwijzer",
      subtitle: "Your way into care work",
      close: "Close chat",
      restart: "New conversation",
      switchTo: "Nederlands",
      switchLabel: "Wissel naar Nederlands",
      privacyTitle: "Before you start",
      privacy: [
        "Zijwijzer is a chatbot: a computer program, not a person. Would you rather talk to a person? Ask for an advisor.",
        "We keep this conversation so we can help you. We remove personal details such as your e-mail address, phone number, BSN, IBAN, address and date of birth before we store anything.",
        "Please do not share details about your health or other sensitive matters. The advice does not need them.",
        "We keep the conversation for {days} days. After that it is deleted.",
        "Do you want us to delete it sooner? Type 'delete my conversation'. You can also ask your advisor.",
      ],
      privacyLink: "Read the privacy statement",
      accept: "I agree, start the chat",
      inputLabel: "Type your message",
      placeholder: "Type your message…",
      send: "Send",
      typing: "Zijwijzer (chatbot) is typing…",
      you: "You",
      bot: "Zijwijzer",
      errorDown: "Zijwijzer cannot be reached right now. Your message is not lost.",
      errorServer: "Something went wrong at Zijwijzer. Your message is not lost.",
      errorStorage: "I cannot save your message right now. Your message is still in the chat window; please try again in a minute.",
      errorTooLong: "Your message is too long. Keep it under {max} characters.",
      errorBusy: "You are sending many messages in a short time. Wait {seconds} seconds and try again. Your message is not lost.",
      errorBlocked: "This chat does not work on this website.",
      retry: "Try again",
      uncertain: "not certain yet",
      planTitle: "Your plan",
      contact: "Who with:",
      more: "More and why",
      alternatives: "This could work too",
      why: "Why this plan",
      notPossible: "Not possible right now",
      notices: "Please note",
      words: "Hard words",
      saveAdvice: "Save my advice",
      saveUntil: "The link works until {date}.",
      newMessages: "New message from Zijwijzer: ",
      chars: "{n} of {max} characters",
    },
  };

  // ---------------------------------------------------------------- storage

  function load(name) {
    try {
      return window.localStorage.getItem(KEY + name);
    } catch (e) {
      return null; // storage blocked: the widget still works, without persistence
    }
  }

  function save(name, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(KEY + name);
      } else {
        window.localStorage.setItem(KEY + name, value);
      }
    } catch (e) {
      /* storage blocked or full: keep going without it */
    }
  }

  function loadConversation() {
    try {
      var value = JSON.parse(load("conversation") || "null");
      if (value && typeof value.conversation_id === "string" && typeof value.token === "string") {
        return value;
      }
    } catch (e) {
      /* a broken entry is the same as none */
    }
    return null;
  }

  var state = {
    language: load("language") === "en" ? "en" : (script.getAttribute("data-language") === "en" ? "en" : "nl"),
    accepted: load("privacy") === "accepted",
    open: load("open") === "1",
    conversation: loadConversation(),
    busy: false,
    started: false,
    retry: null,
    // The typed message whose sending failed: sent again unchanged, it keeps its id.
    unsent: null,
  };

  function t(name, values) {
    var text = TEXTS[state.language][name];
    if (values) {
      Object.keys(values).forEach(function (key) {
        text = text.split("{" + key + "}").join(String(values[key]));
      });
    }
    return text;
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) {
          return;
        }
        if (name === "text") {
          node.textContent = value;
        } else if (name === "onclick") {
          node.addEventListener("click", value);
        } else {
          node.setAttribute(name, value === true ? "" : value);
        }
      });
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function safeUrl(url) {
    // Only web and mail links; anything else (javascript:, data:) stays plain text.
    return typeof url === "string" && /^(https?:\/\/|mailto:)/i.test(url.trim()) ? url.trim() : null;
  }

  function link(text, url) {
    var href = safeUrl(url);
    if (!href) {
      return document.createTextNode(text);
    }
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: text });
  }

  // ---------------------------------------------------------------- simple markdown

  // Inline: **bold**, *italics* / _italics_, [text](url) and bare URLs. Everything else is text.
  var INLINE = /(\*\*([^*]+)\*\*)|(\[([^\]]+)\]\(([^)\s]+)\))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])|(\*([^*\s][^*]*)\*)|(\b_([^_]+)_\b)/g;

  function inline(text, parent) {
    var last = 0;
    var match;
    // A fresh regex per call: bold and italics recurse, and a shared lastIndex would loop.
    var pattern = new RegExp(INLINE.source, "g");
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) {
        parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      if (match[1]) {
        parent.appendChild(inline(match[2], el("strong")));
      } else if (match[3]) {
        parent.appendChild(link(match[4], match[5]));
      } else if (match[6]) {
        parent.appendChild(link(match[6], match[6]));
      } else if (match[7]) {
        parent.appendChild(inline(match[8], el("em")));
      } else if (match[9]) {
        parent.appendChild(inline(match[10], el("em")));
      }
      last = pattern.lastIndex;
    }
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
    return parent;
  }

  // Blocks: paragraphs with line breaks, and lists ("- ", "* ", "1. ").
  function markdown(text) {
    var root = el("div", { class: "zw-text" });
    var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    var paragraph = null;
    var list = null;
    lines.forEach(function (line) {
      var bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      var number = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (bullet || number) {
        var tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = el(tag);
          root.appendChild(list);
        }
        list.appendChild(inline((bullet || number)[1], el("li")));
        paragraph = null;
      } else if (line.trim() === "") {
        paragraph = null;
        list = null;
      } else {
        list = null;
        if (paragraph) {
          paragraph.appendChild(el("br"));
        } else {
          paragraph = el("p");
          root.appendChild(paragraph);
        }
        inline(line, paragraph);
      }
    });
    return root;
  }

  // ---------------------------------------------------------------- the widget's DOM

  var host = el("div", { id: "zijwijzer-widget" });
  var shadow = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  shadow.appendChild(el("link", { rel: "stylesheet", href: BASE + "widget.css" }));

  var launcher = el("button", { class: "zw-launcher", type: "button", "aria-expanded": "false", "aria-controls": "zw-panel" });
  var panel = el("section", { class: "zw-panel", id: "zw-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "zw-title", hidden: true });
  var title = el("h2", { class: "zw-title", id: "zw-title" });
  var subtitle = el("p", { class: "zw-subtitle" });
  var languageButton = el("button", { class: "zw-tool zw-language", type: "button" });
  var restartButton = el("button", { class: "zw-tool zw-restart", type: "button" });
  var closeButton = el("button", { class: "zw-tool zw-close", type: "button" }, ["×"]);
  // A div, not a <header>: inside the page it would count as a second banner landmark.
  var header = el("div", { class: "zw-header" }, [
    el("div", { class: "zw-heading" }, [title, subtitle]),
    el("div", { class: "zw-tools" }, [languageButton, restartButton, closeButton]),
  ]);

  // Focused when the panel opens, so the notice is read (and shown) from its title down.
  var privacyTitle = el("h3", { class: "zw-privacy-title", id: "zw-privacy-title", tabindex: "-1" });
  var privacyText = el("div", { class: "zw-privacy-text" });
  var acceptButton = el("button", { class: "zw-primary zw-accept", type: "button" });
  var privacy = el("div", { class: "zw-privacy", role: "region", "aria-labelledby": "zw-privacy-title" }, [
    privacyTitle,
    privacyText,
    acceptButton,
  ]);

  var log = el("ol", { class: "zw-log", "aria-label": "" });
  var typing = el("div", { class: "zw-typing", hidden: true }, [
    el("span", { class: "zw-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
    el("span", { class: "zw-typing-text" }),
  ]);
  var errorText = el("p", { class: "zw-error-text" });
  var retryButton = el("button", { class: "zw-primary zw-retry", type: "button" });
  var errorBox = el("div", { class: "zw-error", role: "alert", hidden: true }, [errorText, retryButton]);
  // Screen readers hear new bot messages from here (the log itself is not live, so the
  // user's own messages and a reloaded history are not read out again).
  var live = el("div", { class: "zw-visually-hidden", "aria-live": "polite", "aria-atomic": "true" });
  var scroller = el("div", { class: "zw-scroll" }, [privacy, log, typing]);

  var inputLabel = el("label", { class: "zw-visually-hidden", for: "zw-input" });
  var input = el("textarea", { id: "zw-input", class: "zw-input", rows: "1", maxlength: String(MAX_CHARS), autocomplete: "off" });
  var sendButton = el("button", { class: "zw-primary zw-send", type: "submit" });
  var counter = el("span", { class: "zw-counter", "aria-live": "polite", hidden: true });
  var form = el("form", { class: "zw-form", novalidate: true }, [inputLabel, input, sendButton, counter]);

  panel.appendChild(header);
  panel.appendChild(scroller);
  panel.appendChild(errorBox);
  panel.appendChild(form);
  panel.appendChild(live);
  shadow.appendChild(launcher);
  shadow.appendChild(panel);

  function renderTexts() {
    panel.setAttribute("lang", state.language);
    launcher.setAttribute("lang", state.language);
    launcher.textContent = t("launcher");
    title.textContent = t("title");
    subtitle.textContent = t("subtitle");
    languageButton.textContent = t("switchTo");
    languageButton.setAttribute("aria-label", t("switchLabel"));
    languageButton.setAttribute("lang", state.language === "nl" ? "en" : "nl");
    restartButton.textContent = t("restart");
    closeButton.setAttribute("aria-label", t("close"));
    closeButton.setAttribute("title", t("close"));
    privacyTitle.textContent = t("privacyTitle");
    privacyText.textContent = "";
    TEXTS[state.language].privacy.forEach(function (line) {
      privacyText.appendChild(el("p", { text: line.split("{days}").join(String(RETENTION_DAYS)) }));
    });
    if (safeUrl(PRIVACY_URL) && /^https?:/i.test(PRIVACY_URL.trim())) {
      privacyText.appendChild(el("p", {}, [link(t("privacyLink"), PRIVACY_URL)]));
    }
    acceptButton.textContent = t("accept");
    log.setAttribute("aria-label", t("title"));
    typing.querySelector(".zw-typing-text").textContent = t("typing");
    retryButton.textContent = t("retry");
    inputLabel.textContent = t("inputLabel");
    input.setAttribute("placeholder", t("placeholder"));
    sendButton.textContent = t("send");
    updateCounter();
  }

  function updateControls() {
    privacy.hidden = state.accepted;
    var disabled = !state.accepted || state.busy;
    input.disabled = !state.accepted;
    sendButton.disabled = disabled;
    restartButton.disabled = !state.accepted || state.busy;
    languageButton.disabled = state.busy;
  }

  function updateCounter() {
    var n = input.value.length;
    // Only near the limit: a count that is always there is noise for screen readers.
    counter.hidden = n < MAX_CHARS * 0.8;
    counter.textContent = t("chars", { n: n, max: MAX_CHARS });
  }

  function scrollDown() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // ---------------------------------------------------------------- messages

  function disableOldButtons() {
    Array.prototype.forEach.call(log.querySelectorAll(".zw-buttons button"), function (button) {
      button.disabled = true;
    });
  }

  function addUser(text) {
    var item = el("li", { class: "zw-message zw-user" }, [
      el("span", { class: "zw-visually-hidden", text: t("you") + ": " }),
      el("div", { class: "zw-bubble", text: text }),
    ]);
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function buttonsFor(buttons) {
    var group = el("div", { class: "zw-buttons", role: "group" });
    buttons.forEach(function (button) {
      if (!button || typeof button.title !== "string") {
        return;
      }
      var payload = typeof button.payload === "string" ? button.payload : button.title;
      group.appendChild(
        el("button", {
          type: "button",
          class: "zw-quick",
          text: button.title,
          onclick: function () {
            if (!state.busy) {
              send({ text: payload, title: button.title });
            }
          },
        })
      );
    });
    return group;
  }

  // ---------------------------------------------------------------- the plan

  // Steps whose text is shown at once: what to learn first, and when one can work. The other
  // steps show their title (the first step its contact too) and open on a tap, so that a plan
  // fits on a phone's screen; everything is on the saved page.
  var OPEN_STEPS = ["learn"];
  var MORE_PARTS = [["alternatives", "alternatives"], ["why", "why"], ["not_possible", "notPossible"], ["notices", "notices"]];

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  // A text with its hard words (marks: [start, end, anchor]) as buttons to their explanation.
  function markedText(text, marks, explain, tag) {
    var node = el(tag || "p");
    var at = 0;
    text = String(text || "");
    list(marks).forEach(function (mark) {
      if (!Array.isArray(mark) || mark.length < 3) return;
      var start = Number(mark[0]), end = Number(mark[1]);
      if (!(start >= at && end > start && end <= text.length)) return;
      node.appendChild(document.createTextNode(text.slice(at, start)));
      var word = text.slice(start, end);
      var target = explain(String(mark[2]));
      node.appendChild(target ? el("button", { type: "button", class: "zw-word", text: word, onclick: target }) : document.createTextNode(word));
      at = end;
    });
    node.appendChild(document.createTextNode(text.slice(at)));
    return node;
  }

  function noteItem(note) {
    var item = el("li");
    if (note.title) {
      item.appendChild(el("strong", { text: String(note.title) + ": " }));
    }
    item.appendChild(document.createTextNode(String(note.text || "")));
    if (note.certain === false) {
      item.appendChild(el("span", { class: "zw-uncertain", text: " (" + t("uncertain") + ")" }));
    }
    return item;
  }

  // The conversation's language wins over the widget's (the person may have asked the bot
  // to switch): the widget's own texts follow it.
  function followConversation(language) {
    if (TEXTS[language] && language !== state.language) {
      state.language = language;
      save("language", state.language);
      renderTexts();
    }
  }

  function plan(payload) {
    // The plan's labels in the plan's language: the person may have switched in a message.
    followConversation(payload.language);
    // The chat's message above it already says "this is your plan": the heading is for
    // screen readers and for finding the plan in a long conversation.
    var box = el("div", { class: "zw-plan", role: "group", "aria-label": t("planTitle") }, [
      el("h3", { class: "zw-plan-title zw-visually-hidden", text: t("planTitle") }),
    ]);
    var more = el("details", { class: "zw-more" }, [el("summary", { text: t("more") })]);
    var words = {};
    var wordList = el("dl", { class: "zw-words" });
    list(payload.words).forEach(function (word) {
      if (!word || !word.anchor) return;
      var term = el("dt", { tabindex: "-1", text: String(word.title || "") });
      wordList.appendChild(term);
      wordList.appendChild(el("dd", { text: String(word.text || "") }));
      words[String(word.anchor)] = term;
    });
    // A hard word opens "meer" at its explanation.
    function explain(anchor) {
      var term = words[anchor];
      return term ? function () {
        more.open = true;
        term.scrollIntoView({ block: "nearest" });
        term.focus();
      } : null;
    }
    var steps = el("ol", { class: "zw-steps" });
    list(payload.steps).forEach(function (step) {
      if (!step || typeof step !== "object") return;
      var item = el("li", { class: "zw-step zw-step-" + String(step.kind || "").replace(/[^a-z_]/g, "") }, [
        el("span", { class: "zw-step-number", "aria-hidden": "true", text: String(step.number || "") }),
      ]);
      var text = markedText(step.text, step.marks, explain);
      text.classList.add("zw-step-text");
      var title = String(step.title || "");
      var body = el("div", { class: "zw-step-body" });
      if (OPEN_STEPS.indexOf(step.kind) >= 0) {
        body.appendChild(el("p", { class: "zw-step-title", text: title }));
        body.appendChild(text);
      } else {
        body.appendChild(el("details", { class: "zw-step-more" }, [el("summary", { class: "zw-step-title", text: title }), text]));
      }
      if (step.number === payload.first_step && payload.contact) {
        body.appendChild(el("p", { class: "zw-contact" }, [el("strong", { text: t("contact") + " " }), String(payload.contact)]));
      }
      item.appendChild(body);
      steps.appendChild(item);
    });
    box.appendChild(steps);
    var parts = payload.more && typeof payload.more === "object" ? payload.more : {};
    MORE_PARTS.forEach(function (part) {
      var notes = list(parts[part[0]]).filter(function (n) { return n && n.text; });
      if (!notes.length) return;
      var items = el("ul");
      notes.forEach(function (note) { items.appendChild(noteItem(note)); });
      more.appendChild(el("h4", { text: t(part[1]) }));
      more.appendChild(items);
    });
    if (wordList.childNodes.length) {
      more.appendChild(el("h4", { text: t("words") }));
      more.appendChild(wordList);
    }
    if (more.childNodes.length > 1) {
      box.appendChild(more);
    }
    if (safeUrl(payload.link)) {
      var saved = el("p", { class: "zw-save" }, [link(t("saveAdvice"), payload.link)]);
      saved.firstChild.classList.add("zw-save-link");
      if (payload.link_until) {
        saved.appendChild(el("span", { class: "zw-save-until", text: " " + t("saveUntil", { date: String(payload.link_until) }) }));
      }
      box.appendChild(saved);
    }
    return box;
  }

  // Draws one bot message (the REST channel's shape); returns the plain text for the live region.
  function addBot(message, options) {
    var body = el("div", { class: "zw-bubble" });
    var spoken = [];
    if (typeof message.text === "string" && message.text) {
      body.appendChild(markdown(message.text));
      spoken.push(message.text);
    }
    if (typeof message.image === "string" && safeUrl(message.image)) {
      body.appendChild(el("img", { src: safeUrl(message.image), alt: "" }));
    }
    var custom = message.custom;
    var isAdvice = custom && typeof custom === "object" && custom.type === "advice" && Array.isArray(custom.steps);
    if (!body.childNodes.length && !isAdvice && !(Array.isArray(message.buttons) && message.buttons.length)) {
      return "";
    }
    var item = el("li", { class: "zw-message zw-bot" }, [el("span", { class: "zw-visually-hidden", text: t("bot") + ": " })]);
    if (body.childNodes.length) {
      item.appendChild(body);
    }
    if (isAdvice) {
      item.appendChild(plan(custom));
      spoken.push(t("planTitle"));
    }
    if (Array.isArray(message.buttons) && message.buttons.length) {
      var group = buttonsFor(message.buttons);
      if (options && options.old) {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
      }
      item.appendChild(group);
    }
    log.appendChild(item);
    scrollDown();
    return spoken.join(" ");
  }

  function announce(text) {
    if (!text) {
      return;
    }
    live.textContent = "";
    // A new node each time, so the same sentence twice is still read out.
    window.setTimeout(function () {
      live.textContent = t("newMessages") + text;
    }, 50);
  }

  // ---------------------------------------------------------------- network

  function request(method, path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    var headers = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (state.conversation) {
      headers.Authorization = "Bearer " + state.conversation.token;
    }
    return window
      .fetch(API + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
        credentials: "omit",
        mode: "cors",
      })
      .then(
        function (answer) {
          if (timer) window.clearTimeout(timer);
          return answer.json().then(
            function (data) { return { status: answer.status, data: data }; },
            function () { return { status: answer.status, data: null }; }
          );
        },
        function () {
          if (timer) window.clearTimeout(timer);
          return { status: 0, data: null }; // unreachable (server down, network, timeout)
        }
      );
  }

  function newConversation(path) {
    return request("POST", path || "/conversations").then(function (answer) {
      if (answer.status !== 201 || !answer.data || !answer.data.token) {
        throw answer;
      }
      state.conversation = { conversation_id: answer.data.conversation_id, token: answer.data.token };
      save("conversation", JSON.stringify(state.conversation));
      return state.conversation;
    });
  }

  function showError(answer, retry) {
    var text = t("errorDown");
    if (answer && answer.status === 413) {
      text = t("errorTooLong", { max: MAX_CHARS });
      retry = null;
    } else if (answer && answer.status === 429) {
      // Rate limited: the server says how long to wait (JSON body; the header is not
      // readable cross-origin). The retry button stays: the message is kept.
      var wait = answer.data && Number(answer.data.retry_after);
      text = t("errorBusy", { seconds: wait > 0 ? Math.ceil(wait) : 60 });
    } else if (answer && answer.status === 403) {
      text = t("errorBlocked"); // an origin the bot does not serve: retrying will not help
      retry = null;
    } else if (answer && answer.status === 503 && answer.data && answer.data.error === "storage_unavailable") {
      // Nothing was stored: the server's own words (domain.yml) in our language, if sent.
      var messages = answer.data.messages || {};
      var own = messages[state.language] || (state.language === "nl" && answer.data.message);
      text = typeof own === "string" && own ? own : t("errorStorage");
    } else if (answer && answer.status) {
      text = t("errorServer");
    }
    errorText.textContent = text;
    retryButton.hidden = !retry;
    state.retry = retry;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    state.retry = null;
  }

  function setBusy(busy) {
    state.busy = busy;
    typing.hidden = !busy;
    updateControls();
    if (busy) {
      scrollDown();
    }
  }

  // A random id per message, the same on every resend of it (the channel answers a resend
  // whose first attempt was stored with the stored answer, instead of a second turn).
  function messageId() {
    var bytes = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return "m-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Sends one message: {text, title?, silent?}. On failure the typed text goes back into
  // the input and the retry button (or sending the same text again) resends the very same
  // message, with the same id.
  function send(message) {
    if (state.busy) {
      return;
    }
    if (!message.id) message.id = messageId();
    state.unsent = null;
    clearError();
    var typed = !message.silent && !message.title;
    var bubble = message.silent ? null : addUser(message.title || message.text);
    if (typed) {
      input.value = "";
      updateCounter();
    }
    setBusy(true);
    var ready = state.conversation ? Promise.resolve(state.conversation) : newConversation();
    ready
      .then(function (conversation) {
        var body = { conversation_id: conversation.conversation_id, message: message.text };
        // The language goes along only at the start: later the switch button sends
        // /choose_language, and a typed "English please" must not be switched back.
        if (message.silent) body.language = state.language;
        if (message.title) body.title = message.title;
        if (message.silent) body.silent = true;
        body.message_id = message.id;
        // An earlier attempt may have been stored with its answer lost: say it is a resend.
        if (message.attempted) body.resend = true;
        message.attempted = true;
        return request("POST", "/webhook", body).then(function (answer) {
          if (answer.status === 401) {
            // Token expired or the conversation is gone: start a new one and try once more.
            state.conversation = null;
            save("conversation", null);
            if (!message.renewed) {
              message.renewed = true;
              throw { status: 401, renew: true };
            }
          }
          if (answer.status !== 200 || !Array.isArray(answer.data)) {
            throw answer;
          }
          return answer.data;
        });
      })
      .then(
        function (replies) {
          setBusy(false);
          disableOldButtons(); // answered: the earlier quick replies are history now
          var firstNew = log.children.length;
          var spoken = replies.map(function (reply) { return addBot(reply); }).filter(Boolean);
          // A long answer is read from its start, not from its end: a new plan from its top,
          // anything else from its first message.
          var first = log.children[firstNew];
          var newPlan = null;
          for (var i = firstNew; i < log.children.length && !newPlan; i++) {
            newPlan = log.children[i].querySelector(".zw-plan");
          }
          first = newPlan || first;
          if (first) {
            var top = first.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop - 8;
            if (top < scroller.scrollTop) scroller.scrollTop = top;
          }
          announce(spoken.join(" "));
          focusInput();
        },
        function (answer) {
          setBusy(false);
          if (bubble && bubble.parentNode) {
            bubble.parentNode.removeChild(bubble);
          }
          if (answer && answer.renew) {
            send(message);
            return;
          }
          if (typed && !input.value) {
            input.value = message.text; // the typed message is never lost
            updateCounter();
          }
          if (typed) state.unsent = message;
          showError(answer, function () {
            send(message);
          });
          retryButton.hidden || retryButton.focus();
        }
      );
  }

  function greet() {
    send({ text: "/greet", silent: true });
  }

  function loadHistory() {
    if (!state.conversation) {
      greet();
      return;
    }
    clearError();
    setBusy(true);
    request("GET", "/history").then(function (answer) {
      setBusy(false);
      if (answer.status === 401) {
        state.conversation = null;
        save("conversation", null);
        greet();
        return;
      }
      if (answer.status !== 200 || !answer.data || !Array.isArray(answer.data.messages)) {
        showError(answer, loadHistory);
        return;
      }
      log.textContent = "";
      followConversation(answer.data.language);
      var messages = answer.data.messages;
      var lastUser = -1;
      messages.forEach(function (m, i) { if (m.sender === "user") lastUser = i; });
      messages.forEach(function (m, i) {
        if (m.sender === "user") {
          addUser(String(m.text || ""));
        } else {
          // Only the buttons after the last answer can still be pressed.
          addBot(m, { old: i < lastUser });
        }
      });
      if (!messages.length) {
        greet();
      }
    });
  }

  function start() {
    if (state.started || !state.accepted) {
      return;
    }
    state.started = true;
    loadHistory();
  }

  // ---------------------------------------------------------------- controls

  function focusInput() {
    if (!panel.hidden && !input.disabled) {
      input.focus();
    }
  }

  function openPanel(focus) {
    state.open = true;
    save("open", "1");
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    start();
    if (!state.accepted) {
      // The notice from its top: its title in view, not its last line (the accept button).
      scroller.scrollTop = 0;
    }
    if (focus !== false) {
      if (state.accepted) {
        input.focus();
      } else {
        privacyTitle.focus({ preventScroll: true });
      }
    }
  }

  function closePanel() {
    state.open = false;
    save("open", null);
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { openPanel(true); });
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    }
  });

  acceptButton.addEventListener("click", function () {
    state.accepted = true;
    save("privacy", "accepted");
    updateControls();
    input.focus();
    start();
  });

  languageButton.addEventListener("click", function () {
    state.language = state.language === "nl" ? "en" : "nl";
    save("language", state.language);
    renderTexts();
    updateControls();
    languageButton.focus();
    if (state.accepted && state.started) {
      // The bot switches too, and says so in the new language.
      var name = state.language === "en" ? "English" : "Nederlands";
      send({ text: '/choose_language{"language": "' + state.language + '"}', title: name });
    }
  });

  restartButton.addEventListener("click", function () {
    if (state.busy) return;
    clearError();
    setBusy(true);
    var restart = function () {
      newConversation("/restart").then(
        function () {
          setBusy(false);
          log.textContent = "";
          input.value = "";
          updateCounter();
          greet();
          focusInput();
        },
        function (answer) {
          setBusy(false);
          showError(answer, restart);
        }
      );
    };
    restart();
  });

  retryButton.addEventListener("click", function () {
    var retry = state.retry;
    clearError();
    if (retry) retry();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || state.busy || !state.accepted) {
      return;
    }
    if (text.length > MAX_CHARS) {
      showError({ status: 413 }, null);
      return;
    }
    // The kept text sent again unchanged is a resend of that message (same id).
    var unsent = state.unsent;
    send(unsent && unsent.text === text ? unsent : { text: text });
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter is a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else sendButton.click();
    }
  });
  input.addEventListener("input", updateCounter);

  renderTexts();
  updateControls();

  function mount() {
    document.body.appendChild(host);
    if (state.open) {
      openPanel(false);
    }
  }

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }

  window.ZijwijzerWidget = { open: openPanel, close: closePanel };
})();
