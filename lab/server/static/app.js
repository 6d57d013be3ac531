// The lab dashboard. Each page reads the JSON API once, then follows the server's event
// stream (/api/events): one publisher for every client, nothing polled. Text from the
// server is always set as text, never as HTML.

const body = document.body;
const ROLE = body.dataset.role;
const CSRF = body.dataset.csrf;
const RANK = { viewer: 0, operator: 1, staff: 2 };
const can = (role) => RANK[ROLE] >= RANK[role];
const content = document.getElementById("content");

// --- small helpers ------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(method, path, data) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: data === undefined ? undefined : JSON.stringify(data),
  });
  if (response.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(result.detail || `${method} ${path}: ${response.status}`);
  return result;
}

let toastTimer;
function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 9000 : 3500);
}

async function act(method, path, data, done) {
  try {
    const result = await api(method, path, data);
    if (done) toast(done);
    return result;
  } catch (err) {
    toast(err.message, "error");
    return null;
  }
}

const UNITS = {
  milliliter: "mL", microliter: "µL", uL: "µL", liter: "L", degree_Celsius: "°C", kelvin: "K",
  second: "s", millisecond: "ms", minute: "min", hour: "h", nanometer: "nm",
  revolutions_per_minute: "rpm", "milliliter / minute": "mL/min", degC: "°C",
};
const unit = (text) => UNITS[text] ?? text ?? "";
function num(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) < 1e-9) return "0";
  if (Math.abs(x) >= 10 ** digits) return String(Math.round(x)); // 1000 mL, never "1e+3"
  const text = Number(x).toPrecision(digits);
  if (text.includes("e")) return text.replace(/\.?0+e/, "e");
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text; // "1000" keeps its zeros
}
function quantity(text) {
  const match = /^\s*([-+0-9.eE]+)\s*(.*)$/.exec(text ?? "");
  return match ? `${num(Number(match[1]))} ${unit(match[2])}`.trim() : String(text ?? "");
}
const magnitude = (text) => Number(/^\s*([-+0-9.eE]+)/.exec(text ?? "")?.[1]);
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "–");
const ago = (s) => (s < 1 ? "now" : s < 90 ? `${Math.round(s)} s ago` : `${Math.round(s / 60)} min ago`);
const badge = (state) => h("span", { class: `badge ${state}`, "data-state": state }, state.replaceAll("_", " "));

// --- the live stream ----------------------------------------------------------------------
const handlers = {};
const on = (topic, fn) => (handlers[topic] ??= []).push(fn);

// a page's view of a topic, fetched afresh whenever the topic changes and the newest answer
// drawn; the handler is in place before the first fetch, so no change is ever missed
function follow(topic, fetch, draw) {
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    const found = await fetch();
    if (mine === asked) draw(found);
  };
  on(topic, refresh);
  return refresh();
}
function connect() {
  const link = document.getElementById("link");
  const stream = new EventSource("/api/events");
  for (const topic of ["lab", "control", "campaign", "trial", "proposals", "spectrum", "diagnosis"]) {
    stream.addEventListener(topic, (event) => {
      const message = JSON.parse(event.data);
      for (const fn of handlers[topic] ?? []) fn(message.data, message);
    });
  }
  stream.onopen = () => { link.textContent = "live"; link.className = "chip live"; };
  stream.onerror = () => { link.textContent = "reconnecting…"; link.className = "chip down"; };
}

// --- on every page: run-control state, the emergency stop and its banner -------------------
// the Approvals tab counts the proposals waiting for a person, on every page
function waiting(proposals) {
  const tab = document.querySelector('nav a[href="/approvals"]');
  const count = Array.isArray(proposals) ? proposals.length : 0;
  if (!tab) return;
  tab.textContent = count ? `Approvals (${count})` : "Approvals";
  tab.title = count ? `${count} proposal${count > 1 ? "s" : ""} waiting for a decision` : "";
}
function header() {
  const estop = document.getElementById("estop");
  estop.disabled = !can("operator");
  if (!can("operator")) estop.title = "operators and staff can stop the lab";
  estop.addEventListener("click", async () => {
    const result = await act("POST", "/api/lab/estop");
    if (result) toast(result.confirmed ? "Emergency stop: every device confirmed safe" :
      `Emergency stop: NOT all devices confirmed: ${JSON.stringify(result.devices)}`,
      result.confirmed ? "info" : "error");
  });
  document.getElementById("logout").addEventListener("click", async () => {
    await act("POST", "/api/auth/logout");
    location.assign("/login");
  });
  on("control", (control) => {
    lastControl = control;
    const chip = document.getElementById("control");
    const active = control.active_campaign ? ` · ${control.active_campaign}` : "";
    chip.textContent = `${control.lab}${active}`;
    chip.className = `chip ${slug(control.lab)}`;
    chip.dataset.state = control.lab;
    enableControls();
    const banner = document.getElementById("estop-banner");
    banner.hidden = !control.estop;
    banner.replaceChildren();
    if (control.estop) {
      const devices = Object.entries(control.estop.devices || {}).map(([d, a]) => `${d}: ${a}`).join(", ");
      banner.append(h("span", { id: "estop-text" },
        `EMERGENCY STOP latched by ${control.estop.by} at ${when(control.estop.time)}. ${devices}`));
      if (can("staff")) {
        banner.append(h("button", { id: "reset", onclick: () => act("POST", "/api/lab/reset", undefined, "Reset: the lab may move again") }, "Reset"));
      } else {
        banner.append(h("span", {}, "A staff member must reset it before anything moves."));
      }
    }
  });
}

// the lab's state as the server last said it: the header, badges and controls follow it
let lastControl = null;
const slug = (state) => state.replaceAll(" ", "_");

// each control enabled only where it can act: a pause while something runs, a resume while
// paused, stop and abort for the campaign that runs
function enableControls() {
  const c = lastControl;
  if (!c) return;
  const operator = can("operator");
  const latched = c.lab === "emergency stop";
  const paused = c.executor === "paused" || c.executor === "pausing";
  const set = (id, enabled) => document.querySelectorAll(`button#${id}`).forEach((b) => { b.disabled = !(operator && enabled); });
  set("pause", !latched && !paused && c.lab !== "idle");
  set("resume", !latched && paused);
  document.querySelectorAll("button#stop, button#abort").forEach((b) => {
    b.disabled = !(operator && c.active_campaign && c.active_campaign === b.dataset.campaign);
  });
  // diagnostics and a plan by hand need the devices to themselves
  const free = c.lab === "idle";
  document.querySelectorAll("button#diagnose, button#run-plan").forEach((b) => {
    b.disabled = !(can("staff") && free);
    b.title = free ? "" : `the lab is ${c.lab}: ${latched ? "staff must reset the emergency stop first" : "wait until it is idle"}`;
  });
}

function controlButtons(campaign) {
  const disabled = !can("operator");
  const buttons = [
    h("button", { id: "pause", disabled, onclick: () => act("POST", "/api/lab/pause", undefined, "Pausing at the next checkpoint") }, "Pause"),
    h("button", { id: "resume", disabled, onclick: () => act("POST", "/api/lab/resume", undefined, "Resumed") }, "Resume"),
  ];
  if (campaign) {
    buttons.push(
      h("button", { id: "stop", "data-campaign": campaign, disabled, onclick: () => act("POST", `/api/campaigns/${encodeURIComponent(campaign)}/stop`, undefined, "Stopping after the current trial") }, "Stop after this trial"),
      h("button", { id: "abort", class: "danger", "data-campaign": campaign, disabled, onclick: () => act("POST", `/api/campaigns/${encodeURIComponent(campaign)}/abort`, undefined, "Aborting the current trial") }, "Abort"),
    );
  }
  const row = h("div", { class: "row" }, buttons);
  queueMicrotask(enableControls);  // once the row is in the page
  return row;
}

