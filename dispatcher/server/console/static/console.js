// qms console: live updates over a WebSocket, actions without reloading, keyboard shortcuts.
// Works without this script too (plain forms); no library, nothing fetched from outside.
"use strict";
(function () {
  const csrfOf = (form) => (form.querySelector("input[name=csrf]") || {}).value || "";
  const result = () => document.getElementById("result");

  function newRequestId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);  // works on plain http, unlike crypto.randomUUID
    return "con-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function swapLive(htmlText) {
    const live = document.getElementById("live");
    if (!live) return;
    const focused = document.activeElement;
    const key = focused && live.contains(focused) && focused.closest("form")
      ? focused.closest("form").getAttribute("action") : null;
    // What staff ticked (the materials checklist) survives the update.
    const ticked = new Set(Array.from(live.querySelectorAll("input[data-keep]:checked"),
      (i) => i.dataset.keep));
    live.innerHTML = htmlText;
    live.querySelectorAll("input[data-keep]").forEach((i) => {
      if (ticked.has(i.dataset.keep)) i.checked = true;
    });
    // Live parts are shared by every open page: this page's CSRF token goes in here.
    const token = document.querySelector("header input[name=csrf]");
    if (token) live.querySelectorAll("input[name=csrf]").forEach((i) => { i.value = token.value; });
    if (key) {
      const again = live.querySelector(`form[action="${CSS.escape(key)}"] button`);
      if (again) again.focus();
    }
    syncButtons();
  }

  function syncButtons() {
    const state = document.querySelector(".counter-live");
    if (!state) return;
    const paused = state.dataset.paused === "true";
    document.querySelectorAll(".verb-pause").forEach((b) => { b.disabled = paused; });
    document.querySelectorAll(".verb-resume").forEach((b) => { b.disabled = !paused; });
  }

  function say(text, bad) {
    const el = result();
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
  }

  async function submit(form, event) {
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    if (form.dataset.busy) return;  // one press at a time; the server also guards repeats
    form.dataset.busy = "1";
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    const body = new URLSearchParams(new FormData(form));
    body.set("request_id", newRequestId());
    try {
      const response = await fetch(form.action, {
        method: "POST", body, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrfOf(form) },
      });
      let data = {};
      try { data = await response.json(); } catch (e) { data = {}; }
      if (response.status === 401) { window.location.href = "/console/login?next=" + encodeURIComponent(location.pathname); return; }
      say(data.message || (data.error && data.error.message) || response.statusText, !data.ok);
      const live = document.getElementById("live");
      // A push may have brought a newer state already: never roll the page back.
      if (data.html && live && !(Number(live.dataset.seq) > Number(data.seq))) {
        live.dataset.seq = data.seq;
        swapLive(data.html);
      }
    } catch (e) {
      say(String(e), true);
    } finally {
      delete form.dataset.busy;
      if (button && document.body.contains(button)) button.disabled = false;
      syncButtons();
    }
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.js-action");
    if (form) submit(form, event);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag)) return;
    const key = event.key.toLowerCase();
    if (key === "t") {
      const details = document.getElementById("transfer");
      if (details) { details.open = true; details.querySelector("select").focus(); event.preventDefault(); }
      return;
    }
    const buttons = Array.from(document.querySelectorAll(`.verbs button[data-key="${key}"]`))
      .filter((b) => !b.disabled);
    if (buttons.length) { event.preventDefault(); buttons[0].closest("form").requestSubmit(); }
  });

  function connect(delay) {
    const live = document.getElementById("live");
    if (!live || !window.WebSocket) return;
    const params = new URLSearchParams({ view: live.dataset.live });
    if (live.dataset.n) params.set("n", live.dataset.n);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/console/live?${params}`);
    const banner = document.getElementById("banner");
    ws.onopen = () => { if (banner) banner.hidden = true; delay = 1000; };
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (Number(live.dataset.seq) > Number(data.seq)) return;
      live.dataset.seq = data.seq;
      swapLive(data.html);
    };
    ws.onclose = (event) => {
      if (event.code === 4401) {  // the session ended (logged out elsewhere, expired)
        window.location.href = "/console/login?next=" + encodeURIComponent(location.pathname);
        return;
      }
      if (banner) banner.hidden = false;
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }

  document.addEventListener("DOMContentLoaded", () => { syncButtons(); connect(1000); });
})();
