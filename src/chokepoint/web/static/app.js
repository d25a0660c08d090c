// The chokepoint dashboard: plain JavaScript over the JSON API; charts come from the server
// as Plotly figures and are drawn with the plotly.js the server ships (no CDN). Past runs
// come from the run store; the address bar carries the view (preset, knobs, run shown and
// the run compared with), so that a view can be shared.
"use strict";

// the charts, in order, and whether each takes the full width
const CHARTS = [["output", true], ["survive", false], ["lost_share", false],
  ["lost_value", false], ["licensing", false], ["stocks", true], ["network", true],
  ["timeline", true]];
// the key numbers: the key of their elements and their heading
const NUMBERS = [["lost-value", "Lost value of EU-27 output"],
  ["stopping", "EU-27 products that stop"], ["first-stop", "First line to stop"],
  ["gated", "Days without a licence per contract"]];
const PLOT_CONFIG = { responsive: true, displaylogo: false,
  toImageButtonOptions: { format: "png", scale: 2 } };

const state = { source: null, defaults: null, previous: null, current: null, polling: null,
  searching: null, past: [] };
// knob fields kept in the address bar, by the name of their parameter
const URL_FIELDS = { validity_days: "validity_days", processing_days: "processing_days",
  approval: "approval_percent", stockpile_days: "stockpile_days",
  stockpile_commodity: "stockpile_commodity", new_capacity: "new_capacity",
  new_capacity_commodity: "new_capacity_commodity", draws: "draws" };

function element(id) { return document.getElementById(id); }

// a new element: its tag, attributes and children
function make(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) { node.setAttribute(name, ""); } else { node.setAttribute(name, value); }
  }
  node.append(...children);
  return node;
}

// the key-number tiles and the chart boxes, one per entry of NUMBERS and CHARTS
function buildPage() {
  for (const [key, heading] of NUMBERS) {
    element("numbers").appendChild(make("div", { class: "number" }, make("h3", {}, heading),
      make("p", { class: "big", id: `number-${key}`, "data-value": "" }, "–"),
      make("p", { class: "delta", id: `delta-${key}` })));
  }
  for (const [key, wide] of CHARTS) {
    element("charts").appendChild(make("figure",
      { class: wide ? "chart-box wide" : "chart-box", id: `box-${key}`, hidden: true },
      make("div", { class: "chart", id: `chart-${key}` }),
      make("figcaption", {}, make("a", { class: "csv", id: `csv-${key}`, href: "#",
        download: true }, "Data of this chart (CSV)"))));
  }
}

function showMessage(text) { element("message").textContent = text || ""; }

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `request failed (${response.status})`);
  }
  return body;
}

function fillSelect(select, commodities) {
  select.textContent = "";
  for (const item of commodities) {
    const option = document.createElement("option");
    option.value = item.id;
    option.textContent = item.name.split(" (")[0];
    option.dataset.unit = item.unit;
    select.appendChild(option);
  }
  select.disabled = commodities.length === 0;
}

function setScenario(description) {
  state.defaults = description.knobs;
  const knobs = description.knobs;
  element("scenario-description").textContent = description.description;
  element("licensing-knobs").disabled = !knobs.licensing;
  const number = (value) => (value === null || value === undefined ? "" : String(value));
  element("validity_days").value = number(knobs.validity_days);
  element("validity_range").value = number(knobs.validity_days);
  element("processing_days").value = number(knobs.processing_days);
  element("approval_percent").value = knobs.approval_probability === null ? ""
    : String(Math.round(knobs.approval_probability * 100));
  element("stockpile_days").value = "0";
  element("new_capacity").value = "0";
  fillSelect(element("stockpile_commodity"), knobs.commodities);
  fillSelect(element("new_capacity_commodity"), knobs.commodities);
  updateUnit();
  element("draws").value = String(Math.min(knobs.draws, description.max_draws));
  element("draws").max = String(description.max_draws);
}

function updateUnit() {
  const select = element("new_capacity_commodity");
  const option = select.options[select.selectedIndex];
  element("capacity-unit").textContent = option ? option.dataset.unit : "units";
}