// --- Lab -------------------------------------------------------------------------------------
async function labPage() {
  const devices = h("div", { class: "grid", id: "devices" });
  const vials = h("tbody");
  // a vial out of the rack while nothing runs was left by a fault or a stop: say what to do
  const stray = h("p", { class: "alert", id: "stray-vials", hidden: true },
    "Nothing runs, yet a vial is out of the rack. Starting or continuing a campaign first carries it to the waste (recorded in that campaign's ledger); or, with the lab stopped, take it out by hand.");
  let outOfRack = 0;
  const strayNote = () => { stray.hidden = !(outOfRack && lastControl && ["idle", "emergency stop"].includes(lastControl.lab)); };
  on("control", strayNote);
  const panels = [
    h("section", { class: "panel wide" }, h("h2", {}, "Run control"), controlButtons(null)),
    stationsPanel(),
    consumablesPanel(),
    devices,
    h("section", { class: "panel wide" }, h("h2", {}, "Vials"),
      h("table", { id: "vials" }, h("thead", {}, h("tr", {}, h("th", {}, "vial"), h("th", {}, "where"), h("th", {}, "seen"))), vials), stray),
  ];
  panels.push(diagnosticsPanel());
  if (can("staff")) panels.push(planForm());
  content.replaceChildren(...panels);
  const render = (snapshot) => {
    if (!snapshot) return;
    const now = Date.now() / 1000;
    devices.replaceChildren(...snapshot.devices.map((d) => deviceCard(d, now)));
    vials.replaceChildren(...(snapshot.vials.length ? snapshot.vials.map((v) =>
      h("tr", {}, h("td", {}, v.vial), h("td", {}, v.where), h("td", {}, ago(now - v.time))))
      : [h("tr", {}, h("td", { colspan: 3, class: "muted" }, "no vial is out of the rack"))]));
    outOfRack = snapshot.vials.length;
    strayNote();
  };
  render((await api("GET", "/api/lab")).snapshot);
  on("lab", render);
}

function stationsPanel() {
  const rows = h("tbody");
  const queue = h("p", { class: "muted", id: "station-queue" });
  const panel = h("section", { class: "panel wide", id: "stations" }, h("h2", {}, "Stations"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "station"), h("th", {}, "trial"), h("th", {}, "step"), h("th", {}, "since"))), rows), queue);
  let last = 0;
  const refresh = async (force) => {
    if (!force && Date.now() - last < 2000) return;
    last = Date.now();
    const now = Date.now() / 1000;
    const data = await api("GET", "/api/stations").catch(() => null);
    if (!data) return;
    rows.replaceChildren(...data.stations.map((s) => h("tr", { "data-station": s.station },
      h("td", {}, s.station),
      h("td", {}, s.trial === undefined ? h("span", { class: "muted" }, "idle") : h("a", { href: `/campaigns/${encodeURIComponent(s.campaign)}` },
        s.trials ? `${s.campaign} #${s.trials[0]}–${s.trials[s.trials.length - 1]}, a plate's batch (wells ${s.wells[0]}–${s.wells[s.wells.length - 1]})` : `${s.campaign} #${s.trial}`),
        ...(s.finishing || []).map((f) => h("div", { class: "muted", title: "this trial's vial has left the station; the next trial has it" },
          `#${f.trial} finishing elsewhere, step ${f.step} / ${f.steps}`))),
      h("td", { class: "num" }, s.trial === undefined ? "" : `${s.step} / ${s.steps}`),
      h("td", {}, s.trial === undefined ? "" : ago(now - s.since)))));
    queue.textContent = data.queue.length
      ? `waiting for a station: ${data.queue.map((q) => `${q.campaign} #${q.trial} (${q.status.replaceAll("_", " ")})`).join(", ")}`
      : "no trial waiting for a station";
  };
  refresh(true);
  on("trial", () => refresh(true));
  on("lab", () => refresh(false));
  return panel;
}

// what each reagent's reservoir and the racks hold, how long that lasts the running
// campaign, and (staff) the refill, recorded with its new level
function consumablesPanel() {
  const rows = h("tbody");
  const amount = (s, x) => (s.unit === "vials" ? `${Math.round(x)} vial${Math.round(x) === 1 ? "" : "s"}` : `${num(x, 3)} mL`);
  const refresh = async () => {
    const supplies = await api("GET", "/api/consumables").catch(() => null);
    if (!supplies) return;
    rows.replaceChildren(...(supplies.length ? supplies.map((s) => {
      const level = h("input", { name: "level", size: 8, "aria-label": `${s.name}: new level`,
        placeholder: s.unit === "vials" ? String(Math.round(s.level)) : `${num(s.level, 3)} mL` });
      const refill = can("staff") ? h("form", { class: "inline", onsubmit: async (e) => {
        e.preventDefault();
        if (await act("POST", `/api/consumables/${encodeURIComponent(s.name)}/refill`, { level: level.value },
          `${s.name} refilled; a campaign paused for it goes on when the lab is resumed`)) refresh();
      } }, level, h("button", {}, "Refilled")) : null;
      return h("tr", { "data-consumable": s.name, class: s.is_low ? "low" : "" },
        h("td", {}, s.name),
        h("td", { class: "num" }, amount(s, s.level)),
        h("td", { class: "num" }, s.low == null ? "–" : amount(s, s.low)),
        h("td", { class: "num" }, s.per_trial == null ? "–" : amount(s, s.per_trial)),
        h("td", {}, [s.trials_left == null ? null : `about ${s.trials_left} trials`, s.is_low ? "LOW" : null].filter(Boolean).join(" · ") || "–"),
        can("staff") ? h("td", {}, refill) : null);
    }) : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "the lab tracks no consumables"))]));
  };
  refresh();
  on("campaign", refresh);
  return h("section", { class: "panel wide", id: "consumables" }, h("h2", {}, "Consumables"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "consumable"), h("th", {}, "holds"), h("th", {}, "warn below"),
      h("th", {}, "a trial takes"), h("th", {}, "lasts"), can("staff") ? h("th", {}, "refilled to") : null)), rows),
    h("p", { class: "muted" }, "A campaign pauses before a trial it cannot finish; refill, then Resume."));
}

function deviceCard(d, now) {
  const rows = d.readings.map((r) => {
    const stale = r.stale;
    return h("tr", { class: stale ? "stale" : "" },
      h("td", {}, r.label),
      h("td", { class: "num" }, typeof r.value === "number" ? num(r.value)
        : typeof r.value === "boolean" ? (r.value ? "yes" : "no") : (r.value || "–")),
      h("td", {}, unit(r.units)),
      h("td", { title: when(r.time) }, stale ? `STALE · ${ago(now - r.time)}`
        : r.measured ? `measured ${ago(now - r.time)}` : ago(now - r.time)));
  });
  return h("section", { class: "panel device", "data-device": d.name },
    h("div", { class: "row" }, h("h2", {}, d.name), badge(d.state)),
    h("div", { class: "muted" }, `${d.kind} · ${d.transport} · ${d.identity || "?"}`),
    d.last_error ? h("p", { class: "error" }, `last error: ${d.last_error}`) : null,
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "reading"), h("th", {}, "value"), h("th", {}, "unit"), h("th", {}, "read"))), h("tbody", {}, rows)));
}

