// Web chat for the liaison-bot sandbox: plain DOM APIs, no build step, no external network.
// Talks only to the JSON control API of the fake Telegram under /sandbox/api.
"use strict";

const API = "/sandbox/api";
const state = {
  info: { bot: {}, owner_ids: [], background_ids: [], notes: {} },
  users: [],
  groups: [],
  current: null,          // {kind: "user"|"group", id}
  chat: null,             // last /users/{id}/chat or group view
  lastSeq: 0,
  unread: {},             // chat id -> count
  groupSender: null,
  stick: true,            // follow the newest message (the view is at the bottom)
  autoTop: 0,             // where the page itself last scrolled the view to (below it: the user scrolled up)
};
const $ = (id) => document.getElementById(id);

// ---------- page language (the browser's: Chinese or English) ----------
const TEXTS = {
  en: {
    pageTitle: "liaison-bot sandbox chat", sandbox: "sandbox", users: "Users", groups: "Groups",
    newUser: "+ New user", name: "Name", language: "Language", ownerCheck: "Owner (uses a configured owner id)",
    create: "Create", newGroup: "+ New group with the bot", groupTitle: "Title",
    allUsersJoin: "All users are added as members.", chooseUser: "Choose a user", commands: "Commands",
    sendAs: "Send as", placeholder: "Message or /command", attachTitle: "Send a photo or document", file: "File",
    contactTitle: "Share my contact", contact: "Contact", send: "Send", chattingWith: "chatting with @{0}",
    owner: "owner", notStarted: "not started", notStartedTitle: "has not started the bot yet: the bot cannot message them",
    noGroups: "no group chats yet", members: "{0} members", userId: "user id {0}", noLanguage: "no language",
    chatId: "chat id {0}", emptyUser: "No messages yet — send /start", emptyGroup: "No messages in this group yet",
    unsupported: "(unsupported message)", edited: "edited ", as: "as {0}", phonePrompt: "Share contact: phone number",
    ownersTaken: "Every configured owner id (LIAISON_OWNERS) already has a user.",
  },
  zh: {
    pageTitle: "liaison-bot 沙盒聊天", sandbox: "沙盒", users: "用户", groups: "群聊",
    newUser: "+ 新建用户", name: "姓名", language: "语言", ownerCheck: "所有者（使用配置的所有者 ID）",
    create: "创建", newGroup: "+ 新建含机器人的群聊", groupTitle: "群名",
    allUsersJoin: "所有用户都会加入该群。", chooseUser: "选择用户", commands: "命令",
    sendAs: "发送者", placeholder: "输入消息或 /命令", attachTitle: "发送图片或文件", file: "文件",
    contactTitle: "分享我的联系方式", contact: "联系方式", send: "发送", chattingWith: "正在与 @{0} 聊天",
    owner: "所有者", notStarted: "未启动机器人", notStartedTitle: "尚未启动机器人：机器人无法给他发消息",
    noGroups: "还没有群聊", members: "{0} 名成员", userId: "用户 ID {0}", noLanguage: "未设语言",
    chatId: "群 ID {0}", emptyUser: "还没有消息——发送 /start 开始", emptyGroup: "这个群还没有消息",
    unsupported: "（不支持的消息）", edited: "已编辑 ", as: "以 {0} 身份", phonePrompt: "分享联系方式：手机号",
    ownersTaken: "配置的所有者 ID（LIAISON_OWNERS）都已有用户。",
  },
};
const LANG = ((navigator.languages && navigator.languages[0]) || navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
function t(key, ...values) {
  const text = TEXTS[LANG][key] || TEXTS.en[key] || key;
  return text.replace(/\{(\d)\}/g, (_, i) => String(values[Number(i)]));
}
function applyLanguage() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  document.title = t("pageTitle");
}

// ---------- drawer (narrow screens: the user list slides over the chat) ----------
function setDrawer(open) {
  $("app").classList.toggle("drawer-open", open);
  $("scrim").hidden = !open;
  $("drawer-btn").setAttribute("aria-expanded", String(open));
}
const COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774", "#e5ca77"];

