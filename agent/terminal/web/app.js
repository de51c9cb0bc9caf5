// Officers' terminal. Plain script, no build step, no outside assets.
// Every value from the server goes into the page as text, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const FOLD_MS = 15 * 60 * 1000; // repeated reads within this fold into one card
  let csrf = "";
  let me = null;
  let events = null;
  let openId = "";
  let openCard = null;
  let correcting = false;
  let confirmArmed = false;
  let unreachableSince = null;
  let lastBanner = null;
  const groups = new Map(); // card key (its first hit) -> {card, ids, count, first, last, el, outcome}
  const current = new Map(); // server's group (one value against one alert) -> its latest card
  const byHit = new Map(); // hit id -> entry

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
    let r;
    try {
      r = await fetch(url, opt);
    } catch (e) {
      agentUnreachable();
      const err = new Error("The agent cannot be reached: nothing was done. Use the fallback procedure and call the technician.");
      err.status = 0; throw err;
    }
    agentReached();
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    if (r.status === 401 && me) { showLogin("Your session has ended. Log in again."); }
    if (!r.ok) { const err = new Error(data.error || ("error " + r.status)); err.status = r.status; throw err; }
    return data;
  }

  function words(s) { return String(s || "").replace(/[_-]+/g, " "); }
  const timeFmt = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" });
  const dateFmt = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" });
  function when(t) { const d = new Date(t); return isNaN(d) ? "" : timeFmt.format(d); }
  function day(t) { const d = new Date(t); return isNaN(d) ? "" : dateFmt.format(d); }
  function ago(t, now) {
    const s = Math.max(0, Math.round((new Date(now) - new Date(t)) / 1000));
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " days";
  }
  const outcomeWords = { confirmed: "confirmed", false_match: "false match", not_found: "subject not found", not_actionable: "not actionable" };

  // ---- session ----
  async function start() {
    const s = await api("GET", "/api/session");
    csrf = s.csrf;
    setPost(s.post);
    if (s.logged_in) { enter(s); } else { showLogin(""); }
  }

  function setPost(p) {
    if (!p) return;
    $("post-name").textContent = p;
    document.title = p + " · border post terminal";
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
    setPost(s.post);
    $("login").hidden = true; $("work").hidden = false; $("who").hidden = false;
    $("who-name").textContent = s.user; $("who-role").textContent = s.role;
    $("manual").hidden = !s.may_work; $("tech-note").hidden = s.may_work;
    $("no-hits").hidden = !s.may_work;
    groups.clear(); current.clear(); byHit.clear(); $("hits").replaceChildren();
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
    try { const s = await api("GET", "/api/session"); csrf = s.csrf; } catch (e) { /* shown by the banner */ }
    showLogin("Logged out.");
  });

  // ---- agent reachability ----
  function agentUnreachable() {
    if (!unreachableSince) unreachableSince = new Date();
    renderBanner(lastBanner);
  }
  function agentReached() {
    if (!unreachableSince) return;
    unreachableSince = null;
    renderBanner(lastBanner);
  }

  // ---- live stream ----
  function connect() {
    if (events) events.close();
    events = new EventSource("/api/events");
    let ready = false; // hits before "ready" are the backlog: no flash, no sound
    $("live-state").textContent = "connecting…";
    events.addEventListener("ready", () => { ready = true; agentReached(); $("live-state").textContent = "live"; $("live-state").className = "ok"; });
    events.addEventListener("hit", (m) => addHit(JSON.parse(m.data), ready));
    events.addEventListener("outcome", (m) => setOutcome(JSON.parse(m.data)));
    events.addEventListener("banner", (m) => { agentReached(); renderBanner(JSON.parse(m.data)); });
    events.addEventListener("expired", () => showLogin("Your session has ended. Log in again."));
    events.onerror = () => {
      ready = false;
      $("live-state").textContent = "reconnecting…"; $("live-state").className = "bad";
      const wasDown = !!unreachableSince;
      fetch("/api/session", { credentials: "same-origin" }).then((r) => r.json()).then((s) => {
        agentReached();
        if (!s.logged_in && me) {
          showLogin(wasDown ? "The agent was restarted: log in again. Hits still waiting for an outcome are kept." : "Your session has ended. Log in again.");
        }
      }).catch(() => agentUnreachable());
    };
  }

  function addHit(c, live) {
    if (byHit.has(c.id)) { if (c.outcome) setOutcome(c.outcome); return; }
    const t = new Date(c.time).getTime();
    let g = current.get(c.group);
    if (g && Math.abs(t - g.last) <= FOLD_MS && (!g.outcome || !!c.outcome)) {
      g.ids.push(c.id); g.count++;
      if (t > g.last) { g.last = t; g.lastCard = c; }
      byHit.set(c.id, g);
      draw(g); order();
      if (live && !g.outcome) alertOfficer(g);
      return;
    }
    g = { key: c.id, card: c, lastCard: c, ids: [c.id], count: 1, first: t, last: t, el: el("article", "hit"), outcome: c.outcome || null };
    g.el.tabIndex = 0; g.el.setAttribute("role", "listitem");
    g.el.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === g.el) openHit(g.card.id); });
    groups.set(g.key, g); current.set(c.group, g); byHit.set(c.id, g);
    draw(g); order();
    if (live && !g.outcome) alertOfficer(g);
  }

  function alertOfficer(g) {
    const c = g.card;
    g.el.classList.add("new");
    setTimeout(() => { g.el.classList.remove("new"); }, 3000); // moving a card must not restart its flash forever
    const say = (c.action || "see alert") + (c.warnings.length ? ". Warning: " + c.warnings.join(", ") : "") + ". " + c.read.what + " " + c.read.value;
    if (c.urgent && !c.cleared) { $("announce-urgent").textContent = "Urgent hit: " + say; sound(true); }
    else { $("announce").textContent = "Hit: " + say; sound(false); }
  }

  function draw(g) {
    const c = g.card; const a = g.el;
    a.dataset.id = c.id; a.dataset.group = g.key;
    a.className = "hit act-" + c.action_kind + (g.outcome ? " settled" : "") + (c.cleared && !g.outcome ? " cleared" : "") +
      (c.urgent && !g.outcome && !c.cleared ? " pinned" : "") + (a.classList.contains("new") ? " new" : "");
    a.replaceChildren();
    if (c.urgent && !g.outcome && !c.cleared) a.appendChild(el("div", "pin", "URGENT · stays at the top until an outcome is recorded"));
    a.appendChild(el("div", "action", c.action || "See the alert"));
    if (c.warnings && c.warnings.length) {
      const w = el("div", "warnings");
      w.appendChild(el("span", "warn-label", "Warning: "));
      c.warnings.forEach((x, i) => { if (i) w.appendChild(document.createTextNode(" · ")); w.appendChild(el("strong", "warn", words(x).toUpperCase())); });
      a.appendChild(w);
    }
    if (c.cleared) {
      a.appendChild(el("div", "cleared-note", "Cleared as a false match at this post on " + day(c.cleared.time) + " (" + c.cleared.officer + "). Check it is still not the subject sought."));
    }
    const rd = el("div", "read");
    rd.appendChild(el("span", "read-what", "Read: " + c.read.what + " "));
    rd.appendChild(el("strong", "read-value", c.read.value));
    if (c.read.country) rd.appendChild(el("span", "read-country", " (" + c.read.country + ")"));
    a.appendChild(rd);
    if (c.subject) a.appendChild(subjectTable(c.subject, "subject"));
    const m = el("div", "meta");
    m.appendChild(el("strong", "conf conf-" + c.confidence, c.confidence.charAt(0).toUpperCase() + c.confidence.slice(1) + " match"));
    m.appendChild(document.createTextNode(" · " + [c.device, c.lane].filter(Boolean).join(" / ") + " · " + when(c.time)));
    if (c.source) m.appendChild(document.createTextNode(" · " + c.source));
    a.appendChild(m);
    if (g.count > 1) a.appendChild(el("div", "folded", "Read " + g.count + " times, last at " + when(g.lastCard.time)));
    const st = g.outcome
      ? el("div", "status settled", "Outcome: " + (outcomeWords[g.outcome.outcome] || words(g.outcome.outcome)) + " (" + g.outcome.officer + ", " + when(g.outcome.time) + ")" + (g.outcome.corrects ? ", corrected" : ""))
      : el("div", "status pending", "Waiting for your outcome");
    a.appendChild(st);
    const b = el("button", "open", g.outcome ? "Details" : "Details and outcome");
    b.type = "button";
    b.addEventListener("click", () => openHit(c.id));
    a.appendChild(b);
  }

  function subjectTable(s, cls) {
    const wrap = el("div", cls);
    const t = el("table", "subject-table");
    t.appendChild(el("caption", "", s.title));
    const head = el("tr");
    ["", "Alert", "Read here", ""].forEach((h, i) => { const th = el("th", "", h); th.scope = "col"; if (i === 3) th.appendChild(el("span", "sr-only", "Agreement")); head.appendChild(th); });
    const th = el("thead"); th.appendChild(head); t.appendChild(th);
    const tb = el("tbody");
    s.rows.forEach((r) => {
      const tr = el("tr", r.agree ? "agree-" + r.agree : "");
      const k = el("th", "", r.label); k.scope = "row"; tr.appendChild(k);
      tr.appendChild(el("td", "", r.alert || "—"));
      tr.appendChild(el("td", "", r.read || ""));
      tr.appendChild(el("td", "agree", r.agree === "agrees" ? "✓ agrees" : r.agree === "differs" ? "✗ differs" : r.agree === "similar" ? "≈ similar" : ""));
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    wrap.appendChild(t);
    return wrap;
  }

  // order sorts the cards: urgent and open first (pinned), then open hits
  // by what must be done, then cleared false matches, then settled ones;
  // newest first within each.
  function order() {
    const only = $("only-open").checked;
    const list = [...groups.values()];
    const key = (g) => {
      const c = g.card;
      const tier = g.outcome ? 3 : c.cleared ? 2 : c.urgent ? 0 : 1;
      return [tier, c.rank];
    };
    list.sort((x, y) => {
      const a = key(x); const b = key(y);
      return a[0] - b[0] || a[1] - b[1] || y.last - x.last;
    });
    let open = 0; let urgent = 0;
    list.forEach((g) => { g.el.hidden = only && !!g.outcome; if (!g.outcome) { open++; if (g.card.urgent && !g.card.cleared) urgent++; } });
    $("hits").replaceChildren(...list.map((g) => g.el));
    $("no-hits").hidden = !me || !me.may_work || list.some((g) => !g.el.hidden);
    if (list.length && $("no-hits").hidden === false) $("no-hits").textContent = "No hit is waiting for an outcome.";
    $("counts").textContent = open + " waiting" + (urgent ? ", " + urgent + " urgent" : "") + " · " + list.length + " in all";
    const p = $("post-name").textContent;
    document.title = (open ? "(" + open + ") " : "") + p + " · border post terminal";
  }
  $("only-open").addEventListener("change", order);

  function setOutcome(o) {
    const g = byHit.get(o.hit_id);
    if (!g) return;
    if (g.outcome && g.outcome.id === o.id) return;
    g.outcome = o;
    g.el.classList.remove("new");
    draw(g); order();
    if (g.ids.includes(openId) && !correcting) showDone(o);
  }

  let audio = null;
  function sound(urgent) {
    try {
      audio = audio || new AudioContext();
      const tones = urgent ? [988, 740, 988, 740] : [880];
      tones.forEach((f, i) => {
        const o = audio.createOscillator(); const g = audio.createGain();
        o.frequency.value = f; g.gain.value = urgent ? 0.2 : 0.08; o.connect(g); g.connect(audio.destination);
        const t0 = audio.currentTime + i * 0.22;
        o.start(t0); o.stop(t0 + 0.18);
      });
    } catch (e) { /* no sound: the card still flashes */ }
  }

  // ---- banners ----
  function renderBanner(b) {
    lastBanner = b;
    setTimeout(() => {
      // What scrolls into view (focus, links) must not land under the banners.
      document.documentElement.style.scrollPaddingTop = (Math.ceil($("sticky").getBoundingClientRect().height) + 16) + "px";
      if (!$("detail").hidden) placeDetail();
    }, 0);
    const box = $("banners");
    box.replaceChildren();
    if (unreachableSince) {
      box.appendChild(el("div", "banner alarm", "AGENT UNREACHABLE since " + when(unreachableSince) +
        ": this page gets no new hits and cannot run checks. Use the fallback procedure and call the technician."));
      return; // what the agent said before may no longer hold
    }
    if (!b) return;
    if (b.record_failing) {
      box.appendChild(el("div", "banner alarm", "RECORDS CANNOT BE WRITTEN: the last outcome or record failed (disk full or damaged). Call the technician now; note outcomes on paper."));
    }
    if (!b.link_up) {
      const since = b.link_down_since ? " since " + when(b.link_down_since) + " (" + ago(b.link_down_since, b.now) + ")" : "";
      box.appendChild(el("div", "banner bad", "LINK TO CENTRAL DOWN" + since + ". Checks go on; hits and outcomes wait and are sent when it returns."));
    }
    if (b.fault) {
      box.appendChild(el("div", "banner alarm", "CHECKS NOT RECORDED: " + b.fault + ". Devices get errors; check by hand and call the technician" +
        (b.remedy ? " (" + b.remedy + ")" : "") + "."));
    }
    if (b.stale) {
      box.appendChild(el("div", "banner alarm", "WATCH LIST MAY BE OUT OF DATE: " + (b.stale_reason || "central has not confirmed it") + ". New alerts may be missing: phone central for urgent cases."));
    }
    const asOf = b.replica_as_of ? "confirmed current " + ago(b.replica_as_of, b.now) + " ago" : "never confirmed by central";
    const info = el("div", "banner info", "Watch list " + asOf + (b.outbox_depth ? " · " + b.outbox_depth + " records waiting to be sent to central" : "") + (b.link_up ? " · link to central up" : ""));
    info.title = "Replica " + (b.replica_version || "unknown");
    box.appendChild(info);
  }

  // ---- details ----
  function row(tbody, k, v) {
    if (v === undefined || v === null || v === "") return;
    const tr = el("tr");
    const th = el("th", "", k); th.scope = "row";
    tr.appendChild(th); tr.appendChild(el("td", "", v));
    tbody.appendChild(tr);
  }

  async function openHit(id) {
    let d;
    try { d = await api("GET", "/api/hits/" + encodeURIComponent(id)); } catch (e) { $("check-result").replaceChildren(el("p", "error", e.message)); return; }
    openId = id; openCard = d; correcting = false;
    const g = byHit.get(id);
    const body = $("detail-body");
    body.replaceChildren();
    $("detail-title").textContent = d.action || "Hit";
    if (d.urgent) body.appendChild(el("div", "pin", "URGENT"));
    if (d.warnings && d.warnings.length) body.appendChild(el("div", "warnings", "Warning: " + d.warnings.map((x) => words(x).toUpperCase()).join(" · ")));
    if (d.cleared) body.appendChild(el("div", "cleared-note", "Cleared as a false match at this post on " + day(d.cleared.time) + " (" + d.cleared.officer + ")."));
    const rd = el("p", "read");
    rd.appendChild(el("span", "read-what", "Read: " + d.read.what + " "));
    rd.appendChild(el("strong", "read-value", d.read.value));
    if (d.read.country) rd.appendChild(el("span", "", " (" + d.read.country + ")"));
    body.appendChild(rd);
    if (d.subject) body.appendChild(subjectTable(d.subject, "subject"));
    const t = el("table", "facts"); const tb = el("tbody"); t.appendChild(tb);
    row(tb, "Confidence", d.confidence + " match");
    row(tb, "Where and when", [d.device, d.lane].filter(Boolean).join(" / ") + " · " + day(d.time));
    if (g && g.count > 1) row(tb, "Reads", g.count + " reads of the same value, last at " + when(g.lastCard.time));
    row(tb, "Alert from", d.source);
    row(tb, "Legal basis", d.legal_basis);
    row(tb, "Issued by", d.authority);
    body.appendChild(t);
    if (d.namesakes && d.namesakes.length) {
      // More alerts match this name at or above the threshold than the
      // hits the agent reads: listed so that this hit is not taken for
      // the only one.
      const n = d.namesakes.length;
      const ns = el("details", "namesakes");
      ns.appendChild(el("summary", "", n + " more alert" + (n > 1 ? "s match" : " matches") + " this name, past the hits shown"));
      ns.appendChild(el("p", "", "Not hits of their own: compare birth date, nationality and document before acting on any of them."));
      d.namesakes.forEach((x) => {
        ns.appendChild(el("p", "namesake-title", words(x.action) + " · " + words(x.category) + " · alert " + x.alert_id + " version " + x.alert_version));
        if (x.subject) ns.appendChild(subjectTable(x.subject, "subject"));
      });
      body.appendChild(ns);
    }
    const more = el("details", "how");
    more.appendChild(el("summary", "", "How it was matched (score and references)"));
    const mt = el("table", "facts"); const mb = el("tbody"); mt.appendChild(mb);
    row(mb, "Match", d.match + ", score " + Number(d.score).toFixed(2));
    row(mb, "Value compared", d.value);
    row(mb, "OCR correction", d.correction);
    row(mb, "Alert", d.alert_id + " version " + d.alert_version + " (" + words(d.category) + ")");
    row(mb, "Check", d.check_id + ", field " + d.field);
    more.appendChild(mt);
    if (d.name) {
      more.appendChild(el("p", "", "Best-matching alert name: “" + d.name.alert_name + "”"));
      const nt = el("table", "tokens"); const head = el("tr");
      ["Read", "Alert", "How", "Similarity"].forEach((h) => { const th = el("th", "", h); th.scope = "col"; head.appendChild(th); });
      const th = el("thead"); th.appendChild(head); nt.appendChild(th);
      const nb = el("tbody"); nt.appendChild(nb);
      (d.name.pairs || []).forEach((p) => {
        const tr = el("tr");
        [p.query, p.alert, words(p.method), Number(p.similarity).toFixed(2)].forEach((v) => tr.appendChild(el("td", "", v)));
        nb.appendChild(tr);
      });
      more.appendChild(nt);
      if (d.name.extra_query && d.name.extra_query.length) more.appendChild(el("p", "", "Read, not in the alert: " + d.name.extra_query.join(" ")));
      if (d.name.extra_alert && d.name.extra_alert.length) more.appendChild(el("p", "", "In the alert, not read: " + d.name.extra_alert.join(" ")));
      (d.name.evidence || []).forEach((e) => more.appendChild(el("p", "evidence " + (e.effect === "conflicts" ? "bad" : "ok"),
        words(e.field) + ": read " + e.query + ", alert " + e.alert + ": " + e.effect)));
    }
    if (d.explanation) more.appendChild(el("pre", "explain", d.explanation));
    body.appendChild(more);
    $("detail").hidden = false;
    document.body.classList.add("detail-open");
    placeDetail();
    resetForm();
    const outcome = (g && g.outcome) || d.outcome;
    if (outcome) { showDone(outcome); } else { $("ack-form").hidden = !me.may_work; $("ack-done").hidden = true; }
    supervisorButtons(d, outcome);
    $("detail").focus();
  }

  function supervisorButtons(d, outcome) {
    const sup = me && me.role === "supervisor";
    $("supervisor").hidden = !sup;
    $("forget").hidden = !sup || !d.cleared;
    $("correct").hidden = !sup || !outcome;
  }

  function resetForm() {
    $("ack-form").reset(); $("ack-status").textContent = ""; confirmArmed = false;
    $("ack-submit").textContent = correcting ? "Record the correction" : "Record outcome";
  }

  // placeDetail keeps the details below the banners, which stay in view.
  function placeDetail() {
    const top = Math.ceil($("sticky").getBoundingClientRect().height);
    const d = $("detail");
    if (window.matchMedia("(max-width: 900px)").matches) { d.style.top = (top - 1) + "px"; d.style.maxHeight = ""; }
    else { d.style.top = (top + 8) + "px"; d.style.maxHeight = "calc(100vh - " + (top + 16) + "px)"; }
  }
  window.addEventListener("resize", () => { if (!$("detail").hidden) placeDetail(); });

  $("detail-close").addEventListener("click", closeDetail);
  function closeDetail() {
    $("detail").hidden = true; openId = ""; document.body.classList.remove("detail-open");
    const g = openCard && byHit.get(openCard.id);
    if (g) g.el.focus();
  }

  function showDone(o) {
    $("ack-form").hidden = true;
    $("ack-done").hidden = false;
    $("ack-done").textContent = "Outcome recorded: " + (outcomeWords[o.outcome] || words(o.outcome)) + " by " + o.officer + " at " + when(o.time) +
      (o.remark ? ". Remark: " + o.remark : "") + (o.corrects ? " (a correction; the first outcome stays on record)" : "") + ". It goes to central with the hit.";
    if (openCard) supervisorButtons(openCard, o);
  }

  $("ack-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const sel = document.querySelector("input[name=outcome]:checked");
    if (!sel) { $("ack-status").textContent = "Choose an outcome."; return; }
    if (sel.value === "confirmed" && !confirmArmed) {
      confirmArmed = true;
      $("ack-status").textContent = "Confirmed means this is the subject sought, and central is told so. Press the button again to record it.";
      $("ack-submit").textContent = "Yes, record Confirmed";
      $("ack-submit").focus();
      return;
    }
    $("ack-submit").disabled = true;
    try {
      const path = correcting ? "/correct" : "/outcome";
      const c = await api("POST", "/api/hits/" + encodeURIComponent(openId) + path, { outcome: sel.value, remark: $("ack-remark").value });
      correcting = false;
      setOutcome(c.outcome); showDone(c.outcome);
      if (openCard) { openCard.cleared = c.cleared; supervisorButtons(openCard, c.outcome); }
    } catch (e) {
      $("ack-status").textContent = e.message;
    } finally { $("ack-submit").disabled = false; }
  });
  document.querySelectorAll("input[name=outcome]").forEach((r) => r.addEventListener("change", () => {
    confirmArmed = false; $("ack-submit").textContent = correcting ? "Record the correction" : "Record outcome";
  }));

  $("correct").addEventListener("click", () => {
    correcting = true; resetForm();
    $("ack-done").hidden = true; $("ack-form").hidden = false;
    $("ack-status").textContent = "The correction is a new record; the first outcome stays on record.";
  });
  $("forget").addEventListener("click", async () => {
    try {
      const c = await api("POST", "/api/hits/" + encodeURIComponent(openId) + "/forget", {});
      const g = byHit.get(openId);
      if (g) { g.card.cleared = null; draw(g); order(); }
      if (openCard) { openCard.cleared = null; supervisorButtons(openCard, c.outcome); }
      $("ack-status").textContent = "The post no longer treats this read as a false match.";
    } catch (e) { $("ack-status").textContent = e.message; }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !$("detail").hidden) { closeDetail(); return; }
    if ($("detail").hidden || $("ack-form").hidden) return;
    if (ev.target.tagName === "INPUT" && ev.target.type !== "radio" || ev.target.tagName === "TEXTAREA" || ev.target.tagName === "SELECT") return;
    const i = "1234".indexOf(ev.key);
    if (i >= 0) { const r = document.querySelectorAll("input[name=outcome]")[i]; r.checked = true; r.dispatchEvent(new Event("change")); r.focus(); }
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
      if (r.other_countries && r.other_countries.length) {
        out.appendChild(el("p", "bad big", "No hit under " + q.country + ", but the same plate is sought under " + r.other_countries.join(", ") +
          ". Look at the country sign on the plate and check again with that country."));
      } else if (!r.hits.length && !r.withheld) {
        out.appendChild(el("p", "ok big", "NO HIT for " + labels[k].toLowerCase() + " " + q.value + (q.country ? " (" + q.country + ")" : "")));
      }
      r.hits.forEach((c) => {
        addHit(c, false);
        const p = el("p", "bad big", "HIT: " + (c.action || "see alert") + (c.subject && c.subject.rows.length ? " · " + c.subject.rows[0].alert : "") + " · " + c.confidence + " match");
        const b = el("button", "", "Details"); b.type = "button";
        b.addEventListener("click", () => openHit(c.id));
        p.appendChild(document.createTextNode(" ")); p.appendChild(b);
        out.appendChild(p);
      });
      if (r.withheld) out.appendChild(el("p", "muted", r.withheld + " hit(s) for other services: your role does not see them."));
    } catch (e) {
      out.replaceChildren(el("p", "error", e.message));
    } finally { $("check-submit").disabled = false; }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && me && me.may_work && !/INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) { ev.preventDefault(); $("check-value").focus(); }
  });

  start().catch((e) => { $("login").hidden = false; $("login-error").textContent = e.message; });
})();