// the latest diagnosis of each device; staff start one (the server refuses it while
// anything else runs on the devices)
function diagnosticsPanel() {
  const cards = h("div", { class: "grid", id: "diagnoses" });
  const status = h("span", { class: "muted", id: "diagnosis-status" });
  const button = can("staff") ? h("button", { id: "diagnose", class: "primary",
    onclick: () => act("POST", "/api/diagnoses", { devices: [] }, "Diagnosis started") }, "Run diagnostics") : null;
  const render = (state) => {
    status.textContent = state.running ? `running · ${state.running.step} · started by ${state.running.by}`
      : state.error ? `the last diagnosis ended early: ${state.error}` : "";
    enableControls();
    const devices = Object.entries(state.latest);
    cards.replaceChildren(...(devices.length ? devices.map(([device, rows]) => diagnosisCard(device, rows))
      : [h("p", { class: "muted" }, "No diagnosis yet." + (can("staff") ? "" : " Staff can run one."))]));
  };
  api("GET", "/api/diagnoses").then(render);
  on("diagnosis", render);
  return h("section", { class: "panel wide" }, h("h2", {}, "Diagnostics"),
    h("div", { class: "row" }, button, status), cards);
}

function diagnosisCard(device, rows) {
  const order = ["fail", "warn", "skipped", "pass"];
  const worst = order.find((s) => rows.some((r) => r.status === s)) ?? "pass";
  return h("section", { class: "panel device", "data-diagnosis": device },
    h("div", { class: "row" }, h("h3", {}, device), badge(worst), h("span", { class: "muted" }, when(rows[0].session))),
    h("table", {}, h("tbody", {}, rows.map((r) => h("tr", { "data-check": r.check },
      h("td", {}, r.check), h("td", {}, badge(r.status)), h("td", { class: "num" }, r.value || ""),
      h("td", { class: "muted" }, r.hint || ""))))));
}

function planForm() {
  const kwargs = h("textarea", { rows: 2, cols: 60, name: "kwargs" }, '{"detectors": ["spectrometer"], "num": 1}');
  const plan = h("select", { name: "plan" }, h("option", {}, "count"), h("option", {}, "scan"));
  const result = h("span", { class: "muted" });
  return h("section", { class: "panel wide" }, h("h2", {}, "Run a plan by hand (staff)"),
    h("form", { class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      let args;
      try { args = JSON.parse(kwargs.value); } catch (err) { toast(`kwargs: ${err.message}`, "error"); return; }
      const done = await act("POST", "/api/plans", { plan: plan.value, kwargs: args });
      if (done) { result.replaceChildren("run ", h("a", { href: `/runs/${done.run_uids[0]}` }, done.run_uids[0]?.slice(0, 8)), ` ended: ${done.exit_status}`); }
    } }, h("label", {}, "plan", plan), h("label", {}, "arguments (JSON; devices by name, bare numbers in the device's unit)", kwargs), h("button", { class: "primary", id: "run-plan" }, "Run"), result));
}

// --- Campaigns ----------------------------------------------------------------------------------
async function campaignsPage() {
  const list = h("div", { class: "grid" });
  content.replaceChildren(list);
  await follow("campaign", () => api("GET", "/api/campaigns"), (campaigns) => list.replaceChildren(...campaigns.map(campaignCard)));
}

function campaignCard(c) {
  const s = c.session;
  const state = s ? s.state : c.trials ? "stored" : "new";
  const form = c.file && can("operator") ? startForm(c) : null;
  return h("section", { class: "panel", "data-campaign": c.name },
    h("div", { class: "row" }, h("h2", {}, h("a", { href: `/campaigns/${encodeURIComponent(c.name)}` }, c.name)), badge(state)),
    h("p", { class: "muted" }, c.description || ""),
    c.error ? h("p", { class: "error" }, c.error) : null,
    h("p", {}, `${c.trials} trials stored: ${c.completed} completed, ${c.failed} failed`,
      c.approval === "required" ? " · proposals need approval" : ""),
    s ? progressLine(s) : null,
    form);
}

function startForm(c) {
  // a campaign stopped short continues where it was going, with the planner it ran with
  const s = c.session;
  const spent = c.completed + c.failed;
  const short = s && s.total > spent && s.state !== "failed";
  const chosen = s ? s.planner : c.default_planner;
  const planner = h("select", { name: "planner" }, ["ax", "sobol", "random"].map((p) => h("option", { selected: p === chosen }, p)));
  const total = short ? s.total : Math.max(c.default_trials ?? 1, spent + 1);
  const trials = h("input", { name: "trials", type: "number", min: spent + 1, value: total, style: "width:6em" });
  const seed = h("input", { name: "seed", type: "number", min: 0, value: s ? s.seed : c.default_seed ?? 0, style: "width:6em" });
  return h("form", { class: "inline start", onsubmit: async (e) => {
    e.preventDefault();
    const started = await act("POST", `/api/campaigns/${encodeURIComponent(c.name)}/start`,
      { planner: planner.value, trials: Number(trials.value), seed: Number(seed.value) }, `Started ${c.name}`);
    if (started) location.assign(`/campaigns/${encodeURIComponent(c.name)}`);
  } }, h("label", {}, "planner", planner), h("label", {}, "trials (total)", trials), h("label", {}, "seed", seed),
    h("button", { class: "primary" }, spent ? "Continue" : "Start"));
}

// the campaign that holds the lab shows the lab's state (paused, awaiting approval, ...);
// any other shows how its last session ended
function campaignState(name, session) {
  if (lastControl && lastControl.active_campaign === name) return slug(lastControl.lab);
  return session ? session.state : "idle";
}

function progressLine(s) {
  const pct = s.total ? (100 * s.done) / s.total : 0;
  return h("div", { class: "row progress" },
    h("span", { class: "count" }, `trial ${s.done} of ${s.total}`),
    h("div", { class: "bar" }, h("div", { style: `width:${pct}%` })),
    s.stopped ? h("span", { class: "muted" }, s.stopped) : null,
    s.alert ? h("span", { class: "alert", role: "alert" }, `paused: ${s.alert}`) : null);
}