// ---------- HTTP ----------
async function api(path, options = {}) {
  const init = { method: options.method || "GET", headers: {} };
  if (options.json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    init.body = options.form;
  }
  const response = await fetch(API + path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// ---------- safe rendering of Telegram HTML ----------
const TAGS = {
  b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u", s: "s", strike: "s", del: "s",
  code: "code", pre: "pre", blockquote: "blockquote",
};
const SAFE_URL = /^(https?:|tg:|mailto:)/i;

// Rebuild the bot's HTML from scratch, keeping only Telegram's tag set; all text becomes text nodes.
function renderTelegramHtml(source) {
  const doc = new DOMParser().parseFromString("<body>" + (source || ""), "text/html");
  const out = document.createDocumentFragment();
  const walk = (node, parent) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        parent.appendChild(document.createTextNode(child.nodeValue));
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = child.tagName.toLowerCase();
      let el = null;
      if (TAGS[tag]) {
        el = document.createElement(TAGS[tag]);
      } else if (tag === "a") {
        const href = child.getAttribute("href") || "";
        if (SAFE_URL.test(href)) {
          el = document.createElement("a");
          el.href = href;
          el.target = "_blank";
          el.rel = "noopener noreferrer";
        } else {
          el = document.createElement("span");
        }
      } else if (tag === "tg-spoiler" || (tag === "span" && child.getAttribute("class") === "tg-spoiler")) {
        el = document.createElement("span");
        el.className = "spoiler";
        el.addEventListener("click", () => el.classList.toggle("shown"));
      }
      if (el) {
        walk(child, el);
        parent.appendChild(el);
      } else {
        walk(child, parent);  // unknown tag (or tg-emoji): keep only its text
      }
    }
  };
  walk(doc.body, out);
  return out;
}

// ---------- helpers ----------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}
function displayName(user) {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}
function avatar(name, id) {
  const letter = (Array.from(name || "?")[0] || "?").toUpperCase();
  return el("div", { class: "avatar", style: "background:" + COLORS[Math.abs(id) % COLORS.length] }, letter);
}
function isOwner(id) { return state.info.owner_ids.includes(id); }
function timeOf(message) {
  if (!message.date) return "";
  const d = new Date(message.date * 1000);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}
let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 2500);
}
function showError(err) { toast("⚠ " + (err && err.message ? err.message : String(err))); }

// ---------- sidebar ----------
function renderSidebar() {
  const users = $("user-list");
  users.replaceChildren();
  for (const user of state.users) {
    const name = displayName(user);
    const badges = [];
    if (isOwner(user.id)) badges.push(el("span", { class: "badge" }, t("owner")));
    if (!user.started) badges.push(el("span", { class: "not-started", title: t("notStartedTitle") }, t("notStarted")));
    const note = state.info.notes[String(user.id)];
    const unread = state.unread[user.id];
    const item = el("li", { "data-user-id": String(user.id), title: "user id " + user.id, onclick: () => select("user", user.id) },
      avatar(name, user.id),
      el("div", { class: "who" },
        el("div", { class: "name" }, name, ...badges),
        el("div", { class: "muted small name" }, note || user.language_code || "")),
      unread ? el("span", { class: "unread" }, String(unread)) : null);
    if (state.current && state.current.kind === "user" && state.current.id === user.id) item.classList.add("active");
    users.appendChild(item);
  }
  const groups = $("group-list");
  groups.replaceChildren();
  if (!state.groups.length) groups.appendChild(el("li", { class: "muted small" }, t("noGroups")));
  for (const group of state.groups) {
    const unread = state.unread[group.id];
    const item = el("li", { "data-group-id": String(group.id), onclick: () => select("group", group.id) },
      avatar(group.title, group.id),
      el("div", { class: "who" }, el("div", { class: "name" }, group.title || String(group.id)),
        el("div", { class: "muted small" }, group.type + " · " + t("members", group.member_ids.length))),
      unread ? el("span", { class: "unread" }, String(unread)) : null);
    if (state.current && state.current.kind === "group" && state.current.id === group.id) item.classList.add("active");
    groups.appendChild(item);
  }
  $("drawer-unread").hidden = !Object.values(state.unread).some(Boolean);
}

async function loadLists() {
  const [users, groups] = await Promise.all([api("/users"), api("/groups")]);
  state.users = users;
  state.groups = groups;
  renderSidebar();
}

// ---------- chat view ----------
async function select(kind, id) {
  state.current = { kind, id };
  delete state.unread[id];
  hideCommandMenu();
  setDrawer(false);
  renderSidebar();
  await refreshChat(true);
  $("text").focus();
}