async function choosePreset(name) {
  showMessage("");
  document.body.dataset.scenario = "";
  try {
    const description = await api(`/api/presets/${encodeURIComponent(name)}`);
    state.source = { preset: name };
    setScenario(description);
    document.body.dataset.scenario = name;
    saveView();
  } catch (error) { showMessage(error.message); }
}

// ------------------------------------------------------------------ the view in the URL

function saveView() {
  const params = new URLSearchParams();
  if (state.source && state.source.preset) { params.set("preset", state.source.preset); }
  const defaults = state.defaults || {};
  for (const [name, id] of Object.entries(URL_FIELDS)) {
    const value = element(id).value.trim();
    let original = "";
    if (name === "approval") {
      original = defaults.approval_probability === null || defaults.approval_probability
        === undefined ? "" : String(Math.round(defaults.approval_probability * 100));
    } else if (name === "draws") {
      original = String(Math.min(defaults.draws || 0, Number(element("draws").max) || 0));
    } else if (name === "stockpile_days" || name === "new_capacity") {
      original = "0";
    } else if (name.endsWith("_commodity")) {
      const other = name === "stockpile_commodity" ? "stockpile_days" : "new_capacity";
      if (Number(element(URL_FIELDS[other]).value || 0) <= 0) { continue; }
    } else {
      original = defaults[name] === null || defaults[name] === undefined
        ? "" : String(defaults[name]);
    }
    if (value !== "" && value !== original) { params.set(name, value); }
  }
  if (state.current) { params.set("run", state.current.id); }
  if (state.current && state.previous && state.previous.compared) {
    params.set("baseline", state.previous.id);
  }
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function restoreKnobs(params) {
  for (const [name, id] of Object.entries(URL_FIELDS)) {
    if (params.has(name)) { element(id).value = params.get(name); }
  }
  element("validity_range").value = element("validity_days").value;
  updateUnit();
}

async function uploadScenario(file) {
  showMessage("");
  const form = new FormData();
  form.append("file", file);
  try {
    const description = await api("/api/scenarios", { method: "POST", body: form });
    state.source = { upload: description.token };
    const option = document.createElement("option");
    option.value = `upload:${description.token}`;
    option.textContent = `uploaded: ${description.scenario}`;
    element("preset").appendChild(option);
    element("preset").value = option.value;
    setScenario(description);
    saveView();
  } catch (error) { showMessage(error.message); }
  element("upload").value = "";
}

function changed(id, value) {
  // only knobs the user moved are sent: an untouched knob keeps the scenario's own value,
  // uncertainty included
  const defaults = state.defaults || {};
  const current = element(id).value.trim();
  if (current === "") { return null; }
  const original = defaults[value] === null || defaults[value] === undefined
    ? "" : String(value === "approval_probability"
      ? Math.round(defaults[value] * 100) : defaults[value]);
  return current === original ? null : Number(current);
}

function knobs() {
  const chosen = {};
  if (!element("licensing-knobs").disabled) {
    const validity = changed("validity_days", "validity_days");
    const processing = changed("processing_days", "processing_days");
    const approval = changed("approval_percent", "approval_probability");
    if (validity !== null) { chosen.validity_days = validity; }
    if (processing !== null) { chosen.processing_days = processing; }
    if (approval !== null) { chosen.approval_probability = approval / 100; }
  }
  const stockpile = Number(element("stockpile_days").value || 0);
  if (stockpile > 0) {
    chosen.stockpile_days = stockpile;
    chosen.stockpile_commodity = element("stockpile_commodity").value || null;
  }
  const capacity = Number(element("new_capacity").value || 0);
  if (capacity > 0) {
    chosen.new_capacity = capacity;
    chosen.new_capacity_commodity = element("new_capacity_commodity").value || null;
  }
  return chosen;
}

function setStatus(status, runId, text) {
  const node = element("run-status");
  node.dataset.status = status;
  node.dataset.run = runId || "";
  node.textContent = text;
}

async function startRun() {
  if (!state.source) { showMessage("choose a preset or upload a scenario first"); return; }
  showMessage("");
  const order = Object.assign({}, state.source,
    { draws: Number(element("draws").value) || null, knobs: knobs() });
  element("run").disabled = true;
  try {
    const run = await api("/api/runs", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(order) });
    setStatus(run.status, run.id, `${run.label}: ${run.status}`);
    element("progress").hidden = false;
    poll(run.id);
  } catch (error) {
    showMessage(error.message);
    element("run").disabled = false;
  }
}