// --- one campaign: progress, control, live plots, trials ------------------------------------------
async function campaignPage(name) {
  const summary = h("section", { class: "panel wide", id: "summary" });
  const plots = ["objective-plot", "parameter-plot", "spectrum-plot"].map((id) => h("div", { class: "plot", id }));
  const tbody = h("tbody");
  const thead = h("thead");
  const plate = platePanel(tbody);
  content.replaceChildren(summary, plate.panel,
    h("div", { class: "grid" },
      h("section", { class: "panel" }, h("h2", {}, "Objective per trial"), plots[0]),
      h("section", { class: "panel" }, h("h2", {}, "Parameters per trial"), plots[1]),
      h("section", { class: "panel" }, h("h2", {}, "Latest spectrum and target"), plots[2]),
      h("section", { class: "panel" }, h("h2", {}, "Device use per trial"), h("div", { class: "plot", id: "timeline-plot" }),
        h("h3", {}, "Where the lab time went"), h("p", { id: "time-use-summary" }), h("div", { class: "plot bars", id: "time-use-plot" }))),
    h("section", { class: "panel wide" }, h("h2", {}, "Trials"), h("table", { id: "trials" }, thead, tbody)));
  // what the stream says from now on wins over the first read, which may be older
  const trials = new Map();
  const heard = new Set();
  let session = null;
  let sessionHeard = false;
  let ready = false;
  on("trial", (t) => {
    if (t.campaign !== name) return;
    trials.set(t.trial, t);
    heard.add(t.trial);
    if (ready) { render(); timeline(); }
  });
  on("campaign", (s) => { if (s.name === name) { session = s; sessionHeard = true; if (ready) renderSummary(); } });
  on("control", () => { if (ready) renderSummary(); });  // a pause or a proposal waiting is its state too
  const data = await api("GET", `/api/campaigns/${encodeURIComponent(name)}`);
  for (const t of data.trial_list) if (!heard.has(t.trial)) trials.set(t.trial, t);
  if (!sessionHeard) session = data.session;
  const target = await api("GET", `/api/campaigns/${encodeURIComponent(name)}/target`).catch(() => null);
  const renderSummary = () => summary.replaceChildren(
    h("div", { class: "row" }, h("h2", {}, "Progress"), badge(campaignState(name, session))),
    session ? h("div", { class: "stats" },
      h("div", {}, h("b", { id: "progress-count" }, `${session.done} / ${session.total}`), "trials"),
      h("div", {}, h("b", { id: "best" }, session.best ? Object.entries(session.best).map(([k, v]) => `${k} ${num(v)}`).join(", ") : "–"), "best so far"),
      h("div", {}, h("b", {}, session.seconds_per_trial ? `${num(session.seconds_per_trial, 3)} s` : "–"), "per trial"),
      h("div", {}, h("b", {}, session.planner), `seed ${session.seed}`),
      h("div", {}, h("b", {}, session.started_by), "started by")) : h("p", { class: "muted" }, "Not running in this lab process; start it from the Campaigns page."),
    session ? progressLine(session) : null,
    controlButtons(name));
  const render = () => {
    const rows = [...trials.values()].sort((a, b) => a.trial - b.trial);
    const maximised = new Set(data.maximised || []);
    renderTrials(thead, tbody, rows, maximised);
    plotTrials(rows, maximised);
    plate.render(rows);
  };
  const timeline = async () => {
    plotTimeline(await api("GET", `/api/campaigns/${encodeURIComponent(name)}/timeline`).catch(() => []));
    plotTimeUse(await api("GET", `/api/campaigns/${encodeURIComponent(name)}/time-use`).catch(() => null));
  };
  ready = true;
  renderSummary();
  render();
  // a link from a run names its trial: show that row
  const linked = location.hash && document.getElementById(location.hash.slice(1));
  if (linked) { linked.classList.add("chosen"); linked.scrollIntoView({ block: "center" }); }
  try {
    const latest = await api("GET", `/api/campaigns/${encodeURIComponent(name)}/spectrum`);
    plotSpectrum(latest, target);
  } catch { plotSpectrum(null, target); }
  timeline();
  on("spectrum", (s) => { if (s.campaign === name) plotSpectrum(s, target); });
}

// a plate campaign's wells as the plate lies: each well coloured by its trial's first
// outcome (one scale, shown), running wells ringed, failed ones crossed; a click shows
// the trial and marks its row in the trials table
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t) {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const c = VIRIDIS[i].map((v, k) => Math.round(v + (VIRIDIS[i + 1][k] - v) * (x - i)));
  return `rgb(${c.join(",")})`;
}
const wellOf = (t) => /^([^/]+)\/([A-Z])(\d+)$/.exec(t.sample_id || "");

function platePanel(tbody) {
  const grid = h("div", { class: "plate", role: "grid" });
  const legend = h("div", { class: "plate-legend" });
  const detail = h("p", { class: "muted", id: "well-detail" }, "Click a well to see its trial.");
  const title = h("h2", {}, "Plate");
  const panel = h("section", { class: "panel wide", id: "plate", hidden: true }, title, grid, legend, detail);
  let chosen = null;
  let last = [];
  const show = (t) => {
    chosen = t.trial;
    const [, name, row, col] = wellOf(t);
    const outcomes = Object.entries(t.outcomes || {}).map(([k, v]) => `${k} ${num(v)}`);
    detail.replaceChildren(h("b", {}, `${name} ${row}${col}: trial ${t.trial}`), " ", badge(t.status), " ",
      Object.entries(t.parameters).map(([k, v]) => `${k} ${quantity(v)}`).join(", "),
      outcomes.length ? ` → ${outcomes.join(", ")}` : "", t.error ? h("span", { class: "error" }, ` ${t.error}`) : "",
      ...(t.run_uid ? [" · ", h("a", { href: `/runs/${t.run_uid}` }, "its run")] : []));
    for (const tr of tbody.querySelectorAll("tr.chosen")) tr.classList.remove("chosen");
    tbody.querySelector(`tr[data-trial="${t.trial}"]`)?.classList.add("chosen");
    render(last);
  };
  const render = (rows) => {
    last = rows;
    const placed = rows.map((t) => [wellOf(t), t]).filter(([w]) => w);
    panel.hidden = !placed.length;
    if (!placed.length) return;
    const current = placed[placed.length - 1][0][1];  // the plate of the latest trial
    const here = new Map(placed.filter(([w]) => w[1] === current).map(([w, t]) => [`${w[2]}${w[3]}`, t]));
    const objective = Object.keys(rows.find((t) => t.outcomes)?.outcomes || {})[0];
    const values = [...here.values()].filter((t) => t.outcomes && objective in t.outcomes).map((t) => t.outcomes[objective]);
    const low = Math.min(...values), high = Math.max(...values);
    const rowsN = Math.max(8, ...[...here.keys()].map((k) => k.charCodeAt(0) - 64));
    const colsN = Math.max(12, ...[...here.keys()].map((k) => Number(k.slice(1))));
    title.replaceChildren("Plate ", h("span", { class: "muted" }, `${current} · ${here.size} of ${rowsN * colsN} wells used`));
    grid.style.setProperty("--cols", colsN);
    const cells = [h("span", {})];
    for (let c = 1; c <= colsN; c++) cells.push(h("span", { class: "plate-label" }, String(c)));
    for (let r = 0; r < rowsN; r++) {
      const letter = String.fromCharCode(65 + r);
      cells.push(h("span", { class: "plate-label" }, letter));
      for (let c = 1; c <= colsN; c++) {
        const t = here.get(`${letter}${c}`);
        if (!t) { cells.push(h("span", { class: "well empty", title: `${letter}${c}: empty` })); continue; }
        const v = t.outcomes?.[objective];
        const style = v === undefined ? "" : `background:${viridis(high > low ? (v - low) / (high - low) : 0.5)}`;
        const words = `${letter}${c}: trial ${t.trial}, ${t.status.replaceAll("_", " ")}${v === undefined ? "" : `, ${objective} ${num(v)}`}`;
        const cell = h("button", { class: `well ${t.status}${t.trial === chosen ? " chosen" : ""}`, style, title: words, "aria-label": words, "data-well": `${letter}${c}` });
        cell.addEventListener("click", () => show(t));
        cells.push(cell);
      }
    }
    grid.replaceChildren(...cells);
    if (chosen !== null) tbody.querySelector(`tr[data-trial="${chosen}"]`)?.classList.add("chosen");
    legend.replaceChildren(
      values.length ? h("span", { class: "scale" }, `${objective} ${num(low)}`, h("span", { class: "ramp" }), num(high)) : "",
      h("span", {}, h("span", { class: "well running" }), " running"),
      h("span", {}, h("span", { class: "well failed" }), " failed"),
      h("span", {}, h("span", { class: "well empty" }), " empty"));
  };
  return { panel, render };
}