async function refreshChat(scroll) {
  const current = state.current;
  if (!current) return;
  let view;
  if (current.kind === "user") {
    view = await api("/users/" + current.id + "/chat");
  } else {
    const group = state.groups.find((g) => g.id === current.id) || { title: String(current.id), member_ids: [] };
    view = { group, messages: await api("/groups/" + current.id + "/messages"), reply_keyboard: null, commands: [] };
  }
  if (!state.current || state.current.id !== current.id) return;  // switched meanwhile
  state.chat = view;
  renderChat(scroll);
}

function renderChat(forceScroll) {
  const view = state.chat;
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const isUser = state.current.kind === "user";
  if (isUser) {
    const user = view.user;
    $("chat-title").textContent = displayName(user) + "  ⇄  " + (state.info.bot.first_name || "bot");
    const parts = [t("userId", user.id), user.language_code || t("noLanguage")];
    if (isOwner(user.id)) parts.push(t("owner"));
    if (!user.started) parts.push(t("notStarted"));
    const note = state.info.notes[String(user.id)];
    if (note) parts.push(note);
    $("chat-sub").textContent = parts.join(" · ");
  } else {
    $("chat-title").textContent = view.group.title;
    $("chat-sub").textContent = view.group.type + " · " + t("chatId", view.group.id);
  }
  $("contact-btn").hidden = !isUser;
  $("attach-btn").hidden = !isUser;
  $("menu-btn").hidden = !isUser;
  renderGroupSender(isUser ? null : view.group);
  box.replaceChildren();
  if (!view.messages.length) {
    box.appendChild(el("div", { class: "empty" }, isUser ? t("emptyUser") : t("emptyGroup")));
  }
  for (const message of view.messages) box.appendChild(renderMessage(message, isUser));
  renderReplyKeyboard(view.reply_keyboard);
  state.stick = forceScroll || nearBottom;
  if (state.stick) toBottom(box);
}

function toBottom(box) {
  box.scrollTop = box.scrollHeight;
  state.autoTop = box.scrollTop;
}

// A photo gets its height only once loaded: keep following the newest message if we were.
function followAfterLoad() {
  const box = $("messages");
  if (state.stick) toBottom(box);
}

function renderMessage(message, isPrivate) {
  const outgoing = !message.from_bot;
  const wrap = el("div", { class: "msg" + (outgoing ? " out" : ""), "data-message-id": String(message.message_id) });
  const bubble = el("div", { class: "bubble" });
  if (!isPrivate && message.from) {
    bubble.appendChild(el("div", { class: "sender" }, message.from_bot ? (state.info.bot.first_name || "bot") : displayName(message.from)));
  }
  if (message.photo && message.photo.length) {
    const largest = message.photo[message.photo.length - 1];
    bubble.appendChild(el("img", { class: "photo", alt: "photo", onload: followAfterLoad,
      src: API + "/files/" + encodeURIComponent(largest.file_id) }));
  }
  if (message.document) {
    const doc = message.document;
    const name = doc.file_name || "document";
    bubble.appendChild(el("div", { class: "doc" }, el("div", { class: "icon" }, "⬇"),
      el("div", {}, el("a", { href: API + "/files/" + encodeURIComponent(doc.file_id), download: name }, name),
        el("div", { class: "muted small" }, Math.max(1, Math.round((doc.file_size || 0) / 1024)) + " KB"))));
  }
  if (message.contact) {
    const c = message.contact;
    bubble.appendChild(el("div", { class: "contact" }, "☎ " + [c.first_name, c.last_name].filter(Boolean).join(" ") + " " + c.phone_number));
  }
  if (message.html !== null && message.html !== undefined && message.text !== null) {
    bubble.appendChild(el("div", { class: "text" }, renderTelegramHtml(message.html)));
  } else if (!message.photo && !message.document && !message.contact) {
    bubble.appendChild(el("div", { class: "muted text" }, t("unsupported")));
  }
  bubble.appendChild(el("div", { class: "meta" }, (message.edited ? t("edited") : "") + timeOf(message)));
  wrap.appendChild(bubble);
  const markup = message.reply_markup;
  if (markup && markup.inline_keyboard) {
    const kb = el("div", { class: "inline-kb" });
    for (const row of markup.inline_keyboard) {
      const line = el("div", { class: "row" });
      for (const button of row) {
        if (button.web_app) {  // opened in the Mini App panel (webapp_panel.js)
          line.appendChild(el("button", { type: "button", class: "web-app-btn", "data-url": button.web_app.url }, button.text + " ▣"));
        } else if (button.url) {
          line.appendChild(el("a", { href: SAFE_URL.test(button.url) ? button.url : "#", target: "_blank", rel: "noopener noreferrer" }, button.text + " ↗"));
        } else {
          line.appendChild(el("button", { type: "button", onclick: () => press(message, button) }, button.text));
        }
      }
      kb.appendChild(line);
    }
    wrap.appendChild(kb);
  }
  return wrap;
}

