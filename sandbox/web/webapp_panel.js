// The Mini App panel of the web chat: web_app buttons and the chat's menu button open the bot's
// Mini App in a phone-sized panel, launched with initData the sandbox signs for the current user
// (GET /sandbox/api/users/{id}/webapp), passed in the URL fragment as Telegram does.
"use strict";
(function () {
  const panel = document.createElement("div");
  panel.id = "webapp-panel";
  panel.hidden = true;
  panel.innerHTML = '<div class="wa-bar"><select id="wa-theme" aria-label="theme"><option value="light">light</option>' +
    '<option value="dark">dark</option></select><span id="wa-title"></span><button type="button" id="wa-close">✕</button></div>' +
    '<iframe id="wa-frame" title="Mini App"></iframe>';
  document.body.appendChild(panel);
  const style = document.createElement("style");
  style.textContent = "#webapp-panel{position:fixed;right:16px;top:16px;bottom:16px;width:390px;max-width:100vw;z-index:50;" +
    "display:flex;flex-direction:column;background:#fff;border:1px solid #ccc;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    "#webapp-panel[hidden]{display:none}.wa-bar{display:flex;gap:8px;align-items:center;padding:6px 8px;background:#eee}" +
    "#wa-title{flex:1;font-weight:600}#webapp-panel iframe{flex:1;border:0;width:100%}" +
    "#wa-menu{margin-left:8px}";
  document.head.appendChild(style);
  let lastUrl = null;

  async function open(url, title) {
    const current = (typeof state !== "undefined") && state.current;
    if (!current || current.kind !== "user") return;
    const theme = document.getElementById("wa-theme").value;
    const r = await fetch(`/sandbox/api/users/${current.id}/webapp?theme=${theme}`);
    const data = await r.json();
    lastUrl = url;
    document.getElementById("wa-title").textContent = title || "";
    document.getElementById("wa-frame").src = url.split("#")[0] + data.fragment;
    panel.hidden = false;
  }
  window.openMiniApp = open;
  document.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest(".web-app-btn");
    if (b) { e.preventDefault(); open(b.dataset.url, b.textContent); }
  });
  document.getElementById("wa-close").onclick = () => { panel.hidden = true; document.getElementById("wa-frame").src = "about:blank"; };
  document.getElementById("wa-theme").onchange = () => { if (lastUrl && !panel.hidden) open(lastUrl, document.getElementById("wa-title").textContent); };

  // The chat's menu button (setChatMenuButton): shown next to the chat title when it is a web_app.
  async function refreshMenu() {
    const head = document.getElementById("chat-head");
    const current = (typeof state !== "undefined") && state.current;
    let btn = document.getElementById("wa-menu");
    if (!head || !current || current.kind !== "user") { if (btn) btn.remove(); return; }
    try {
      const data = await (await fetch(`/sandbox/api/users/${current.id}/webapp`)).json();
      const menu = data.menu_button || {};
      if (menu.type !== "web_app") { if (btn) btn.remove(); return; }
      if (!btn) { btn = document.createElement("button"); btn.id = "wa-menu"; btn.type = "button"; head.appendChild(btn); }
      btn.textContent = "☰ " + menu.text;
      btn.onclick = () => open(menu.web_app.url, menu.text);
    } catch (err) { /* the sandbox is restarting */ }
  }
  setInterval(refreshMenu, 1500);
})();