function renderTrials(thead, tbody, rows, maximised = new Set()) {
  const params = [...new Set(rows.flatMap((t) => Object.keys(t.parameters)))];
  const outcomes = [...new Set(rows.flatMap((t) => Object.keys(t.outcomes || {})))];
  const best = bestTrial(rows, outcomes[0], maximised.has(outcomes[0]));
  thead.replaceChildren(h("tr", {}, h("th", {}, "#"), h("th", {}, "status"),
    params.map((p) => h("th", {}, p)), outcomes.map((o) => h("th", {}, o)),
    h("th", {}, "generator"), h("th", {}, "run"), h("th", {}, "note")));
  tbody.replaceChildren(...rows.slice().reverse().map((t) => h("tr", { class: t.trial === best ? "best" : "", "data-trial": t.trial, id: `trial-${t.trial}` },
    h("td", { class: "num" }, t.trial), h("td", {}, badge(edited(t) ? "edited" : t.status)),
    params.map((p) => h("td", { class: chosen(t.parameters[p]) ? "" : "num" }, quantity(t.parameters[p]))),
    outcomes.map((o) => h("td", { class: "num" }, t.outcomes ? num(t.outcomes[o]) : "–")),
    h("td", {}, t.planner.split("/").pop()),
    h("td", {}, t.run_uid ? h("a", { href: `/runs/${t.run_uid}` }, t.run_uid.slice(0, 8)) : "–"),
    h("td", { class: t.status === "failed" ? "error" : "muted" }, t.error || (t.decided_by ? `decided by ${t.decided_by}` : "")))));
}

// a proposal approved with edits lives on as a new trial: it was not turned down
const edited = (t) => t.status === "rejected" && /^edited by /.test(t.error || "");

// the best measured trial: lowest, or highest for a maximised objective
function bestTrial(rows, objective, maximise = false) {
  const sign = maximise ? -1 : 1;
  let best = null;
  for (const t of rows) if (t.outcomes && (best === null || sign * t.outcomes[objective] < sign * best.outcomes[objective])) best = t;
  return best?.trial;
}

const layout = (extra) => ({ margin: { t: 30, r: 10, b: 40, l: 55 }, legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, ...extra });
const config = { displaylogo: false, responsive: true };

// the trial axis: whole trials only, a tick per trial while they fit, nothing below trial 0
function trialAxis(rows) {
  const last = rows.length ? Math.max(...rows.map((t) => t.trial)) : 1;
  return { title: { text: "trial" }, tickformat: "d", zeroline: false, range: [-0.5, Math.max(last, 1) + 0.5], ...(last <= 20 ? { dtick: 1 } : {}) };
}

// a value axis around one point is not -1..1: pad it by a tenth of the value
function around(values) {
  if (values.length !== 1) return {};
  const pad = Math.abs(values[0]) * 0.1 || 1;
  return { range: [values[0] - pad, values[0] + pad] };
}

const PALETTE = ["#1f6feb", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];
const unitOf = (text) => unit(/^\s*[-+0-9.eE]+\s*(.*)$/.exec(text ?? "")?.[1]);
const titled = (name, u) => (u ? `${name} (${u})` : name);
// a parameter with choices: its values are names, not numbers with units
const chosen = (text) => text != null && Number.isNaN(magnitude(text));
const categorical = (rows, p) => rows.some((t) => chosen(t.parameters[p]));

function plotTrials(rows, maximised = new Set()) {
  if (!window.Plotly) return setTimeout(() => plotTrials(rows, maximised), 200);
  const done = rows.filter((t) => t.outcomes);
  const objective = Object.keys(done[0]?.outcomes || {})[0];
  const traces = [];
  let values = [];
  if (objective) {
    const better = maximised.has(objective) ? Math.max : Math.min;
    let running = maximised.has(objective) ? -Infinity : Infinity;
    const x = done.map((t) => t.trial);
    values = done.map((t) => t.outcomes[objective]);
    // with choices, the points are coloured by the first parameter's choice
    const by = [...new Set(rows.flatMap((t) => Object.keys(t.parameters)))].find((p) => categorical(rows, p));
    if (by) {
      const choices = [...new Set(done.map((t) => t.parameters[by]))];
      choices.forEach((c, i) => {
        const mine = done.filter((t) => t.parameters[by] === c);
        traces.push({ x: mine.map((t) => t.trial), y: mine.map((t) => t.outcomes[objective]), mode: "markers",
          name: `${by} ${c}`, marker: { color: PALETTE[i % PALETTE.length], size: 8 } });
      });
    } else traces.push({ x, y: values, mode: "markers", name: objective, marker: { color: "#8b949e" } });
    traces.push({ x, y: values.map((v) => (running = better(running, v))), mode: "lines", line: { shape: "hv", color: "#444" }, name: "best so far" });
  }
  const objectiveUnit = unit(done[0]?.outcome_units?.[objective] || "");
  Plotly.react("objective-plot", traces, layout({ xaxis: trialAxis(rows),
    yaxis: { title: { text: titled(objective || "", objectiveUnit) }, automargin: true, ...around(values) } }), config);
  const params = [...new Set(rows.flatMap((t) => Object.keys(t.parameters)))];
  const units = Object.fromEntries(params.map((p) => [p, unitOf(rows.find((t) => t.parameters[p])?.parameters[p])]));
  // one panel per parameter, stacked; the legend names each with its unit, and each
  // panel's numbers are in its line's colour (titles would not fit beside short panels)
  // a parameter with choices has a categorical axis (a row per choice), its points in
  // one colour per choice
  const ptraces = params.map((p, i) => categorical(rows, p) ? {
    x: rows.map((t) => t.trial), y: rows.map((t) => t.parameters[p]), mode: "markers", name: p,
    yaxis: `y${i ? i + 1 : ""}`, marker: { size: 8, color: rows.map((t) => PALETTE[[...new Set(rows.map((r) => r.parameters[p]))].indexOf(t.parameters[p]) % PALETTE.length]) },
  } : {
    x: rows.map((t) => t.trial), y: rows.map((t) => magnitude(t.parameters[p])), mode: "lines+markers",
    name: titled(p, units[p]), yaxis: `y${i ? i + 1 : ""}`, line: { color: PALETTE[i % PALETTE.length] },
  });
  const axes = {};
  params.forEach((p, i) => {
    const span = 1 / params.length;
    const domain = [i * span + 0.02, (i + 1) * span - 0.02];
    if (categorical(rows, p)) {  // every choice tried is labelled, however short the panel
      const choices = [...new Set(rows.map((t) => t.parameters[p]))];
      axes[`yaxis${i ? i + 1 : ""}`] = { domain, type: "category", categoryarray: choices, tickmode: "array",
        tickvals: choices, tickfont: { size: 9 }, automargin: true, title: { text: p, font: { size: 11 } } };
      return;
    }
    const shown = rows.map((t) => magnitude(t.parameters[p])).filter((v) => !Number.isNaN(v));
    axes[`yaxis${i ? i + 1 : ""}`] = { domain, tickfont: { color: PALETTE[i % PALETTE.length] }, automargin: true, ...around(shown) };
  });
  Plotly.react("parameter-plot", ptraces, layout({ xaxis: trialAxis(rows), showlegend: true, ...axes }), config);
}

