// The chokepoint dashboard: plain JavaScript over the JSON API; charts come from the server
// as Plotly figures and are drawn with the plotly.js the server ships (no CDN).
"use strict";

const CHARTS = ["output", "survive", "lost_share", "lost_value", "licensing", "stocks",
  "network", "timeline"];
const PLOT_CONFIG = { responsive: true, displaylogo: false,
  toImageButtonOptions: { format: "png", scale: 2 } };

const state = { source: null, defaults: null, previous: null, current: null, polling: null };

function element(id) { return document.getElementById(id); }

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
  } catch (error) { showMessage(error.message); }
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

function showNumber(key, value, text, previous, lowerIsBetter, format) {
  const node = element(`number-${key}`);
  node.textContent = text;
  node.dataset.value = value === null ? "" : String(value);
  const delta = element(`delta-${key}`);
  delta.className = "delta";
  delta.textContent = "";
  if (previous === null || previous === undefined || value === null) { return; }
  const change = value - previous;
  if (Math.abs(change) < 1e-9) { delta.textContent = "same as the previous run"; return; }
  const better = lowerIsBetter ? change < 0 : change > 0;
  delta.classList.add(better ? "better" : "worse");
  delta.textContent = `${change > 0 ? "+" : "−"}${format(Math.abs(change))} vs previous run`;
}

function showNumbers(numbers, previous) {
  const before = previous || {};
  showNumber("lost-value", numbers.lost_value, money(numbers.lost_value), before.lost_value,
    true, money);
  showNumber("stopping", numbers.stopping, `${numbers.stopping} of ${numbers.products}`,
    before.stopping, true, (v) => `${v}`);
  const first = numbers.first_stop;
  const earlier = before.first_stop ? before.first_stop.days : null;
  showNumber("first-stop", first ? first.days : null,
    first ? `${first.name}, day ${Math.round(first.days)}` : "none",
    earlier, false, (v) => `${Math.round(v)} days`);
  const gated = numbers.gated_days;
  showNumber("gated", gated, gated === null ? "no licensing" : `${Math.round(gated)} days`,
    before.gated_days, true, (v) => `${Math.round(v)} days`);
}

async function showResult(runId) {
  const result = await api(`/api/runs/${runId}/result`);
  state.previous = state.current;
  state.current = { id: runId, numbers: result.key_numbers, label: result.label };
  showNumbers(result.key_numbers, state.previous ? state.previous.numbers : null);
  element("run-label").textContent = `${result.label}: ${result.key_numbers.draws} draws`;
  for (const key of CHARTS) {
    const target = element(`chart-${key}`);
    const figure = result.figures[key];
    if (figure) {
      target.hidden = false; // visible before drawing, so the chart takes the full width
      await Plotly.react(target, figure.data, figure.layout, PLOT_CONFIG);
    } else {
      Plotly.purge(target);
      target.textContent = "";
      target.hidden = true;
    }
  }
  element("downloads").hidden = false;
  element("download-results").href = `/api/runs/${runId}/download`;
  element("download-report").href = `/api/report?runs=${runId}`;
  const compare = element("compare-report");
  compare.hidden = !state.previous;
  if (state.previous) {
    compare.href = `/api/report?runs=${state.previous.id}&runs=${runId}`;
  }
  element("progress").hidden = true;
  element("run").disabled = false;
  setStatus("done", runId, `${result.label}: done`);
}

async function start() {
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
  try {
    const presets = await api("/api/presets");
    for (const preset of presets) {
      const option = document.createElement("option");
      option.value = preset.name;
      option.textContent = preset.name;
      option.title = preset.description;
      element("preset").appendChild(option);
    }
    const chosen = presets.find((p) => p.name === "licences-3m") || presets[0];
    if (chosen) {
      element("preset").value = chosen.name;
      await choosePreset(chosen.name);
    }
    document.body.dataset.ready = "true";
  } catch (error) { showMessage(error.message); }
}

start();