function poll(runId) {
  clearTimeout(state.polling);
  state.polling = setTimeout(async () => {
    try {
      const run = await api(`/api/runs/${runId}`);
      const total = run.progress.total || 1;
      element("progress-fill").style.width = `${(100 * run.progress.done) / total}%`;
      element("progress-text").textContent = `${run.progress.done} of ${total} draws`;
      if (run.status === "done") { await showResult(runId); return; }
      if (run.status === "failed") {
        setStatus("failed", runId, `${run.label}: failed`);
        showMessage(run.error);
        element("run").disabled = false;
        return;
      }
      setStatus(run.status, runId, `${run.label}: ${run.status}`);
      poll(runId);
    } catch (error) {
      showMessage(error.message);
      element("run").disabled = false;
    }
  }, 250);
}

function money(value) {
  const sizes = [[1e9, " bn"], [1e6, " m"], [1e3, " k"]];
  for (const [size, suffix] of sizes) {
    if (Math.abs(value) >= size) { return `€${(value / size).toFixed(1)}${suffix}`; }
  }
  return `€${value.toFixed(0)}`;
}

function showNumber(key, value, text, previous, lowerIsBetter, format, against) {
  const node = element(`number-${key}`);
  node.textContent = text;
  node.dataset.value = value === null ? "" : String(value);
  const delta = element(`delta-${key}`);
  delta.className = "delta";
  delta.textContent = "";
  if (previous === null || previous === undefined || value === null) { return; }
  const change = value - previous;
  if (Math.abs(change) < 1e-9) { delta.textContent = `same as ${against}`; return; }
  const better = lowerIsBetter ? change < 0 : change > 0;
  delta.classList.add(better ? "better" : "worse");
  delta.textContent = `${change > 0 ? "+" : "−"}${format(Math.abs(change))} vs ${against}`;
}

function showNumbers(numbers, previous, against) {
  const before = previous || {};
  showNumber("lost-value", numbers.lost_value, money(numbers.lost_value), before.lost_value,
    true, money, against);
  showNumber("stopping", numbers.stopping, `${numbers.stopping} of ${numbers.products}`,
    before.stopping, true, (v) => `${v}`, against);
  const first = numbers.first_stop;
  const earlier = before.first_stop ? before.first_stop.days : null;
  showNumber("first-stop", first ? first.days : null,
    first ? `${first.name}, day ${Math.round(first.days)}` : "none",
    earlier, false, (v) => `${Math.round(v)} days`, against);
  const gated = numbers.gated_days;
  showNumber("gated", gated, gated === null ? "no licensing" : `${Math.round(gated)} days`,
    before.gated_days, true, (v) => `${Math.round(v)} days`, against);
}

function chartConfig(runId, key) {
  const csv = `/api/runs/${runId}/charts/${key}.csv`;
  return Object.assign({}, PLOT_CONFIG, { modeBarButtonsToAdd: [{
    name: "Download the data of this chart (CSV)", icon: Plotly.Icons.disk,
    click: () => { window.location.href = csv; } }] });
}

async function drawCharts(runId, figures) {
  for (const [key] of CHARTS) {
    const box = element(`box-${key}`);
    const target = element(`chart-${key}`);
    const figure = figures[key];
    if (figure) {
      box.hidden = false; // visible before drawing, so the chart takes the full width
      element(`csv-${key}`).href = `/api/runs/${runId}/charts/${key}.csv`;
      await Plotly.react(target, figure.data, figure.layout, chartConfig(runId, key));
    } else {
      Plotly.purge(target);
      target.textContent = "";
      box.hidden = true;
    }
  }
}