function renderReplyKeyboard(keyboard) {
  const box = $("reply-keyboard");
  box.replaceChildren();
  if (!keyboard || !keyboard.keyboard || state.current.kind !== "user") {
    box.hidden = true;
    return;
  }
  for (const row of keyboard.keyboard) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      const label = typeof button === "string" ? button : button.text;
      const icon = typeof button === "object" && button.request_contact ? "☎ " : "";
      line.appendChild(el("button", { type: "button", onclick: () => pressReply(label) }, icon + label));
    }
    box.appendChild(line);
  }
  box.hidden = false;
}

function renderGroupSender(group) {
  const select = $("group-sender");
  if (!group) {
    select.hidden = true;
    return;
  }
  select.replaceChildren();
  for (const user of state.users) {
    select.appendChild(el("option", { value: String(user.id) }, t("as", displayName(user))));
  }
  if (state.groupSender) select.value = String(state.groupSender);
  select.hidden = false;
}

// ---------- actions ----------
async function sendText(text) {
  if (!text.trim() || !state.current) return;
  if (state.current.kind === "user") {
    await api("/users/" + state.current.id + "/send", { method: "POST", json: { text } });
  } else {
    const userId = Number($("group-sender").value);
    await api("/groups/" + state.current.id + "/send", { method: "POST", json: { user_id: userId, text } });
  }
}

async function press(message, button) {
  const userId = state.current.kind === "user" ? state.current.id : Number($("group-sender").value);
  const body = { message_id: message.message_id, text: button.text, wait_answer: 5 };
  if (state.current.kind === "group") body.chat_id = state.current.id;
  try {
    const result = await api("/users/" + userId + "/press", { method: "POST", json: body });
    if (result.answer && result.answer.text) {
      if (result.answer.show_alert) window.alert(result.answer.text);
      else toast(result.answer.text);
    }
  } catch (err) { showError(err); }
}

async function pressReply(label) {
  try {
    await api("/users/" + state.current.id + "/reply_button", { method: "POST", json: { text: label } });
  } catch (err) { showError(err); }
}

async function shareContact() {
  if (!state.current || state.current.kind !== "user") return;
  const fallback = "+86138" + String(state.current.id % 100000000).padStart(8, "0");
  const phone = window.prompt(t("phonePrompt"), fallback);
  if (!phone) return;
  try {
    await api("/users/" + state.current.id + "/contact", { method: "POST", json: { phone_number: phone } });
  } catch (err) { showError(err); }
}

async function sendFile(file) {
  if (!file || !state.current || state.current.kind !== "user") return;
  const form = new FormData();
  form.append("file", file, file.name);
  const caption = $("text").value.trim();
  if (caption) form.append("caption", caption);
  const path = file.type.startsWith("image/") ? "/photo" : "/upload";
  try {
    await api("/users/" + state.current.id + path, { method: "POST", form });
    $("text").value = "";
  } catch (err) { showError(err); }
}

// ---------- command menu ----------
function commands() {
  return (state.chat && state.chat.commands) || [];
}
function showCommandMenu(filter) {
  const menu = $("command-menu");
  menu.replaceChildren();
  const prefix = (filter || "").replace(/^\//, "").toLowerCase();
  const found = commands().filter((c) => c.command.startsWith(prefix));
  if (!found.length || state.current.kind !== "user") {
    menu.hidden = true;
    return;
  }
  for (const command of found) {
    menu.appendChild(el("div", { "data-command": command.command, onclick: () => chooseCommand(command.command) },
      el("span", { class: "cmd" }, "/" + command.command), el("span", { class: "muted" }, command.description)));
  }
  menu.hidden = false;
}
function hideCommandMenu() { $("command-menu").hidden = true; }
async function chooseCommand(command) {
  hideCommandMenu();
  $("text").value = "";
  try { await sendText("/" + command); } catch (err) { showError(err); }
}

// ---------- live updates ----------
let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { refreshChat(false).catch(showError); }, 30);
}