// a Gantt chart: a row per device, a bar per step, coloured by trial; lab time in minutes.
// An idle stretch far longer than the lab's usual pauses (a campaign continued the next
// day) is cut to a short one and marked with how long it was, so the work is not
// squeezed into a corner
function plotTimeline(spans) {
  if (!window.Plotly) return setTimeout(() => plotTimeline(spans), 200);
  const t0 = Math.min(...spans.map((s) => s.reached));
  const order = [...spans].sort((a, b) => a.began - b.began);
  const idles = [];
  let until = order.length ? order[0].began : 0;
  for (const s of order) { if (s.began > until) idles.push(s.began - until); until = Math.max(until, s.ended); }
  const usual = idles.length ? [...idles].sort((a, b) => a - b)[Math.floor(idles.length / 2)] : 0;
  const IDLE_CUT_S = Math.max(1800, 20 * usual);
  const IDLE_SHOWN_S = Math.max(60, 2 * usual);
  const shift = new Map();
  const gaps = [];
  let cut = 0;
  let busyUntil = order.length ? order[0].began : 0;
  for (const s of order) {
    const idle = s.began - busyUntil;
    if (idle > IDLE_CUT_S) {
      cut += idle - IDLE_SHOWN_S;
      gaps.push({ at: (s.began - t0 - cut - IDLE_SHOWN_S / 2) / 60, seconds: idle });
    }
    shift.set(s, cut);
    busyUntil = Math.max(busyUntil, s.ended);
  }
  const trials = [...new Set(spans.map((s) => s.trial))];
  const traces = trials.map((trial) => {
    const mine = spans.filter((s) => s.trial === trial);
    return {
      type: "bar", orientation: "h", name: `trial ${trial}`, y: mine.map((s) => s.device),
      base: mine.map((s) => (s.began - t0 - shift.get(s)) / 60), x: mine.map((s) => (s.ended - s.began) / 60),
      hovertemplate: `trial ${trial} on %{y}<br>for %{x:.2f} min<extra></extra>`,
    };
  });
  const idleText = (sec) => (sec >= 5400 ? `${num(sec / 3600, 2)} h idle` : `${Math.round(sec / 60)} min idle`);
  Plotly.react("timeline-plot", traces, layout({ barmode: "overlay", showlegend: trials.length <= 12,
    shapes: gaps.map((g) => ({ type: "line", xref: "x", yref: "paper", x0: g.at, x1: g.at, y0: 0, y1: 1, line: { dash: "dot", color: "#6e7781" } })),
    annotations: gaps.map((g) => ({ x: g.at, xref: "x", y: 1, yref: "paper", text: idleText(g.seconds), showarrow: false, font: { size: 10, color: "#5f6b7a" }, yanchor: "bottom" })),
    xaxis: { title: { text: gaps.length ? "lab time, long idle stretches cut (min)" : "lab time (min)" } }, yaxis: { autorange: "reversed", type: "category", automargin: true } }), config);
}

// each device's lab time as one bar: busy, waiting for a resource, waiting for its next trial, idle
const TIME_USE = [["busy", "busy", "#1a7f37"], ["waiting_resource", "waiting for a resource", "#bf8700"],
  ["waiting_software", "waiting for its next trial", "#cf222e"], ["idle", "idle", "#d0d7de"]];
function plotTimeUse(use) {
  if (!window.Plotly) return setTimeout(() => plotTimeUse(use), 200);
  document.getElementById("time-use-summary").textContent = use ? use.summary : "";
  const el = document.getElementById("time-use-plot");
  if (!use || !use.devices.length) { Plotly.purge(el); el.style.display = "none"; return; }
  el.style.display = "";
  const devices = use.devices.map((d) => d.device);
  const traces = TIME_USE.map(([key, label, colour]) => ({
    type: "bar", orientation: "h", name: label, y: devices, x: use.devices.map((d) => 100 * d[key]),
    marker: { color: colour }, hovertemplate: `%{y}: %{x:.0f}% ${label}<extra></extra>`,
  }));
  Plotly.react(el, traces, layout({ barmode: "stack", xaxis: { title: { text: "share of the lab time (%)" }, range: [0, 100] },
    yaxis: { autorange: "reversed", type: "category", automargin: true } }), config);
}

function plotSpectrum(measured, target) {
  if (!window.Plotly) return setTimeout(() => plotSpectrum(measured, target), 200);
  const traces = [];
  if (target) traces.push({ x: target.wavelength_nm, y: target.absorbance, name: "target", line: { dash: "dash", color: "#111" } });
  if (measured) traces.push({ x: measured.wavelength_nm, y: measured.absorbance, name: `trial ${measured.trial}`, line: { color: "#cf222e" } });
  const el = document.getElementById("spectrum-plot");
  if (!traces.length) {  // empty axes would say a spectrum is missing
    Plotly.purge(el);
    el.replaceChildren(h("p", { class: "muted" }, "No spectrum yet: this campaign has no target spectrum, and none of its trials has been measured."));
    return;
  }
  if (el.querySelector("p.muted")) el.replaceChildren();
  Plotly.react("spectrum-plot", traces, layout({ xaxis: { title: { text: "wavelength (nm)" } }, yaxis: { title: { text: "absorbance (AU)" } } }), config);
}

// --- Approvals ----------------------------------------------------------------------------------
async function approvalsPage() {
  const list = h("div", { class: "grid", id: "proposals" });
  content.replaceChildren(list);
  const cards = new Map(); // kept across updates, so an edit in progress is never wiped
  const render = (proposals) => {
    const keys = proposals.map((p) => `${p.campaign}/${p.trial}`);
    for (const key of [...cards.keys()]) if (!keys.includes(key)) cards.delete(key);
    proposals.forEach((p, i) => { if (!cards.has(keys[i])) cards.set(keys[i], proposalCard(p)); });
    list.replaceChildren(...(keys.length ? keys.map((k) => cards.get(k))
      : [h("p", { class: "muted" }, "Nothing waits for approval. Campaigns with approval: required stop here before each experiment.")]));
  };
  await follow("proposals", () => api("GET", "/api/proposals"), render);
}

function proposalCard(p) {
  const path = `/api/campaigns/${encodeURIComponent(p.campaign)}/proposals/${p.trial}`;
  // a choice or a discrete value is picked from its list; a continuous one typed with its unit
  const inputs = Object.entries(p.parameters).map(([name, value]) => {
    const b = p.bounds[name];
    const listed = b.choices ?? b.values?.map(quantity);
    if (listed) {
      const select = h("select", { name, "data-original": quantity(value) },
        listed.map((c) => h("option", { value: c, ...(c === quantity(value) ? { selected: "" } : {}) }, c)));
      return h("label", {}, b.choices ? `${name} (choice)` : `${name} (one of ${listed.length})`, select);
    }
    const input = h("input", { name, value: quantity(value), "data-original": quantity(value), size: 12 });
    return h("label", {}, `${name} (${quantity(b.min)} … ${quantity(b.max)})`, input);
  });
  const reason = h("input", { name: "reason", placeholder: "reason for rejecting", size: 30 });
  const approve = async () => {
    const edits = {};
    for (const label of inputs) {
      const input = label.querySelector("input, select");
      if (input.value.trim() !== input.dataset.original) edits[input.name] = input.value.trim();
    }
    const edited = Object.keys(edits).length > 0;
    for (const label of inputs) label.querySelector("input, select").classList.remove("bad");
    try {
      await api("POST", `${path}/approve`, edited ? { parameters: edits } : {});
      toast(edited ? `Trial ${p.trial} approved with your edits` : `Trial ${p.trial} approved`);
    } catch (err) {
      toast(err.message, "error");
      for (const label of inputs) {
        const input = label.querySelector("input, select");
        if (err.message.includes(`parameters.${input.name}`)) input.classList.add("bad");
      }
    }
  };
  const reject = () => {
    if (!reason.value.trim()) { toast("Give a reason for the rejection; the planner records it.", "error"); reason.focus(); return; }
    act("POST", `${path}/reject`, { reason: reason.value.trim() }, `Trial ${p.trial} rejected`);
  };
  const disabled = !can("operator");
  return h("section", { class: "panel proposal", "data-trial": p.trial },
    h("h2", {}, `${p.campaign}: trial ${p.trial}`),
    h("p", { class: "muted" }, `proposed by ${p.generator} at ${when(p.proposed)}`),
    h("div", { class: "row" }, inputs),
    p.constraints.length ? h("p", { class: "muted" }, `constraints: ${p.constraints.join("; ")}`) : null,
    h("div", { class: "row" },
      h("button", { class: "primary approve", disabled, onclick: approve }, "Approve"),
      reason, h("button", { class: "danger reject", disabled, onclick: reject }, "Reject")));
}