// show run ``runId``; ``baseline`` (optional) is the run its numbers are compared with:
// {id, label, numbers, compared}; by default the run shown before it
async function showResult(runId, baseline) {
  const result = await api(`/api/runs/${runId}/result`);
  state.previous = baseline === undefined ? state.current : baseline;
  state.current = { id: runId, numbers: result.key_numbers, label: result.label };
  const previous = state.previous && state.previous.id !== runId ? state.previous : null;
  const against = previous && previous.compared ? previous.label : "previous run";
  showNumbers(result.key_numbers, previous ? previous.numbers : null, against);
  element("run-label").textContent = `${result.label}: ${result.key_numbers.draws} draws`;
  await drawCharts(runId, result.figures);
  element("downloads").hidden = false;
  element("download-results").href = `/api/runs/${runId}/download`;
  element("download-report").href = `/api/report?runs=${runId}`;
  const compare = element("compare-report");
  compare.hidden = !previous;
  if (previous) {
    compare.href = `/api/report?runs=${previous.id}&runs=${runId}`;
    compare.textContent = previous.compared ? `Report comparing with ${previous.label}`
      : "Report comparing with the previous run";
  }
  element("progress").hidden = true;
  element("run").disabled = false;
  setStatus("done", runId, `${result.label}: done`);
  saveView();
  await listPast();
}

// ------------------------------------------------------------------------- past runs

function when(seconds) {
  const date = new Date(seconds * 1000);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

async function listPast() {
  let listed;
  try { listed = await api("/api/runs?limit=50"); } catch (error) { return; }
  state.past = listed.runs;
  const list = element("past-runs");
  list.textContent = "";
  for (const run of listed.runs) {
    const item = document.createElement("li");
    item.dataset.run = run.id;
    if (state.current && state.current.id === run.id) { item.classList.add("current"); }
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = run.label;
    const about = document.createElement("span");
    about.className = "when";
    const lost = run.key_numbers && typeof run.key_numbers.lost_value === "number"
      ? `, lost ${money(run.key_numbers.lost_value)}` : "";
    about.textContent = `${when(run.created)} · ${run.source} · ${run.draws} draws${lost}`
      + (run.available ? "" : " · files missing");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = "Open";
    open.disabled = !run.available;
    open.addEventListener("click", () => openRun(run.id));
    const compare = document.createElement("button");
    compare.type = "button";
    compare.className = "compare";
    compare.textContent = "Compare with the run shown";
    compare.disabled = !run.available || !state.current || state.current.id === run.id;
    compare.addEventListener("click", () => compareWith(run.id));
    item.append(what, about, open, compare);
    list.appendChild(item);
  }
  document.body.dataset.pastRuns = String(listed.runs.length);
}

async function openRun(runId) {
  showMessage("");
  try { await showResult(runId, null); } catch (error) { showMessage(error.message); }
}

async function compareWith(runId) {
  showMessage("");
  if (!state.current) { return; }
  try {
    const other = await api(`/api/runs/${runId}/result`);
    const baseline = { id: runId, label: other.label, numbers: other.key_numbers,
      compared: true };
    await showResult(state.current.id, baseline);
  } catch (error) { showMessage(error.message); }
}

// ------------------------------------------------------------ find the cheapest mix

function cells(row, values) {
  for (const [value, numeric] of values) {
    const cell = document.createElement("td");
    cell.textContent = value;
    if (numeric) { cell.className = "num"; }
    row.appendChild(cell);
  }
}

function figure(value, digits) {
  if (value === null || value === undefined) { return "–"; }
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits });
}

