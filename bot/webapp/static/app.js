/* The coordinator's Mini App: one page, no build step. Telegram's telegram-web-app.js is not
   loaded (no network at run time): initData and theme come from the launch URL fragment
   (#tgWebAppData=...&tgWebAppThemeParams=...), exactly as Telegram passes them. */
"use strict";
(function () {
  const T = {
    zh: {ledger: "台账", notices: "通知", activities: "活动", feedback: "反馈", members: "会员",
      total: "会员总数", active: "在册", pending: "待审核", joined: "本期新增", held: "已办活动", sent: "已发通知",
      byCategory: "按类别", byGroup: "按组织", compose: "发通知", audience: "接收范围", everyone: "全部会员",
      recipients: "接收人", text: "内容", when: "定时发送（可选）", repeat: "重复（可选，如 每周一 09:00 至 2027-06-30）",
      preview: "预览", send: "发送", delivered: "已送达", acked: "已确认", notAcked: "未确认", nudge: "提醒未确认者",
      create: "新建活动", title: "标题", place: "地点", starts: "开始", ends: "结束", deadline: "报名截止",
      capacity: "名额（可选）", groups: "面向组织", save: "保存", roster: "名单", search: "搜索", checkin: "签到",
      checked: "已签到", s_new: "待处理", s_assigned: "已分派", s_in_progress: "处理中", s_answered: "已答复", s_closed: "已关闭",
      overdue: "逾期", assignMe: "分派给我", note: "备注", answer: "答复", group: "组织", category: "类别",
      expertise: "专长", name: "姓名", filter: "筛选", approvals: "待审核申请", approve: "通过", reject: "不通过",
      back: "返回", more: "更多", none: "暂无", forbidden: "无权访问", error: "出错了", done: "完成",
      st_sent: "已发送", st_scheduled: "已定时", st_recurring: "重复", st_cancelled: "已取消", st_published: "报名中",
      st_closed: "已截止", edit: "编辑", all: "全部", signedIn: "登录信息无效，请从 Telegram 重新打开", year: "本年", month: "本月", export: "导出", exported: "名单已发送到您的聊天", myFeedback: "我的反馈", kind: "类型",
      k_suggestion: "建议", k_need: "需求", k_complaint: "投诉", k_other: "其他", anonymous: "匿名", remaining: "今日还可提交",
      myProfile: "我的资料", organisation: "单位", position: "职务", expertiseNote: "专长补充", interests: "兴趣", phone: "手机",
      phoneHint: "手机号请在聊天中用 /profile 分享联系人修改", profileSaved: "资料已保存", attachments: "附件（照片或文件）", tooLarge: "文件太大", tooMany: "附件太多",
      windowOpens: "签到窗口开放于", anyway: "仍要签到", workbook: "导出台账（Excel）", summaryPdf: "工作总结（PDF）", sentToChat: "已发送到您与机器人的聊天：", working: "正在生成…"},
    en: {ledger: "Ledger", notices: "Notices", activities: "Activities", feedback: "Feedback", members: "Members",
      total: "Members", active: "Active", pending: "Pending", joined: "Joined", held: "Activities held", sent: "Notices sent",
      byCategory: "By category", byGroup: "By group", compose: "Compose", audience: "Audience", everyone: "All members",
      recipients: "recipients", text: "Text", when: "Send at (optional)", repeat: "Repeat (optional, e.g. every Monday 09:00 until 2027-06-30)",
      preview: "Preview", send: "Send", delivered: "delivered", acked: "acknowledged", notAcked: "Not acknowledged", nudge: "Nudge",
      create: "New activity", title: "Title", place: "Place", starts: "Starts", ends: "Ends", deadline: "Sign-up deadline",
      capacity: "Capacity (optional)", groups: "For groups", save: "Save", roster: "Roster", search: "Search", checkin: "Check in",
      checked: "Checked in", s_new: "New", s_assigned: "Assigned", s_in_progress: "In progress", s_answered: "Answered", s_closed: "Closed",
      overdue: "Overdue", assignMe: "Assign to me", note: "Note", answer: "Answer", group: "Group", category: "Category",
      expertise: "Expertise", name: "Name", filter: "Filter", approvals: "Join requests", approve: "Approve", reject: "Reject",
      back: "Back", more: "More", none: "Nothing yet", forbidden: "Not allowed", error: "Something went wrong", done: "Done",
      st_sent: "sent", st_scheduled: "scheduled", st_recurring: "recurring", st_cancelled: "cancelled", st_published: "open",
      st_closed: "closed", edit: "Edit", all: "All", signedIn: "Sign-in data invalid: open again from Telegram", year: "This year", month: "This month", export: "Export", exported: "The roster was sent to your chat", myFeedback: "My feedback", kind: "Kind",
      k_suggestion: "Suggestion", k_need: "Need", k_complaint: "Complaint", k_other: "Other", anonymous: "Anonymous", remaining: "Left today",
      myProfile: "My profile", organisation: "Organisation", position: "Position", expertiseNote: "More about your expertise", interests: "Interests", phone: "Phone",
      phoneHint: "change it in the chat with /profile (share your contact)", profileSaved: "Profile saved", attachments: "Attachments (photos or files)", tooLarge: "File too large", tooMany: "Too many attachments",
      windowOpens: "Check-in opens", anyway: "Check in anyway", workbook: "Export ledger (Excel)", summaryPdf: "Work summary (PDF)", sentToChat: "Sent to your chat with the bot: ", working: "Preparing…"}
  };
  const VIEWS = ["ledger", "notices", "activities", "feedback", "members"];

  // --- launch parameters from the fragment (kept for in-page navigation) --------------------------
  const frag = new URLSearchParams(location.hash.slice(1));
  if (frag.get("tgWebAppData")) sessionStorage.setItem("tgLaunch", location.hash.slice(1));
  const launch = new URLSearchParams(frag.get("tgWebAppData") ? location.hash.slice(1) : (sessionStorage.getItem("tgLaunch") || ""));
  const initData = launch.get("tgWebAppData") || "";
  let theme = {};
  try { theme = JSON.parse(launch.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
  let user = {};
  try { user = JSON.parse(new URLSearchParams(initData).get("user") || "{}"); } catch (e) { user = {}; }
  const root = document.documentElement.style;
  const map = {bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
    button_color: "--button", button_text_color: "--button-text", secondary_bg_color: "--bg2"};
  for (const k in map) if (/^#[0-9a-fA-F]{3,8}$/.test(theme[k] || "")) root.setProperty(map[k], theme[k]);
  const dark = (() => { const c = (theme.bg_color || "#ffffff").replace("#", ""); const n = parseInt(c.length === 3 ? c.replace(/./g, "$&$&") : c.slice(0, 6), 16);
    return ((n >> 16 & 255) * 299 + (n >> 8 & 255) * 587 + (n & 255) * 114) / 1000 < 128; })();
  document.documentElement.dataset.theme = dark ? "dark" : "light";

  let lang = localStorage.getItem("lang") || ((user.language_code || "zh").startsWith("en") ? "en" : "zh");
  const t = (k) => (T[lang][k] || k);
  const $ = (sel, el) => (el || document).querySelector(sel);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const view = $("#view");
  let me = null, current = "ledger", charts = [];

  // The button of an action is held (disabled) while its request runs: a double tap sends it once.
  let pressed = null;
  document.addEventListener("click", (e) => { pressed = e.target.closest ? e.target.closest("button") : null; }, true);
  async function api(path, body, query) {
    const held = body && pressed && pressed.isConnected && !pressed.disabled ? pressed : null;
    pressed = null;
    if (held) held.disabled = true;
    try {
      const q = "?" + new URLSearchParams(Object.assign({ui: lang}, query || {})).toString();
      const r = await fetch("api/" + path + q, {method: body ? "POST" : "GET", headers: {"Authorization": "tma " + initData,
        "Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
      if (r.status === 401) { view.innerHTML = `<p class="muted">${t("signedIn")}</p>`; throw new Error("401"); }
      const data = r.headers.get("content-type", "").includes("json") ? await r.json() : {};
      if (!r.ok) { toast(data.text || (r.status === 403 ? t("forbidden") : t("error"))); throw new Error(String(r.status)); }
      return data;
    } finally { if (held) held.disabled = false; }
  }
  function toast(text) { const el = $("#toast"); el.textContent = text; el.hidden = false; clearTimeout(toast.h); toast.h = setTimeout(() => { el.hidden = true; }, 2500); }
  const iso = (v) => (v ? new Date(v).toISOString() : null);
  const local = (v) => (v ? new Date(v).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {dateStyle: "medium", timeStyle: "short"}) : "");
  const pct = (a, b) => (b ? Math.round(100 * a / b) : 0);

  function tabs() {
    $("#tabs").innerHTML = VIEWS.map((v) => `<button type="button" data-v="${v}" class="${v === current ? "on" : ""}">${t(v)}</button>`).join("");
    $("#lang").textContent = lang === "zh" ? "EN" : "中文";
  }
  $("#tabs").addEventListener("click", (e) => { const v = e.target.dataset && e.target.dataset.v; if (v) show(v); });
  $("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", lang); document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en"; show(current); });

  function show(v, arg) {
    current = v; tabs(); charts.forEach((c) => c.dispose()); charts = [];
    view.dataset.view = v; view.innerHTML = "";
    ({ledger, notices, activities, feedback, members})[v](arg).catch(() => {});
  }

  // --- 台账 --------------------------------------------------------------------------------------------
  async function ledger(arg) {
    const d = await api("ledger", null, arg && arg.period ? {period: arg.period} : null);
    view.innerHTML = `<div class="row"><h2 style="flex:1">${t("ledger")} <span class="muted">${esc(d.period.first)} – ${esc(d.period.last)}</span></h2>
      <select id="period" aria-label="period">${[["year", t("year")], ["month", t("month")]].map(([k, l]) => `<option value="${d.periods[k]}" ${d.periods[k] === d.period.code ? "selected" : ""}>${l}</option>`).join("")}</select></div>
      <div class="kpis">${[["total", d.members.total], ["active", d.members.active], ["pending", d.members.pending_approvals],
        ["joined", d.members.joined], ["held", d.activities.held], ["sent", d.notices.sent]].map(([k, n]) => `<div class="kpi"><b>${n}</b><span>${t(k)}</span></div>`).join("")}</div>
      <div class="row"><button class="ghost" id="xlsx">${t("workbook")}</button><button class="ghost" id="pdf">${t("summaryPdf")}</button></div>
      <p id="sent" class="muted" role="status"></p>
      <h2>${t("byCategory")}</h2><div id="c1" class="chart"></div><h2>${t("byGroup")}</h2><div id="c2" class="chart"></div>`;
    $("#period").onchange = () => show("ledger", {period: $("#period").value});
    const send = (btn, path, body) => async () => {
      btn.disabled = true; $("#sent").textContent = t("working");
      try { const r = await api(path, body); $("#sent").textContent = t("sentToChat") + r.file; }
      catch (e) { $("#sent").textContent = ""; } finally { btn.disabled = false; }
    };
    $("#xlsx").onclick = send($("#xlsx"), "ledger/export", {});
    $("#pdf").onclick = send($("#pdf"), "ledger/summary", {period: d.period.code});
    $("#period").style.width = "auto";
    if (!window.echarts) return;
    const base = {backgroundColor: "transparent", textStyle: {color: getComputedStyle(document.body).color}};
    const c1 = echarts.init($("#c1"), dark ? "dark" : null, {renderer: "canvas"});
    c1.setOption({...base, tooltip: {}, series: [{type: "pie", radius: ["35%", "65%"], data: d.by_category.map((c) => ({name: c.label, value: c.active, key: c.key}))}]});
    c1.on("click", (p) => show("members", {category: p.data.key || ""}));
    const groups = d.by_group.slice(0, 12);
    const c2 = echarts.init($("#c2"), dark ? "dark" : null, {renderer: "canvas"});
    c2.setOption({...base, tooltip: {}, grid: {left: 90, right: 10, top: 10, bottom: 20}, xAxis: {type: "value"},
      yAxis: {type: "category", data: groups.map((g) => g.name), axisLabel: {width: 80, overflow: "truncate"}},
      series: [{type: "bar", data: groups.map((g) => g.active)}]});
    c2.on("click", (p) => show("members", {group: String(groups[p.dataIndex].id)}));
    charts = [c1, c2];
  }

  // --- 通知 --------------------------------------------------------------------------------------------
  async function notices(arg) {
    if (arg && arg.id) return notice(arg.id);
    if (arg && arg.compose) return compose();
    const page = (arg && arg.page) || 0;
    const d = await api("notices", null, {page: String(page)});
    view.innerHTML = `<div class="row"><h2 style="flex:1">${t("notices")}</h2><button class="act" id="new">${t("compose")}</button></div>` +
      (d.items.length ? d.items.map((n) => `<div class="card" data-id="${n.id}"><div>${esc(n.text)}</div>
        <div class="meta">#${n.id} · ${t("st_" + n.status)} · ${n.delivered}/${n.recipients} ${t("delivered")} · ${n.acknowledged} ${t("acked")}</div>
        <div class="bar"><i style="width:${pct(n.acknowledged, n.recipients)}%"></i></div></div>`).join("") : `<p class="muted">${t("none")}</p>`) +
      (d.total > d.per_page ? `<div class="row"><button class="ghost" id="prev" ${page ? "" : "disabled"}>‹</button><span class="muted">${page + 1}/${Math.ceil(d.total / d.per_page)}</span><button class="ghost" id="next" ${(page + 1) * d.per_page < d.total ? "" : "disabled"}>›</button></div>` : "");
    if (d.total > d.per_page) { $("#prev").onclick = () => show("notices", {page: page - 1}); $("#next").onclick = () => show("notices", {page: page + 1}); }
    $("#new").onclick = () => show("notices", {compose: true});
    view.querySelectorAll(".card").forEach((el) => { el.onclick = () => show("notices", {id: el.dataset.id}); });
  }
  async function notice(id) {
    const d = await api("notices/" + id);
    const s = d.stats;
    view.innerHTML = `<button class="ghost" id="back">${t("back")}</button><div class="card"><div class="preview">${esc(d.text)}</div>
      <div class="meta">${s.delivered}/${s.recipients} ${t("delivered")} · <span id="ackn">${s.acknowledged}</span> ${t("acked")}</div>
      <div class="bar"><i style="width:${pct(s.acknowledged, s.recipients)}%"></i></div></div>
      <div class="row"><h2 style="flex:1">${t("notAcked")} (${d.pending.total})</h2><button class="act" id="nudge">${t("nudge")}</button></div>
      ${Object.entries(d.pending.by_group).map(([g, n]) => `<div class="meta">${esc(g)}: ${n}</div>`).join("")}
      <table>${d.pending.items.map((p) => `<tr><td>${esc(p.name)}</td><td class="muted">${esc(p.group_name)}</td></tr>`).join("")}</table>`;
    $("#back").onclick = () => show("notices");
    $("#nudge").onclick = async () => { const r = await api("notices/" + id + "/nudge", {}); toast(`${t("nudge")}: ${r.queued}`); };
  }
  async function compose() {
    const groups = me.groups, cats = me.categories;
    view.innerHTML = `<button class="ghost" id="back">${t("back")}</button><h2>${t("compose")}</h2>
      <label>${t("audience")}</label><div class="chips" id="aud">${groups.map((g) => `<label><input type="checkbox" name="g" value="${g.id}">${esc(g.name)}</label>`).join("")}</div>
      <div class="chips" style="margin-top:6px">${cats.map((c) => `<label><input type="checkbox" name="c" value="${esc(c.key)}">${esc(c.label)}</label>`).join("")}</div>
      <p><b id="count">…</b> ${t("recipients")}</p>
      <label for="txt">${t("text")}</label><textarea id="txt" rows="5"></textarea>
      <label for="at">${t("when")}</label><input id="at" type="datetime-local">
      <label for="rep">${t("repeat")}</label><input id="rep" type="text">
      <div class="row" style="margin-top:10px"><button class="ghost" id="pv">${t("preview")}</button><button class="act" id="send">${t("send")}</button></div>
      <div id="out"></div>`;
    const body = (send) => ({group_ids: [...view.querySelectorAll("input[name=g]:checked")].map((i) => +i.value),
      categories: [...view.querySelectorAll("input[name=c]:checked")].map((i) => i.value), text: $("#txt").value,
      at: iso($("#at").value), repeat: $("#rep").value.trim() || null, send});
    const count = async () => { const r = await api("notices/audience", body(false)); $("#count").textContent = r.count; };
    view.querySelectorAll(".chips input").forEach((i) => { i.onchange = count; });
    $("#back").onclick = () => show("notices");
    $("#pv").onclick = async () => { const r = await api("notices", body(false)); $("#out").innerHTML = `<h2>${t("preview")} · ${r.count} ${t("recipients")}</h2><div class="preview">${esc(r.text)}</div>`; };
    $("#send").onclick = async () => { const r = await api("notices", body(true)); toast(`${t("done")}: ${r.recipients} ${t("recipients")}`); show("notices", {id: r.id}); };
    await count();
  }

  // --- 活动 --------------------------------------------------------------------------------------------
  async function activities(arg) {
    if (arg && arg.roster) return roster(arg.roster);
    if (arg && arg.form) return activityForm(arg.form);
    const d = await api("activities");
    view.innerHTML = `<div class="row"><h2 style="flex:1">${t("activities")}</h2><button class="act" id="new">${t("create")}</button></div>` +
      (d.items.length ? d.items.map((a) => `<div class="card" data-id="${a.id}"><b>${esc(a.title)}</b>
        <div class="meta">${local(a.starts_at)} · ${esc(a.place)} · ${a.seats_taken}${a.capacity ? "/" + a.capacity : ""} · ${t("st_" + a.status)}</div></div>`).join("") : `<p class="muted">${t("none")}</p>`);
    $("#new").onclick = () => show("activities", {form: "new"});
    view.querySelectorAll(".card").forEach((el) => { el.onclick = () => show("activities", {roster: el.dataset.id}); });
  }
  function activityForm(which) {
    view.innerHTML = `<button class="ghost" id="back">${t("back")}</button><h2>${which === "new" ? t("create") : t("edit")}</h2>
      <label for="ti">${t("title")}</label><input id="ti"><label for="pl">${t("place")}</label><input id="pl">
      <label for="st">${t("starts")}</label><input id="st" type="datetime-local"><label for="en">${t("ends")}</label><input id="en" type="datetime-local">
      ${which === "new" ? `<label for="dl">${t("deadline")}</label><input id="dl" type="datetime-local"><label for="cap">${t("capacity")}</label><input id="cap" type="number" min="1">
      <label>${t("groups")}</label><div class="chips">${me.groups.map((g) => `<label><input type="checkbox" name="g" value="${g.id}">${esc(g.name)}</label>`).join("")}</div>` : ""}
      <p><button class="act" id="save">${t("save")}</button></p>`;
    $("#back").onclick = () => show("activities");
    $("#save").onclick = async () => {
      if (which === "new") {
        const r = await api("activities", {title: $("#ti").value, place: $("#pl").value, starts_at: iso($("#st").value), ends_at: iso($("#en").value),
          signup_deadline: iso($("#dl").value) || iso($("#st").value), capacity: $("#cap").value || null,
          group_ids: [...view.querySelectorAll("input[name=g]:checked")].map((i) => +i.value)});
        toast(`${t("done")}: ${r.recipients} ${t("recipients")}`); show("activities", {roster: r.id});
      } else {
        const b = {}; if ($("#ti").value) b.title = $("#ti").value; if ($("#pl").value) b.place = $("#pl").value;
        if ($("#st").value) b.starts_at = iso($("#st").value); if ($("#en").value) b.ends_at = iso($("#en").value);
        await api("activities/" + which, b); toast(t("done")); show("activities", {roster: which});
      }
    };
  }
  const mark = (member, on) => (on ? `<button class="ghost on" data-m="${member}" aria-pressed="true">✓ ${t("checked")}</button>`
    : `<button class="ghost" data-m="${member}" aria-pressed="false">${t("checkin")}</button>`);
  async function roster(id) {
    const d = await api("activities/" + id + "/roster");
    view.innerHTML = `<button class="ghost" id="back">${t("back")}</button> <button class="ghost" id="edit">${t("edit")}</button> <button class="ghost" id="export">${t("export")}</button>
      <h2>${esc(d.activity.title)}</h2><div class="meta">${local(d.activity.starts_at)} · ${esc(d.activity.place)}</div>
      <label for="q">${t("search")}</label><input id="q" type="search">
      <table id="ro">${d.items.map((e) => `<tr data-name="${esc((e.name || "").toLowerCase())}"><td>${esc(e.name)}</td><td class="muted">${esc(e.status_label || e.status)}</td>
        <td>${mark(e.member_id, e.checked_in)}</td></tr>`).join("")}</table>`;
    $("#back").onclick = () => show("activities");
    $("#edit").onclick = () => show("activities", {form: id});
    $("#export").onclick = async () => { await api("activities/" + id + "/export", {}); toast(t("exported")); };
    $("#q").oninput = () => { const q = $("#q").value.toLowerCase(); view.querySelectorAll("#ro tr").forEach((r) => { r.hidden = !r.dataset.name.includes(q); }); };
    // One toggle per row, as in the chat: a tap checks in (in the check-in window; outside it only
    // after "check in anyway"), a tap on a checked-in member undoes it.
    const toggle = async (cell, member, confirm) => {
      const r = await api(`activities/${id}/checkin/${member}`, confirm ? {confirm: true} : {});
      if (r.done === "outside_window") {
        cell.innerHTML = `<span class="muted">${t("windowOpens")} ${local(r.opens)}</span> <button class="act" data-anyway>${t("anyway")}</button>`;
        $("[data-anyway]", cell).onclick = () => toggle(cell, member, true);
        return;
      }
      cell.innerHTML = mark(member, r.checked_in); bind(cell);
    };
    const bind = (el) => el.querySelectorAll("button[data-m]").forEach((b) => { b.onclick = () => toggle(b.parentElement, b.dataset.m, false); });
    bind(view);
  }

  // --- 反馈 --------------------------------------------------------------------------------------------
  async function feedback(arg) {
    const status = (arg && arg.status) || "new";
    const trail = (arg && arg.trail) || [];  // the `before` keys of the pages so far (server-side paging)
    const d = await api("feedback", null, trail.length ? {status, before: trail[trail.length - 1]} : {status});
    view.innerHTML = `<div class="subtabs">${["new", "assigned", "in_progress", "answered", "overdue"].map((s) => `<button data-s="${s}" class="${s === status ? "on" : ""}">${t(s === "overdue" ? "overdue" : "s_" + s)}</button>`).join("")}</div>` +
      (d.items.length ? d.items.map((i) => `<div class="card" data-id="${i.id}"><b>${esc(i.ref)}</b> <span class="meta">${t("s_" + i.status)}${i.overdue ? " · " + t("overdue") : ""} · ${esc(i.groups.join(", "))}${i.attachments ? ` · 📎 ${i.attachments}` : ""}</span>
        <div>${esc(i.body)}</div>${i.answer ? `<div class="preview">${esc(i.answer)}</div>` : ""}
        <div class="row" style="margin-top:6px"><button class="ghost" data-a="assign">${t("assignMe")}</button><button class="ghost" data-a="note">${t("note")}</button><button class="ghost" data-a="answer">${t("answer")}</button></div>
        <div class="box"></div></div>`).join("") : `<p class="muted">${t("none")}</p>`) +
      `<div class="row"><span class="muted">${d.total}</span><button class="ghost" id="prev" ${trail.length ? "" : "disabled"}>‹</button><button class="ghost" id="next" ${d.next ? "" : "disabled"}>›</button></div>`;
    $("#prev").onclick = () => show("feedback", {status, trail: trail.slice(0, -1)});
    $("#next").onclick = () => show("feedback", {status, trail: trail.concat([d.next])});
    view.querySelectorAll(".subtabs button").forEach((b) => { b.onclick = () => show("feedback", {status: b.dataset.s}); });
    view.querySelectorAll(".card button[data-a]").forEach((b) => {
      const card = b.closest(".card"), id = card.dataset.id, a = b.dataset.a;
      b.onclick = async () => {
        if (a === "assign") { await api(`feedback/${id}/assign`, {}); toast(t("done")); return; }
        const box = $(".box", card);
        box.innerHTML = `<textarea rows="3"></textarea><div class="row"><button class="ghost" data-p>${t("preview")}</button><button class="act" data-s>${a === "note" ? t("save") : t("send")}</button></div><div data-o></div>`;
        $("[data-p]", box).onclick = async () => { const r = await api(`feedback/${id}/answer`, {text: $("textarea", box).value}); $("[data-o]", box).innerHTML = `<div class="preview">${esc(r.text)}</div>`; };
        $("[data-s]", box).onclick = async () => { await api(`feedback/${id}/${a}`, {text: $("textarea", box).value, send: true}); toast(t("done")); show("feedback", {status}); };
      };
    });
  }

  // --- 会员 --------------------------------------------------------------------------------------------
  async function members(arg) {
    if (arg && arg.card) return card(arg.card);
    const f = Object.assign({group: "", category: "", expertise: "", name: ""}, arg || {});
    const trail = f.trail || [];  // the keys the pages so far started after (server-side keyset paging)
    const q = {}; for (const k of ["group", "category", "expertise", "name"]) if (f[k] !== "") q[k] = f[k];
    if (trail.length) q.after = trail[trail.length - 1];
    const [d, ap] = await Promise.all([api("members", null, q), api("approvals")]);
    view.innerHTML = `<div class="row"><select id="fg"><option value="">${t("group")}: ${t("all")}</option>${me.groups.map((g) => `<option value="${g.id}" ${String(g.id) === f.group ? "selected" : ""}>${esc(g.name)}</option>`).join("")}</select>
      <select id="fc"><option value="">${t("category")}: ${t("all")}</option>${me.categories.map((c) => `<option value="${esc(c.key)}" ${c.key === f.category ? "selected" : ""}>${esc(c.label)}</option>`).join("")}</select>
      <input id="fe" placeholder="${t("expertise")}" value="${esc(f.expertise)}"><input id="fn" placeholder="${t("name")}" value="${esc(f.name)}">
      <button class="act" id="go">${t("filter")}</button></div>
      <p class="muted" id="pages">${d.total} · ${trail.length + 1}/${Math.max(1, Math.ceil(d.total / d.per_page))}</p>
      <table>${d.items.map((m) => `<tr data-id="${m.id}"><td>${esc(m.name)}</td><td class="muted">${esc(m.category)}</td><td class="muted">${esc(m.expertise.join(", "))}</td></tr>`).join("")}</table>
      <div class="row"><button class="ghost" id="prev" ${trail.length ? "" : "disabled"}>‹</button><button class="ghost" id="next" ${d.next ? "" : "disabled"}>›</button></div>
      <h2>${t("approvals")} (${ap.total})</h2>${ap.items.map((r) => `<div class="card"><b>${esc(r.name)}</b> <span class="meta">${esc(r.group_name)}</span>
        <div class="row"><button class="act" data-d="1" data-m="${r.member_id}" data-g="${r.group_id}">${t("approve")}</button><button class="ghost" data-d="0" data-m="${r.member_id}" data-g="${r.group_id}">${t("reject")}</button></div></div>`).join("")}`;
    const filters = () => ({group: $("#fg").value, category: $("#fc").value, expertise: $("#fe").value.trim(), name: $("#fn").value.trim()});
    $("#go").onclick = () => show("members", filters());
    $("#prev").onclick = () => show("members", Object.assign({}, f, {trail: trail.slice(0, -1)}));
    $("#next").onclick = () => show("members", Object.assign({}, f, {trail: trail.concat([d.next])}));
    view.querySelectorAll("tr[data-id]").forEach((r) => { r.onclick = () => show("members", {card: r.dataset.id}); });
    view.querySelectorAll("button[data-d]").forEach((b) => { b.onclick = async () => { await api(`approvals/${b.dataset.m}/${b.dataset.g}`, {approve: b.dataset.d === "1"}); toast(t("done")); show("members", f); }; });
  }
  async function card(id) {
    const m = await api("members/" + id);
    view.innerHTML = `<button class="ghost" id="back">${t("back")}</button><div class="card"><h2>${esc(m.name)}</h2>
      <div class="meta">${esc(m.category)} · ${esc(m.organisation)} ${esc(m.position)}</div><div>${esc(m.groups.join(" / "))}</div>
      <div>${esc(m.expertise.join(", "))}</div><div>${esc(m.phone)}</div></div>`;
    $("#back").onclick = () => show("members");
  }

  // --- a member: their own profile and feedback (the chat's /profile and /feedback as forms) -----------
  async function upload(path, form) {
    const q = "?" + new URLSearchParams({ui: lang}).toString();
    const r = await fetch("api/" + path + q, {method: "POST", headers: {"Authorization": "tma " + initData}, body: form});
    const data = (r.headers.get("content-type") || "").includes("json") ? await r.json() : {};
    if (!r.ok) { toast(data.text || (r.status === 413 ? t("tooLarge") : t("error"))); throw new Error(String(r.status)); }
    return data;
  }
  async function memberHome(which) {
    which = which || "feedback";
    current = which;
    $("#tabs").innerHTML = [["profile", t("myProfile")], ["feedback", t("myFeedback")]].map(([k, l]) => `<button type="button" data-m="${k}" class="${k === which ? "on" : ""}">${l}</button>`).join("");
    $("#tabs").onclick = (e) => { const m = e.target.dataset && e.target.dataset.m; if (m) memberHome(m).catch(() => {}); };
    $("#lang").textContent = lang === "zh" ? "EN" : "中文";
    $("#lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", lang); memberHome(which).catch(() => {}); };
    return which === "profile" ? memberProfile() : memberFeedback();
  }
  async function memberProfile() {
    const p = await api("mine/profile");
    view.dataset.view = "profile";
    const field = (id, k, v) => `<label for="${id}">${t(k)}</label><input id="${id}" value="${esc(v || "")}">`;
    view.innerHTML = `<h2>${t("myProfile")}</h2>${field("pn", "name", p.name)}
      <label for="pc">${t("category")}</label><select id="pc">${p.categories.map((c) => `<option value="${esc(c.key)}" ${c.key === p.category ? "selected" : ""}>${esc(c.label)}</option>`).join("")}</select>
      ${field("po", "organisation", p.organisation)}${field("pp", "position", p.position)}
      <label>${t("expertise")}</label><div class="chips">${p.expertise_tags.map((e) => `<label><input type="checkbox" name="x" value="${esc(e.key)}" ${p.expertise.includes(e.key) ? "checked" : ""}>${esc(e.label)}</label>`).join("")}</div>
      ${field("pe", "expertiseNote", p.expertise_note)}${field("pi", "interests", p.interests)}
      <p class="muted">${t("phone")}: ${esc(p.phone || "—")} · ${t("phoneHint")}</p>
      <p><button class="act" id="ps">${t("save")}</button></p><p id="saved" class="muted" role="status"></p>`;
    $("#ps").onclick = async () => {
      await api("mine/profile", {name: $("#pn").value, category: $("#pc").value, organisation: $("#po").value, position: $("#pp").value,
        expertise: [...view.querySelectorAll("input[name=x]:checked")].map((i) => i.value), expertise_note: $("#pe").value, interests: $("#pi").value});
      $("#saved").textContent = t("profileSaved"); toast(t("profileSaved"));
    };
  }
  async function memberFeedback() {
    const d = await api("mine/feedback");
    view.dataset.view = "mine";
    view.innerHTML = `<h2>${t("myFeedback")}</h2><label for="fk">${t("kind")}</label><select id="fk">${["suggestion", "need", "complaint", "other"].map((k) => `<option value="${k}">${t("k_" + k)}</option>`).join("")}</select>
      <label for="ft">${t("text")}</label><textarea id="ft" rows="5"></textarea>
      <label for="ff">${t("attachments")} (≤ ${d.max_files})</label><input id="ff" type="file" multiple accept="image/*,application/pdf,.doc,.docx,.xls,.xlsx,.txt">
      <label style="display:flex;gap:6px;align-items:center"><input id="fa" type="checkbox" style="width:auto">${t("anonymous")}</label>
      <p><button class="act" id="fs">${t("send")}</button> <span class="muted">${t("remaining")}: ${d.remaining_today}</span></p>
      ${d.items.map((i) => `<div class="card"><b>${esc(i.ref)}</b> <span class="meta">${t("s_" + i.status)}</span><div>${esc(i.body)}</div>${i.answer ? `<div class="preview">${esc(i.answer)}</div>` : ""}</div>`).join("")}`;
    $("#fs").onclick = async () => {
      const files = [...$("#ff").files];
      if (files.length > d.max_files) { toast(t("tooMany")); return; }
      $("#fs").disabled = true;
      try {
        let r;
        if (files.length) {
          const form = new FormData();
          form.append("kind", $("#fk").value); form.append("text", $("#ft").value); form.append("anonymous", $("#fa").checked ? "1" : "0");
          files.forEach((f) => form.append("file", f, f.name));
          r = await upload("mine/feedback", form);
        } else {
          r = await api("mine/feedback", {kind: $("#fk").value, text: $("#ft").value, anonymous: $("#fa").checked});
        }
        toast(`${t("done")}: ${r.ref}`); memberHome("feedback").catch(() => {});
      } finally { $("#fs").disabled = false; }
    };
  }

  api("me").then((d) => { me = d; if (d.role === "member") { memberHome(new URLSearchParams(location.search).get("view") === "profile" ? "profile" : "feedback").catch(() => {}); return; }
    if (d.role !== "coordinator" && d.role !== "owner") { tabs(); view.innerHTML = `<p class="muted">${t("forbidden")}</p>`; return; } const params = new URLSearchParams(location.search), start = params.get("view"), id = params.get("id");
    if (VIEWS.includes(start)) show(start, /^\d+$/.test(id || "") ? (start === "activities" ? {roster: id} : {id}) : undefined); else show("ledger"); }).catch(() => {});
  tabs();
})();