// --- Audit, users, runs ---------------------------------------------------------------------------
// who did what: newest first, filtered by user (an agent's own user, say) or by action
async function auditPage() {
  const tbody = h("tbody");
  let oldest = null;
  const user = h("input", { name: "user", placeholder: "any user", size: 14, list: "audit-users" });
  const action = h("input", { name: "action", placeholder: "any action (e.g. campaign)", size: 22 });
  const users = h("datalist", { id: "audit-users" });
  const more = h("button", { onclick: () => load(oldest) }, "Older entries");
  const filter = h("form", { class: "inline", id: "audit-filter", onsubmit: (e) => { e.preventDefault(); tbody.replaceChildren(); load(null); } },
    h("label", {}, "user", user), h("label", {}, "action", action), users,
    h("button", { class: "primary" }, "Show"),
    h("button", { type: "button", onclick: () => { user.value = ""; action.value = ""; tbody.replaceChildren(); load(null); } }, "All"));
  const told = h("tbody");
  content.replaceChildren(h("section", { class: "panel wide" }, filter, h("table", { id: "audit" },
    h("thead", {}, h("tr", {}, ["time", "user", "role", "from", "action", "target", "outcome", "detail"].map((c) => h("th", {}, c)))), tbody), more),
    h("section", { class: "panel wide" }, h("h2", {}, "Notifications sent"),
      h("table", { id: "notifications" }, h("thead", {}, h("tr", {}, ["time", "event", "severity", "about", "channel", "outcome"].map((c) => h("th", {}, c)))), told)));
  // what the lab told people (the lab file's notifications:), and how each message went
  api("GET", "/api/notifications?limit=100").then((rows) => told.replaceChildren(...(rows.length ? rows.map((n) =>
    h("tr", { "data-event": n.event }, h("td", { class: "nowrap" }, when(n.time)), h("td", {}, n.title, n.more ? ` (and ${n.more} more like it)` : ""),
      h("td", {}, badge(n.severity)), h("td", {}, n.subject), h("td", {}, n.channel),
      h("td", { class: n.status === "sent" ? "" : "error" }, n.status === "sent" ? `sent${n.attempts > 1 ? ` on try ${n.attempts}` : ""}` : `failed after ${n.attempts} tries: ${n.error}`)))
    : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nothing sent. The lab file's notifications: section says where the lab's events go."))])));
  // a detail in words: "edits: cyan 0.5 mL, temperature 320 K; seconds: 0.006"
  const words = (v) => (v && typeof v === "object"
    ? Object.entries(v).map(([k, x]) => `${k} ${typeof x === "object" ? JSON.stringify(x) : x}`).join(", ") : String(v));
  const detail = (d) => Object.entries(d ?? {}).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k.replaceAll("_", " ")}: ${words(v)}`).join("; ");
  async function load(before) {
    const query = new URLSearchParams({ limit: "100" });
    if (before) query.set("before", before);
    if (user.value.trim()) query.set("user", user.value.trim());
    if (action.value.trim()) query.set("action", action.value.trim());
    const entries = await api("GET", `/api/audit?${query}`);
    for (const e of entries) {
      tbody.append(h("tr", {}, h("td", { class: "nowrap" }, when(e.time)), h("td", {}, e.user || "–"), h("td", {}, e.role || "–"),
        h("td", {}, e.client || "–"), h("td", {}, e.action), h("td", {}, e.target || ""),
        h("td", { class: e.outcome === "ok" ? "" : "error" }, e.outcome), h("td", { class: "detail" }, detail(e.detail))));
      oldest = e.id;
    }
    const seen = new Set([...users.options].map((o) => o.value));
    for (const e of entries) if (e.user && !seen.has(e.user)) { seen.add(e.user); users.append(h("option", { value: e.user })); }
    if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No entry matches.")));
    more.disabled = entries.length < 100;
  }
  await load(null);
}

async function usersPage() {
  if (!can("staff")) { content.replaceChildren(h("p", { class: "error" }, "Only staff manage users.")); return; }
  const tbody = h("tbody");
  const campaigns = (await api("GET", "/api/campaigns")).map((c) => c.name);
  const path = (u, c) => `/api/users/${encodeURIComponent(u)}/unattended/${encodeURIComponent(c)}`;
  // an agent's campaigns it may run without a person's approval, each revocable, and a grant
  const grants = (u) => {
    const pick = h("select", { name: "campaign", "aria-label": `campaign ${u.username} may run unattended` },
      campaigns.filter((c) => !u.unattended.includes(c)).map((c) => h("option", {}, c)));
    return h("td", {}, ...u.unattended.map((c) => h("span", { class: "tag", "data-grant": c }, c, " ",
        h("button", { title: `revoke ${c}`, onclick: async () => { if (await act("DELETE", path(u.username, c), undefined, `${u.username} may no longer run ${c} unattended`)) render(); } }, "×"))),
      pick.options.length ? h("form", { class: "inline", onsubmit: async (e) => {
        e.preventDefault();
        if (await act("PUT", path(u.username, pick.value), undefined, `${u.username} may run ${pick.value} unattended`)) render();
      } }, pick, h("button", {}, "Grant")) : null);
  };
  const render = async () => {
    const users = await api("GET", "/api/users");
    tbody.replaceChildren(...users.map((u) => h("tr", { "data-user": u.username }, h("td", {}, u.username), h("td", {}, u.role),
      h("td", {}, u.agent ? "AI agent" : "person"), u.agent ? grants(u) : h("td", { class: "muted" }, "–"), h("td", {}, when(u.created)),
      h("td", {}, u.username === body.dataset.user ? h("span", { class: "muted" }, "you") : h("button", { class: "danger", onclick: async () => { if (await act("DELETE", `/api/users/${encodeURIComponent(u.username)}`, undefined, `Removed ${u.username}`)) render(); } }, "Remove")))));
  };
  const username = h("input", { name: "username", required: true });
  const role = h("select", { name: "role" }, ["viewer", "operator", "staff"].map((r) => h("option", {}, r)));
  const password = h("input", { name: "password", type: "password", minlength: 8, required: true, autocomplete: "new-password" });
  const agent = h("input", { name: "agent", type: "checkbox" });
  content.replaceChildren(
    h("section", { class: "panel wide" }, h("table", { id: "users" }, h("thead", {}, h("tr", {}, h("th", {}, "user"), h("th", {}, "role"), h("th", {}, "kind"),
      h("th", { title: "campaigns an agent may run without a person's approval of each trial" }, "runs unattended"), h("th", {}, "since"), h("th", {}))), tbody)),
    h("section", { class: "panel wide" }, h("h2", {}, "Add a user"), h("form", { class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      if (await act("POST", "/api/users", { username: username.value, role: role.value, password: password.value, agent: agent.checked }, `Added ${username.value}`)) { e.target.reset(); render(); }
    } }, h("label", {}, "user", username), h("label", {}, "role", role), h("label", {}, "password (8 or more characters)", password),
      h("label", { title: "an AI agent's user, for lab mcp: what it starts or offers waits for a person's approval" }, agent, " an AI agent"), h("button", { class: "primary" }, "Add"))),
    channelsPanel());
  await render();
}

// where the lab's notifications go (the lab file's notifications: section; secrets never shown)
function channelsPanel() {
  const panel = h("section", { class: "panel wide", id: "channels" }, h("h2", {}, "Notifications"));
  api("GET", "/api/notifications/settings").then((n) => {
    if (!n) { panel.append(h("p", { class: "muted" }, "The lab file sends no notifications (add a notifications: section).")); return; }
    panel.append(
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "channel"), h("th", {}, "kind"), h("th", {}, "to"), h("th", {}, "events"))),
        h("tbody", {}, n.channels.map((c) => h("tr", { "data-channel": c.name }, h("td", {}, c.name), h("td", {}, c.kind), h("td", {}, c.to), h("td", {}, c.events.join(", ") || "none"))))),
      h("p", { class: "muted" }, [n.quiet_hours ? `quiet hours ${n.quiet_hours}` : "no quiet hours", `one message per event and subject every ${n.rate_limit}`,
        n.summary_at ? `the morning summary at ${n.summary_at}` : "no morning summary"].join(" · ")),
      h("p", { class: "muted" }, "Channels are set in the lab file's notifications: section; what was sent is on the Audit log page."));
  });
  return panel;
}

// a run as a person reads it: what it was for, how it ended, the protocol it ran, the
// spectrum it measured, and each stream's events with their times and units; the raw
// documents stay one click away
async function runPage(uid) {
  const { run, documents } = await api("GET", `/api/runs/${encodeURIComponent(uid)}`);
  const start = documents.find((d) => d.name === "start")?.doc ?? {};
  const descriptors = new Map(documents.filter((d) => d.name === "descriptor").map((d) => [d.doc.uid, d.doc]));
  const streams = new Map();
  for (const d of documents) {
    if (d.name !== "event") continue;
    const descriptor = descriptors.get(d.doc.descriptor);
    const stream = descriptor?.name ?? "?";
    if (!streams.has(stream)) streams.set(stream, { descriptor, events: [] });
    streams.get(stream).events.push(d.doc);
  }
  const t0 = run.started;
  const campaign = run.campaign ? h("a", { href: `/campaigns/${encodeURIComponent(run.campaign)}` }, run.campaign) : null;
  const trial = run.campaign && run.trial != null
    ? h("a", { href: `/campaigns/${encodeURIComponent(run.campaign)}#trial-${run.trial}` }, `trial ${run.trial}`) : null;
  const facts = [
    ["plan", run.plan_name ?? "–"],
    ["campaign", campaign ? [campaign, trial ? " · " : "", trial] : "– (run by hand)"],
    ["station", run.station ?? "–"],
    ["started by", run.operator ?? "–"],
    ["started", when(run.started)],
    ["took", run.finished ? `${num(run.finished - run.started, 3)} s` : "still running"],
  ];
  if (run.reason) facts.push(["why it ended", run.reason]);
  const spectrum = h("div", { class: "plot", id: "run-spectrum" });
  const measured = spectrumOf(streams.get("primary"));
  content.replaceChildren(...[
    h("section", { class: "panel wide", id: "run-summary" },
      h("div", { class: "row" }, h("h2", {}, `Run ${run.scan_id}`), badge(run.exit_status ?? "running")),
      h("table", {}, h("tbody", {}, facts.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))))),
    start.protocol ? protocolPanel(start.protocol) : null,
    measured ? h("section", { class: "panel wide" }, h("h2", {}, "Spectrum measured"), spectrum) : null,
    ...[...streams].map(([name, s]) => streamPanel(name, s, t0)),
    h("section", { class: "panel wide" }, h("details", {}, h("summary", {}, `all ${documents.length} documents as stored (JSON)`),
      documents.map((d) => h("details", {}, h("summary", {}, d.name === "event" ? `event in ${descriptors.get(d.doc.descriptor)?.name ?? "?"}` : d.name),
        h("pre", {}, JSON.stringify(d.doc, null, 2))))))].filter(Boolean));
  if (measured) plotRunSpectrum(measured);
}