function showSearch(search) {
  const result = search.result;
  element("opt-result").hidden = false;
  element("opt-label").textContent = search.label;
  const log = element("opt-log");
  log.textContent = "";
  for (const line of search.progress) {
    const item = document.createElement("li");
    item.textContent = line;
    log.appendChild(item);
  }
  const portfolio = element("opt-portfolio").querySelector("tbody");
  const check = element("opt-check-table").querySelector("tbody");
  portfolio.textContent = "";
  check.textContent = "";
  if (!result) { element("opt-summary").textContent = ""; return; }
  const chosen = result.portfolio.length;
  element("opt-summary").textContent = chosen === 0
    ? `No measure needed: the target holds without one (cost €0; solver: ${result.solver_status}).`
    : `${chosen} of ${result.candidates} measures, ${money(result.cost)} in all `
      + `(solver: ${result.solver_status}, ${figure(result.seconds, 1)} s).`;
  for (const row of result.portfolio) {
    const line = document.createElement("tr");
    cells(line, [[row.measure, false], [row.type, false],
      [`${figure(row.amount, 1)} ${row.unit}`, true], [figure(row.cost, 0), true]]);
    portfolio.appendChild(line);
  }
  for (const row of result.check) {
    const line = document.createElement("tr");
    cells(line, [[row.estimate, false], [`${row.product}@${row.region}`, false],
      [`${figure(100 * row.stoppage_probability, 1)}%`, true],
      [figure(row.lost_output_mean, 0), true], [figure(row.lost_output_cvar95, 0), true]]);
    check.appendChild(line);
  }
}

async function startSearch() {
  if (!state.source) { showMessage("choose a preset or upload a scenario first"); return; }
  showMessage("");
  const order = Object.assign({}, state.source, {
    target: element("opt-target").value.trim(),
    draws: Number(element("opt-draws").value) || 50,
    check_draws: Number(element("opt-check").value) || 0 });
  element("optimise").disabled = true;
  try {
    const search = await api("/api/optimise", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(order) });
    setSearchStatus(search);
    pollSearch(search.id);
  } catch (error) {
    showMessage(error.message);
    element("optimise").disabled = false;
  }
}

function setSearchStatus(search) {
  const node = element("opt-status");
  node.dataset.status = search.status;
  node.dataset.search = search.id;
  const last = search.progress.length ? search.progress[search.progress.length - 1] : "";
  node.textContent = `${search.label}: ${search.status}${last ? "\n" + last : ""}`;
}

function pollSearch(searchId) {
  clearTimeout(state.searching);
  state.searching = setTimeout(async () => {
    try {
      const search = await api(`/api/optimise/${searchId}`);
      setSearchStatus(search);
      if (search.status === "done" || search.status === "failed") {
        if (search.status === "failed") { showMessage(search.error); }
        showSearch(search);
        element("optimise").disabled = false;
        return;
      }
      pollSearch(searchId);
    } catch (error) {
      showMessage(error.message);
      element("optimise").disabled = false;
    }
  }, 500);
}

async function start() {
  buildPage();
  element("preset").addEventListener("change", (event) => {
    const value = event.target.value;
    if (!value.startsWith("upload:")) { choosePreset(value); }
  });
  element("upload").addEventListener("change", (event) => {
    if (event.target.files.length) { uploadScenario(event.target.files[0]); }
  });
  element("validity_range").addEventListener("input", (event) => {
    element("validity_days").value = event.target.value;
  });
  element("validity_days").addEventListener("input", (event) => {
    element("validity_range").value = event.target.value;
  });
  element("new_capacity_commodity").addEventListener("change", updateUnit);
  element("run").addEventListener("click", startRun);
  element("optimise").addEventListener("click", startSearch);
  for (const id of Object.values(URL_FIELDS)) {
    element(id).addEventListener("change", saveView);
    element(id).addEventListener("input", saveView);
  }
  element("validity_range").addEventListener("change", saveView);
  try {
    const presets = await api("/api/presets");
    for (const preset of presets) {
      const option = document.createElement("option");
      option.value = preset.name;
      option.textContent = preset.name;
      option.title = preset.description;
      element("preset").appendChild(option);
    }
    const params = new URLSearchParams(location.search);
    const chosen = presets.find((p) => p.name === params.get("preset"))
      || presets.find((p) => p.name === "licences-3m") || presets[0];
    if (chosen) {
      element("preset").value = chosen.name;
      await choosePreset(chosen.name);
      restoreKnobs(params);
    }
    await listPast();
    if (params.get("run")) {
      await openRun(params.get("run"));
      if (params.get("baseline")) { await compareWith(params.get("baseline")); }
    }
    saveView();
    document.body.dataset.ready = "true";
  } catch (error) { showMessage(error.message); }
}

start();