async function pollEvents() {
  for (;;) {
    try {
      const body = await api("/events?after=" + state.lastSeq + "&timeout=25");
      state.lastSeq = body.last;
      let listsChanged = false;
      for (const event of body.events) {
        const chatId = event.message.chat_id;
        if ((state.info.background_ids || []).includes(chatId)) continue;  // members nobody plays
        const user = state.users.find((u) => u.id === chatId);
        const knownGroup = state.groups.some((g) => g.id === chatId);
        if (!user && !knownGroup) listsChanged = true;
        if (user && !user.started && !event.message.from_bot) listsChanged = true;  // "not started" is stale now
        if (state.current && state.current.id === chatId) {
          scheduleRefresh();
        } else if (event.kind === "new" && event.message.from_bot) {
          state.unread[chatId] = (state.unread[chatId] || 0) + 1;
        }
      }
      if (body.events.length) {
        if (listsChanged) await loadLists();
        else renderSidebar();
      }
    } catch (err) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---------- wiring ----------
function wire() {
  $("drawer-btn").addEventListener("click", () => setDrawer(!$("app").classList.contains("drawer-open")));
  $("scrim").addEventListener("click", () => setDrawer(false));
  $("messages").addEventListener("scroll", () => {
    // Our own scroll's event can arrive after a photo above the bottom grew: only a scroll up from where
    // the page put the view stops following; reaching the bottom again resumes it.
    const box = $("messages");
    if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) state.stick = true;
    else if (box.scrollTop < state.autoTop - 2) state.stick = false;
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("text");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    hideCommandMenu();
    try { await sendText(text); } catch (err) { showError(err); input.value = text; }
  });
  $("text").addEventListener("input", async () => {
    const value = $("text").value;
    if (value === "/") await refreshChat(false).catch(showError);  // the bot may have changed the menu
    const now = $("text").value;
    if (now.startsWith("/") && !now.includes(" ")) showCommandMenu(now);
    else hideCommandMenu();
  });
  $("text").addEventListener("keydown", (event) => { if (event.key === "Escape") hideCommandMenu(); });
  $("menu-btn").addEventListener("click", async () => {
    if (!$("command-menu").hidden) {
      hideCommandMenu();
      return;
    }
    await refreshChat(false).catch(showError);  // the bot may have changed the menu
    showCommandMenu("");
  });
  $("attach-btn").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", async () => {
    const input = $("file-input");
    await sendFile(input.files[0]);
    input.value = "";
  });
  $("contact-btn").addEventListener("click", shareContact);
  $("group-sender").addEventListener("change", () => { state.groupSender = Number($("group-sender").value); });
  $("new-user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("nu-error").textContent = "";
    const name = $("nu-name").value.trim();
    if (!name) return;
    const [first, ...rest] = name.split(" ");
    const body = { first_name: first, last_name: rest.join(" ") || null, language_code: $("nu-lang").value };
    if ($("nu-owner").checked) {
      const free = state.info.owner_ids.filter((id) => !state.users.some((u) => u.id === id));
      if (!free.length) {
        $("nu-error").textContent = t("ownersTaken");
        return;
      }
      body.user_id = free[0];
    }
    try {
      const user = await api("/users", { method: "POST", json: body });
      $("nu-name").value = "";
      $("nu-owner").checked = false;
      $("new-user").open = false;  // keep the user list in view
      await loadLists();
      await select("user", user.id);
    } catch (err) { $("nu-error").textContent = err.message; }
  });
  $("new-group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const title = $("ng-title").value.trim();
    if (!title) return;
    try {
      const group = await api("/groups", { method: "POST", json: { title, member_ids: state.users.map((u) => u.id) } });
      $("ng-title").value = "";
      $("new-group").open = false;
      await loadLists();
      await select("group", group.id);
    } catch (err) { showError(err); }
  });
}

async function main() {
  applyLanguage();
  wire();
  state.info = await api("/info");
  $("bot-name").textContent = t("chattingWith", state.info.bot.username || "bot");
  const head = await api("/events?after=1000000000&timeout=0");
  state.lastSeq = head.last;
  await loadLists();
  if (state.users.length) await select("user", state.users[0].id);
  pollEvents();
}

main().catch(showError);
