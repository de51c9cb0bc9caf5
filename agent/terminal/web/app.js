// Officers' terminal. Plain script, no build step, no outside assets.
// Every value from the server goes into the page as text, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = "";
  let me = null;
  let events = null;
  let openId = "";
  const cards = new Map(); // hit id -> {card, el}

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  async function api(method, url, body) {
    const opt = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.headers["X-CSRF-Token"] = csrf;
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(url, opt);
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    if (r.status === 401 && me) { showLogin("Your session has ended. Log in again."); }
    if (!r.ok) { const err = new Error(data.error || ("error " + r.status)); err.status = r.status; throw err; }
    return data;
  }

  function words(s) { return String(s || "").replace(/[_-]+/g, " "); }
  function when(t) {
    const d = new Date(t);
    return isNaN(d) ? "" : d.toISOString().slice(11, 19) + " UTC";
  }
  function ago(t, now) {
    const s = Math.max(0, Math.round((new Date(now) - new Date(t)) / 1000));
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " days";
  }

  // ---- session ----
  async function start() {
    const s = await api("GET", "/api/session");
    csrf = s.csrf;
    if (s.logged_in) { enter(s); } else { showLogin(""); }
  }

  function showLogin(msg) {
    me = null;
    if (events) { events.close(); events = null; }
    $("work").hidden = true; $("who").hidden = true; $("login").hidden = false;
    $("login-error").textContent = msg || "";
    $("login-password").value = "";
    if (msg) { api("GET", "/api/session").then((s) => { csrf = s.csrf; }).catch(() => {}); }
    $("login-name").focus();
  }

  function enter(s) {
    me = s; csrf = s.csrf;
    $("login").hidden = true; $("work").hidden = false; $("who").hidden = false;
    $("who-name").textContent = s.user; $("who-role").textContent = s.role;
    $("manual").hidden = !s.may_work; $("tech-note").hidden = s.may_work;
    $("no-hits").hidden = !s.may_work;
    cards.clear(); $("hits").replaceChildren();
    connect();
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    try {
      const s = await api("POST", "/api/login", { name: $("login-name").value, password: $("login-password").value });
      $("login-password").value = "";
      enter(s);
    } catch (e) {
      $("login-error").textContent = e.message;
      $("login-password").value = "";
      $("login-password").focus();
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout", {}); } catch (e) { /* logged out either way */ }
    const s = await api("GET", "/api/session"); csrf = s.csrf;
    showLogin("Logged out.");
  });

  // ---- live stream ----
  function connect() {
    if (events) events.close();
    events = new EventSource("/api/events");
    let ready = false; // hits before "ready" are the backlog: no flash, no beep
    $("live-state").textContent = "connecting…";
    events.addEventListener("ready", () => { ready = true; $("live-state").textContent = "live"; $("live-state").className = "ok"; });
    events.addEventListener("hit", (m) => addHit(JSON.parse(m.data), ready));
    events.addEventListener("outcome", (m) => setOutcome(JSON.parse(m.data)));
    events.addEventListener("banner", (m) => renderBanner(JSON.parse(m.data)));
    events.addEventListener("expired", () => showLogin("Your session has ended. Log in again."));
    events.onerror = () => {
      ready = false;
      $("live-state").textContent = "reconnecting…"; $("live-state").className = "bad";
      api("GET", "/api/session").then((s) => { if (!s.logged_in && me) showLogin("Your session has ended. Log in again."); }).catch(() => {});
    };
  }

  function addHit(c, live) {
    if (cards.has(c.id)) { if (c.outcome) setOutcome(c.outcome); return; }
    const a = el("article", "hit");
    a.tabIndex = 0; a.dataset.id = c.id; a.setAttribute("role", "listitem");
    a.appendChild(el("div", "action", "ACTION: " + (c.action || "see alert")));
    if (c.warnings && c.warnings.length) {
      const w = el("div", "warnings");
      w.appendChild(el("span", "warn-label", "WARNING: "));
      c.warnings.forEach((x, i) => { if (i) w.appendChild(document.createTextNode(" · ")); w.appendChild(el("strong", "warn", words(x).toUpperCase())); });
      a.appendChild(w);
    }
    a.appendChild(el("div", "category", words(c.category) + (c.source ? " (" + c.source + ")" : "")));
    a.appendChild(el("div", "meta", words(c.kind) + " in " + c.field + " · " + c.match + " match, score " + Number(c.score).toFixed(2) +
      " · " + [c.device, c.lane].filter(Boolean).join(" / ") + " · " + when(c.time)));
    a.appendChild(el("div", "status pending", "Awaiting outcome"));
    const b = el("button", "open", "Open explanation");
    b.type = "button";
    b.addEventListener("click", () => openHit(c.id));
    a.appendChild(b);
    a.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === a) openHit(c.id); });
    cards.set(c.id, { card: c, el: a });
    $("hits").prepend(a);
    $("no-hits").hidden = true;
    if (c.outcome) setOutcome(c.outcome);
    if (live) { a.classList.add("new"); beep(); }
    title();
  }

  function setOutcome(o) {
    const h = cards.get(o.hit_id);
    if (!h) return;
    h.card.outcome = o;
    h.el.classList.remove("new"); h.el.classList.add("settled");
    const st = h.el.querySelector(".status");
    st.className = "status settled";
    st.textContent = "Outcome: " + words(o.outcome) + " (" + o.officer + ", " + when(o.time) + ")";
    if (openId === o.hit_id) showDone(o);
    title();
  }

  function title() {
    let n = 0;
    cards.forEach((h) => { if (!h.card.outcome) n++; });
    document.title = (n ? "(" + n + ") " : "") + "Border post terminal";
  }

  let audio = null;
  function beep() {
    try {
      audio = audio || new AudioContext();
      const o = audio.createOscillator(); const g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.1; o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.2);
    } catch (e) { /* no sound: the card still flashes */ }
  }

  // ---- banners ----
  function renderBanner(b) {
    const box = $("banners");
    box.replaceChildren();
    if (!b.link_up) {
      const since = b.link_down_since ? " since " + when(b.link_down_since) + " (" + ago(b.link_down_since, b.now) + ")" : "";
      box.appendChild(el("div", "banner bad", "LINK TO CENTRAL DOWN" + since + ". Checks go on; hits and outcomes wait and are sent when it returns."));
    }
    if (b.fault) {
      box.appendChild(el("div", "banner alarm", "CHECKS NOT RECORDED: " + b.fault + ". Devices get errors; check by hand and call the technician" +
        (b.remedy ? " (" + b.remedy + ")" : "") + "."));
    }
    if (b.stale) {
      box.appendChild(el("div", "banner alarm", "STALE REPLICA: " + (b.stale_reason || "the watch list may be out of date") + ". New alerts may be missing: check with central by phone for urgent cases."));
    }
    const asOf = b.replica_as_of ? ", confirmed current " + ago(b.replica_as_of, b.now) + " ago" : ", never confirmed by central";
    box.appendChild(el("div", "banner info", "Replica " + (b.replica_version || "unknown") + asOf +
      (b.outbox_depth ? " · " + b.outbox_depth + " waiting for central" : "") + (b.link_up ? " · link up" : "")));
  }

  // ---- explanation ----
  function row(tbody, k, v) {
    if (v === undefined || v === null || v === "") return;
    const tr = el("tr");
    tr.appendChild(el("th", "", k)); tr.appendChild(el("td", "", v));
    tbody.appendChild(tr);
  }

  async function openHit(id) {
    let d;
    try { d = await api("GET", "/api/hits/" + encodeURIComponent(id)); } catch (e) { alert(e.message); return; }
    openId = id;
    const body = $("detail-body");
    body.replaceChildren();
    body.appendChild(el("div", "action big", "ACTION: " + (d.action || "see alert")));
    if (d.warnings && d.warnings.length) body.appendChild(el("div", "warnings", "WARNING: " + d.warnings.map((x) => words(x).toUpperCase()).join(" · ")));
    body.appendChild(el("div", "category", words(d.category) + (d.source ? " (" + d.source + ")" : "")));
    const t = el("table", "facts"); const tb = el("tbody"); t.appendChild(tb);
    row(tb, "Field", d.field + " (" + words(d.kind) + ")");
    row(tb, "Read as", d.raw);
    row(tb, "Normalised value", d.value);
    row(tb, "Country", d.country);
    row(tb, "OCR correction", d.correction || (d.kind === "person" ? "" : "none"));
    row(tb, "Match", d.match + ", score " + Number(d.score).toFixed(2));
    row(tb, "Alert", d.alert_id + " version " + d.alert_version);
    row(tb, "Legal basis", d.legal_basis);
    row(tb, "Issued by", d.authority);
    row(tb, "Check", d.check_id + " · " + [d.device, d.lane].filter(Boolean).join(" / ") + " · " + when(d.time));
    body.appendChild(t);
    if (d.name) {
      body.appendChild(el("h3", "", "Name tokens: alert name “" + d.name.alert_name + "”"));
      const nt = el("table", "tokens"); const head = el("tr");
      ["Checked", "Alert", "How", "Similarity"].forEach((h) => head.appendChild(el("th", "", h)));
      const th = el("thead"); th.appendChild(head); nt.appendChild(th);
      const nb = el("tbody"); nt.appendChild(nb);
      (d.name.pairs || []).forEach((p) => {
        const tr = el("tr");
        [p.query, p.alert, words(p.method), Number(p.similarity).toFixed(2)].forEach((v) => tr.appendChild(el("td", "", v)));
        nb.appendChild(tr);
      });
      body.appendChild(nt);
      if (d.name.extra_query && d.name.extra_query.length) body.appendChild(el("p", "", "Not in the alert: " + d.name.extra_query.join(" ")));
      if (d.name.extra_alert && d.name.extra_alert.length) body.appendChild(el("p", "", "In the alert, not checked: " + d.name.extra_alert.join(" ")));
      (d.name.evidence || []).forEach((e) => body.appendChild(el("p", "evidence " + (e.effect === "conflicts" ? "bad" : "ok"),
        words(e.field) + ": checked " + e.query + ", alert " + e.alert + ": " + e.effect)));
    }
    if (d.explanation) { body.appendChild(el("h3", "", "Matcher's explanation")); body.appendChild(el("pre", "explain", d.explanation)); }
    $("detail").hidden = false;
    $("ack-form").reset(); $("ack-status").textContent = "";
    if (d.outcome) { showDone(d.outcome); } else { $("ack-form").hidden = !me.may_work; $("ack-done").hidden = true; }
    $("detail").focus();
  }

  function showDone(o) {
    $("ack-form").hidden = true;
    $("ack-done").hidden = false;
    $("ack-done").textContent = "Outcome recorded: " + words(o.outcome) + " by " + o.officer + " at " + when(o.time) + (o.remark ? ". Remark: " + o.remark : "") + ". It goes to central with the hit.";
  }

  $("ack-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const sel = document.querySelector("input[name=outcome]:checked");
    if (!sel) { $("ack-status").textContent = "Choose an outcome."; return; }
    $("ack-submit").disabled = true;
    try {
      const c = await api("POST", "/api/hits/" + encodeURIComponent(openId) + "/outcome", { outcome: sel.value, remark: $("ack-remark").value });
      setOutcome(c.outcome); showDone(c.outcome);
    } catch (e) {
      $("ack-status").textContent = e.message;
    } finally { $("ack-submit").disabled = false; }
  });

  document.addEventListener("keydown", (ev) => {
    if ($("detail").hidden || $("ack-form").hidden) return;
    if (ev.target.tagName === "INPUT" && ev.target.type !== "radio" || ev.target.tagName === "TEXTAREA" || ev.target.tagName === "SELECT") return;
    const i = "1234".indexOf(ev.key);
    if (i >= 0) { const r = document.querySelectorAll("input[name=outcome]")[i]; r.checked = true; r.focus(); }
  });

  // ---- manual check ----
  const labels = { person: "Name", plate: "Plate", container: "Container number", document: "Document number", eori: "EORI number" };
  function kindChanged() {
    const k = $("check-kind").value;
    $("check-value-label").textContent = labels[k];
    document.querySelectorAll(".for-person").forEach((e) => { e.hidden = k !== "person"; });
    document.querySelectorAll(".for-country").forEach((e) => { e.hidden = k !== "plate" && k !== "document"; });
    $("check-country").required = k === "plate";
    document.querySelector("label[for=check-country]").textContent = k === "plate" ? "Country (sign on the plate, e.g. D, NL, PL)" : "Issuing state (optional)";
  }
  $("check-kind").addEventListener("change", kindChanged);
  kindChanged();

  $("check-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const k = $("check-kind").value;
    const q = { kind: k, value: $("check-value").value };
    if (k === "person") { q.birth_date = $("check-birth").value; q.nationality = $("check-nationality").value; }
    if (k === "plate" || k === "document") q.country = $("check-country").value;
    const out = $("check-result");
    out.replaceChildren(el("p", "muted", "Checking…"));
    $("check-submit").disabled = true;
    try {
      const r = await api("POST", "/api/check", q);
      out.replaceChildren();
      if (!r.hits.length && !r.withheld) out.appendChild(el("p", "ok big", "NO HIT"));
      r.hits.forEach((c) => {
        addHit(c, false);
        const p = el("p", "bad big", "HIT: " + (c.action || "see alert") + " (" + words(c.category) + ")");
        const b = el("button", "", "Open explanation"); b.type = "button";
        b.addEventListener("click", () => openHit(c.id));
        p.appendChild(document.createTextNode(" ")); p.appendChild(b);
        out.appendChild(p);
      });
      if (r.withheld) out.appendChild(el("p", "muted", r.withheld + " hit(s) for other services: your role does not see them."));
      out.appendChild(el("p", "muted", "Check " + r.check_id + " is in the audit log."));
    } catch (e) {
      out.replaceChildren(el("p", "error", e.message));
    } finally { $("check-submit").disabled = false; }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && me && me.may_work && !/INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) { ev.preventDefault(); $("check-value").focus(); }
  });

  start().catch((e) => { $("login").hidden = false; $("login-error").textContent = "The terminal cannot reach the agent: " + e.message; });
})();