// the protocol's steps as the run filled them in, each quantity rounded for reading
function protocolPanel(protocol) {
  const shown = (v) => (typeof v === "string" && /^\s*[-+0-9.eE]+\s+\S/.test(v) ? quantity(v) : String(v));
  return h("section", { class: "panel wide", id: "run-protocol" },
    h("h2", {}, `Protocol ${protocol.name ?? ""}`),
    protocol.description ? h("p", { class: "muted" }, protocol.description) : null,
    h("ol", {}, (protocol.steps ?? []).map((step) => h("li", {}, h("b", {}, step.step), " ",
      Object.entries(step).filter(([k]) => k !== "step").map(([k, v]) => `${k.replaceAll("_", " ")} ${shown(v)}`).join(", ")))));
}

// a stream's events as a table: seconds since the run began, then each scalar reading
// with its unit in the header (an array is counted, not printed)
function streamPanel(name, { descriptor, events }, t0) {
  const keys = Object.keys(descriptor?.data_keys ?? events[0]?.data ?? {});
  const label = (key) => {
    const object = descriptor?.data_keys?.[key]?.object_name;
    return (object && key !== object ? key.replace(`${object}-`, "") : key).replaceAll(/[-_]/g, " ");
  };
  const unitOfKey = (key) => unit(descriptor?.data_keys?.[key]?.units);
  const cell = (key, value) => {
    if (Array.isArray(value)) return h("td", { class: "muted" }, `${value.length} points`);
    if (typeof value === "number") return h("td", { class: "num" }, num(value, digitsOf(descriptor?.data_keys?.[key])));
    if (typeof value === "boolean") return h("td", {}, value ? "yes" : "no");
    return h("td", {}, value === "" ? "–" : String(value));
  };
  return h("section", { class: "panel wide", "data-stream": name },
    h("h2", {}, `${name.replaceAll("_", " ")} (${events.length} event${events.length === 1 ? "" : "s"})`),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "at (s)"), keys.map((k) => h("th", {}, titled(label(k), unitOfKey(k)))))),
      h("tbody", {}, events.map((e) => h("tr", {}, h("td", { class: "num" }, num(e.time - t0, 3)), keys.map((k) => cell(k, e.data[k])))))));
}

// a reading shown to the precision its device declares (at most 6 digits), else 4
const digitsOf = (key) => (Number.isInteger(key?.precision) ? Math.min(6, Math.max(1, key.precision + 2)) : 4);

// the spectrum of a run's primary stream: its array reading against the configured axis
function spectrumOf(stream) {
  if (!stream) return null;
  const config = Object.values(stream.descriptor?.configuration ?? {});
  const axisKey = config.flatMap((c) => Object.keys(c.data ?? {})).find((k) => /wavelength/.test(k));
  const axis = config.find((c) => axisKey in (c.data ?? {}))?.data[axisKey];
  const event = stream.events.at(-1);
  const key = Object.keys(event?.data ?? {}).find((k) => Array.isArray(event.data[k]) && k !== axisKey);
  if (!key || !axis || axis.length !== event.data[key].length) return null;
  return { x: axis, y: event.data[key], name: key, units: unit(stream.descriptor.data_keys[key]?.units) };
}

function plotRunSpectrum(s) {
  if (!window.Plotly) return setTimeout(() => plotRunSpectrum(s), 200);
  Plotly.react("run-spectrum", [{ x: s.x, y: s.y, name: s.name, line: { color: "#cf222e" } }],
    layout({ xaxis: { title: { text: "wavelength (nm)" } }, yaxis: { title: { text: titled("absorbance", s.units) } } }), config);
}

// --- start ------------------------------------------------------------------------------------------
const PAGES = { lab: labPage, campaigns: campaignsPage, campaign: campaignPage, approvals: approvalsPage, audit: auditPage, users: usersPage, run: runPage };
header();
follow("proposals", () => api("GET", "/api/proposals"), waiting);
connect();
PAGES[body.dataset.page](body.dataset.arg).catch((err) => {
  content.replaceChildren(h("p", { class: "error" }, err.message));
});
