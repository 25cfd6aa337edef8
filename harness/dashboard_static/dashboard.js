/*
 * The demo server's dashboard: reads the admin API about once a second while the tab
 * is visible and shows contacts, accounts, events, the call journal and what was
 * refused. Every value from the server is written as text (textContent or a text
 * node), never parsed as markup.
 */
"use strict";

const POLL_INTERVAL_MS = 1000;
const JOURNAL_ROW_LIMIT = 500; // the newest matching calls drawn; filters reach others
const SOURCES = {
  state: "/__mock/state",
  calls: "/__mock/calls",
  ingest: "/__mock/ingest",
};
const REFUSED_OUTCOMES = new Set(["refused", "failed"]);
const DATA_PLANE_PATH = "/rudderstack"; // harness.data_plane.PREFIX

const view = {
  environments: [],
  calls: [],
  ingest: null, // null while the server keeps no ingest log
  ingestMissing: false, // the server answered 404: not asked again until a reload
  dropped: 0,
  texts: { state: null, calls: null, ingest: null },
  selectedCall: null,
  timer: null,
  polling: false,
};

function byId(id) {
  return document.getElementById(id);
}

/* A new element; options set attributes, `text` sets the text, children are appended. */
function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(options)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name === "text") {
      node.textContent = String(value);
    } else if (name === "className") {
      node.className = value;
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

/* ---- formatting ---------------------------------------------------------------- */

function shownValue(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function clock(time) {
  if (!time) {
    return el("span", { className: "muted", text: "—" });
  }
  return el("time", { datetime: time, title: time, text: time.slice(11, 19) });
}

function contactName(contact) {
  return contact.remote_id ?? contact.email ?? contact.uuid;
}

function muted(text) {
  return el("span", { className: "muted", text });
}

function attributeList(attributes) {
  const names = Object.keys(attributes ?? {});
  if (names.length === 0) {
    return muted("none");
  }
  return el(
    "dl",
    { className: "attributes" },
    names.map((name) =>
      el("div", {}, [
        el("dt", { text: name }),
        el("dd", { text: shownValue(attributes[name]) }),
      ]),
    ),
  );
}

function statusClass(status) {
  return status ? `status-${String(status)[0]}xx` : "status-none";
}

function statusBadge(status, fallback) {
  const text = status ?? fallback ?? "—";
  return el("span", { className: `badge ${statusClass(status)}`, text });
}

function emptyRow(columns, text) {
  return el("tr", { className: "empty-row" }, [
    el("td", { colspan: columns, text }),
  ]);
}

function keyCell(apiKey) {
  return el("td", { className: "key-column mono", text: apiKey });
}

/* ---- reading the admin API --------------------------------------------------- */

/* The text of one source; "" for the ingest log of a server that has none. */
async function readSource(name) {
  if (name === "ingest" && view.ingestMissing) {
    return "";
  }
  const response = await fetch(SOURCES[name], {
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  if (name === "ingest" && response.status === 404) {
    view.ingestMissing = true;
    return "";
  }
  if (!response.ok) {
    throw new Error(`${SOURCES[name]} answered ${response.status}`);
  }
  return response.text();
}

/*
 * Reads the sources one after the other, the journal first, so the state and the
 * ingest log are at least as new as the journal: no call is listed without its effect
 * on the state. True when any of them changed since the last poll.
 */
async function refresh() {
  const names = ["calls", "state", "ingest"];
  const texts = [];
  for (const name of names) {
    texts.push(await readSource(name));
  }
  let changed = false;
  names.forEach((name, index) => {
    if (texts[index] === view.texts[name]) {
      return;
    }
    changed = true;
    view.texts[name] = texts[index];
    const parsed = texts[index] === "" ? null : JSON.parse(texts[index]);
    if (name === "state") {
      view.environments = parsed.environments;
    } else if (name === "calls") {
      view.calls = parsed.calls;
    } else {
      view.ingest = parsed === null ? null : parsed.events;
      view.dropped = parsed === null ? 0 : parsed.dropped;
    }
  });
  return changed;
}

async function poll() {
  clearTimeout(view.timer);
  view.timer = null;
  if (view.polling) {
    return;
  }
  if (document.hidden) {
    showLiveStatus("paused");
    return;
  }

  view.polling = true;
  try {
    if (await refresh()) {
      render();
    }
    showLiveStatus(document.hidden ? "paused" : "live");
  } catch (error) {
    showLiveStatus("offline", error.message);
  } finally {
    view.polling = false;
    if (!document.hidden) {
      view.timer = setTimeout(poll, POLL_INTERVAL_MS);
    }
  }
}

function showLiveStatus(state, problem) {
  const status = byId("live-status");
  const texts = {
    live: `Live · updated ${new Date().toLocaleTimeString()}`,
    paused: "Paused while this tab is hidden",
    offline: `Cannot reach the server (${problem}); retrying`,
  };
  status.dataset.state = state;
  status.textContent = texts[state];
}

/* ---- rendering ------------------------------------------------------------------- */

function shownEnvironments() {
  const key = byId("environment").value;
  return key === ""
    ? view.environments
    : view.environments.filter((environment) => environment.api_key === key);
}

function render() {
  renderEnvironmentPicker();
  const environments = shownEnvironments();
  const manyKeys = new Set(environments.map((e) => e.api_key)).size > 1;
  document.body.classList.toggle("many-keys", manyKeys);

  renderContacts(environments);
  renderAccounts(environments);
  renderEvents(environments);
  renderJournal();
  const refused = refusedEntries();
  renderRefused(refused);
  renderCounts(refused);
  renderEmptyState();
}

function renderEnvironmentPicker() {
  const picker = byId("environment");
  const keys = view.environments.map((environment) => environment.api_key);
  const chosen = picker.value;
  const options = [el("option", { value: "", text: "All API keys" })];
  for (const key of new Set([...keys, ...(chosen ? [chosen] : [])])) {
    options.push(el("option", { value: key, text: key === "" ? "(empty key)" : key }));
  }
  picker.replaceChildren(...options);
  picker.value = chosen;
}

function renderContacts(environments) {
  const rows = [];
  for (const environment of environments) {
    for (const contact of environment.contacts) {
      const account = contact.account;
      rows.push(
        el("tr", {}, [
          el("td", { className: "mono", title: contact.uuid }, [
            contact.remote_id ?? muted("—"),
          ]),
          el("td", { title: contact.uuid }, [contact.email ?? muted("—")]),
          el("td", {}, [attributeList(contact.attributes)]),
          el("td", {}, [account ? accountName(account) : muted("—")]),
          el("td", {}, [clock(contact.last_seen_at)]),
          keyCell(environment.api_key),
        ]),
      );
    }
  }
  byId("contacts-rows").replaceChildren(
    ...(rows.length ? rows : [emptyRow(6, "No contacts yet.")]),
  );
}

function accountName(account) {
  const name = account.remote_id ?? account.domain ?? account.uuid;
  return el("span", { className: "mono", title: account.uuid, text: name });
}

function renderAccounts(environments) {
  const rows = [];
  for (const environment of environments) {
    for (const account of environment.accounts) {
      const members = account.contacts.length
        ? el(
            "ul",
            { className: "chips" },
            account.contacts.map((member) => el("li", { text: member })),
          )
        : muted("none");
      rows.push(
        el("tr", {}, [
          el("td", {}, [accountName(account)]),
          el("td", {}, [account.display_name ?? muted("—")]),
          el("td", {}, [attributeList(account.attributes)]),
          el("td", {}, [members]),
          keyCell(environment.api_key),
        ]),
      );
    }
  }
  byId("accounts-rows").replaceChildren(
    ...(rows.length ? rows : [emptyRow(5, "No accounts yet.")]),
  );
}

function renderEvents(environments) {
  const events = [];
  for (const environment of environments) {
    environment.events.forEach((event, index) => {
      events.push({ event, index, apiKey: environment.api_key });
    });
  }
  events.sort(
    (a, b) =>
      b.event.received_at.localeCompare(a.event.received_at) || b.index - a.index,
  );

  const rows = events.map(({ event, apiKey }) =>
    el("tr", {}, [
      el("td", {}, [clock(event.received_at)]),
      el("td", { className: "strong", text: event.name }),
      el("td", {
        className: "mono",
        text: event.contact ? contactName(event.contact) : "—",
      }),
      el("td", { className: "mono", text: event.path }),
      keyCell(apiKey),
    ]),
  );
  byId("events-rows").replaceChildren(
    ...(rows.length ? rows : [emptyRow(5, "No events yet.")]),
  );
}

/* ---- the call journal ---------------------------------------------------------- */

function callOperation(call) {
  return call.operation ?? call.path;
}

function journalFilters() {
  return {
    operation: byId("filter-operation").value,
    status: byId("filter-status").value,
    text: byId("filter-text").value.trim().toLowerCase(),
  };
}

function callMatches(call, filters) {
  if (filters.operation && callOperation(call) !== filters.operation) {
    return false;
  }
  if (filters.status) {
    const code = String(call.status);
    const wanted = filters.status;
    const ok = wanted.endsWith("xx") ? code[0] === wanted[0] : code === wanted;
    if (!ok) {
      return false;
    }
  }
  if (filters.text) {
    const haystack = [
      call.method,
      call.path,
      call.operation,
      call.api_key,
      call.content_type,
      String(call.status),
      JSON.stringify(call.params),
      JSON.stringify(call.reply),
      ...call.notes,
    ]
      .join("\n")
      .toLowerCase();
    return haystack.includes(filters.text);
  }
  return true;
}

/* Options for `select` in groups of [label, values]; keeps the chosen value. */
function fillSelect(select, groups) {
  const signature = JSON.stringify(groups);
  if (select.dataset.options === signature) {
    return;
  }
  select.dataset.options = signature;
  const chosen = select.value;
  const first = select.options[0].cloneNode(true);
  const children = [first];
  const seen = new Set([""]);
  for (const [label, values] of groups) {
    const missing = values.filter((value) => !seen.has(value));
    if (missing.length === 0) {
      continue;
    }
    missing.forEach((value) => seen.add(value));
    const options = missing.map((value) => el("option", { value, text: value }));
    children.push(label ? el("optgroup", { label }, options) : options);
  }
  if (!seen.has(chosen)) {
    children.push(el("option", { value: chosen, text: chosen }));
  }
  select.replaceChildren(...children.flat());
  select.value = chosen;
}

function renderJournalFilters() {
  const operations = [...new Set(view.calls.map(callOperation))].sort();
  fillSelect(byId("filter-operation"), [["", operations]]);

  const codes = [...new Set(view.calls.map((call) => String(call.status)))].sort();
  const classes = [...new Set(codes.map((code) => `${code[0]}xx`))];
  fillSelect(byId("filter-status"), [
    ["Class", classes],
    ["Code", codes],
  ]);
}

function renderJournal() {
  renderJournalFilters();
  const filters = journalFilters();
  const matching = view.calls.filter((call) => callMatches(call, filters)).reverse();
  const shown = matching.slice(0, JOURNAL_ROW_LIMIT);
  const focused = document.activeElement?.closest?.("#journal-rows tr");
  const focusedId = focused ? focused.dataset.callId : null;

  const rows = shown.map((call) => {
    const selected = call.id === view.selectedCall;
    return el(
      "tr",
      {
        className: `call ${statusClass(call.status)}`,
        tabindex: 0,
        "aria-current": selected ? "true" : null,
        dataset: { callId: String(call.id) },
      },
      [
        el("td", { className: "mono", text: call.id }),
        el("td", {}, [clock(call.time)]),
        el("td", { className: "mono" }, [
          el("span", { className: "method", text: call.method }),
          " ",
          call.path,
        ]),
        el("td", {}, [statusBadge(call.status)]),
        el("td", { className: "mono", text: call.api_key ?? "—" }),
      ],
    );
  });
  let placeholder = "No calls match the filters.";
  if (view.calls.length === 0) {
    placeholder = "No calls yet.";
  }
  const body = byId("journal-rows");
  body.replaceChildren(...(rows.length ? rows : [emptyRow(5, placeholder)]));
  if (focusedId !== null) {
    body.querySelector(`tr[data-call-id="${focusedId}"]`)?.focus({ preventScroll: true });
  }

  const noun = view.calls.length === 1 ? "call" : "calls";
  byId("journal-shown").textContent =
    shown.length < matching.length
      ? `newest ${shown.length} of ${matching.length} matching, ${view.calls.length} calls`
      : `${shown.length} of ${view.calls.length} ${noun}`;
  renderCallDetail();
}

function selectCall(id) {
  view.selectedCall = id;
  renderJournal();
}

function detailField(term, value) {
  return el("div", {}, [
    el("dt", { text: term }),
    el("dd", {}, [value === null || value === undefined ? muted("—") : value]),
  ]);
}

function renderCallDetail() {
  const detail = byId("call-detail");
  const call = view.calls.find((candidate) => candidate.id === view.selectedCall);
  if (!call) {
    view.selectedCall = null;
    detail.replaceChildren(
      el("p", {
        className: "placeholder",
        text: "Select a call to see its request and reply.",
      }),
    );
    return;
  }

  const keySource = call.key_source ? ` (${call.key_source})` : "";
  const request = el("section", { className: "exchange", "aria-label": "Request" }, [
    el("h4", { text: "Request" }),
    el("dl", { className: "fields" }, [
      detailField("Method", call.method),
      detailField("Path", call.path),
      detailField("Operation", call.operation),
      detailField("Content type", call.content_type),
      detailField("API key", call.api_key === null ? null : call.api_key + keySource),
      detailField("Time", call.time),
    ]),
    el("h5", { text: "Params" }),
    el("pre", { className: "json", id: "call-params", text: pretty(call.params) }),
  ]);

  const notes = call.notes.length
    ? [
        el("h5", { text: "Notes" }),
        el(
          "ul",
          { className: "notes" },
          call.notes.map((note) => el("li", { text: note })),
        ),
      ]
    : [];
  const reply = el("section", { className: "exchange", "aria-label": "Reply" }, [
    el("h4", { text: "Reply" }),
    el("dl", { className: "fields" }, [
      detailField("Status", statusBadge(call.status)),
    ]),
    el("h5", { text: "Body" }),
    el("pre", { className: "json", id: "call-reply", text: pretty(call.reply) }),
    ...notes,
  ]);

  detail.replaceChildren(
    el("h3", { id: "call-title", text: `Call ${call.id}: ${call.method} ${call.path}` }),
    el("div", { className: "exchanges" }, [request, reply]),
  );
}

/* ---- refused events and calls ------------------------------------------------ */

function refusedEntries() {
  const entries = [];
  const journaled = new Set();
  for (const event of view.ingest ?? []) {
    if (event.call_id !== null && event.call_id !== undefined) {
      journaled.add(event.call_id);
    }
    if (!REFUSED_OUTCOMES.has(event.outcome)) {
      continue;
    }
    const message = event.message ?? {};
    const who = message.userId || message.anonymousId || "";
    entries.push({
      order: entries.length,
      time: event.received_at,
      where: `Data plane (${event.outcome})`,
      what: `${event.type ?? "message"} ${who}`.trim(),
      status: event.status,
      reason: event.reason,
      callId: event.call_id ?? null,
    });
  }
  for (const call of view.calls) {
    if (call.status >= 400 && !journaled.has(call.id)) {
      const error = call.reply?.error;
      entries.push({
        order: entries.length,
        time: call.time,
        where: "Refiner API",
        what: `${call.method} ${call.path}`,
        status: call.status,
        reason: typeof error === "string" ? error : JSON.stringify(call.reply),
        callId: call.id,
      });
    }
  }
  return entries.sort(
    (a, b) => String(b.time).localeCompare(String(a.time)) || b.order - a.order,
  );
}

function renderRefused(entries) {
  const rows = entries.map((entry) =>
    el(
      "tr",
      {
        className: entry.callId === null ? "" : "linked",
        tabindex: entry.callId === null ? null : 0,
        title: entry.callId === null ? null : `Show call ${entry.callId} in the journal`,
        dataset: entry.callId === null ? {} : { callId: String(entry.callId) },
      },
      [
        el("td", {}, [clock(entry.time)]),
        el("td", { text: entry.where }),
        el("td", { className: "mono", text: entry.what }),
        el("td", {}, [statusBadge(entry.status, "—")]),
        el("td", { className: "reason", text: entry.reason ?? "" }),
      ],
    ),
  );
  byId("refused-rows").replaceChildren(
    ...(rows.length ? rows : [emptyRow(5, "Nothing refused.")]),
  );

  let note = "";
  if (view.ingest === null) {
    note = "This server keeps no data-plane ingest log: refused Refiner API calls only.";
  } else if (view.dropped > 0) {
    note = `${view.dropped} older ingest log entries were dropped.`;
  }
  byId("refused-note").textContent = note;
}

function renderCounts(refused) {
  const total = (section) =>
    view.environments.reduce((sum, environment) => sum + environment[section].length, 0);
  byId("count-contacts").textContent = total("contacts");
  byId("count-accounts").textContent = total("accounts");
  byId("count-events").textContent = total("events");
  byId("count-calls").textContent = view.calls.length;
  byId("count-refused").textContent = refused.length;
}

function renderEmptyState() {
  const empty =
    view.environments.length === 0 &&
    view.calls.length === 0 &&
    (view.ingest === null || view.ingest.length === 0);
  const origin = window.location.origin;
  byId("empty-text").textContent =
    `Point a RudderStack SDK's data plane URL at ${origin}${DATA_PLANE_PATH}, ` +
    `or send Refiner calls to ${origin}/v1 with an API key.`;
  byId("empty-state").hidden = !empty;
}

/* ---- wiring ------------------------------------------------------------------------ */

function rowOfCall(event) {
  return event.target.closest("tr[data-call-id]");
}

function start() {
  byId("journal-filters").addEventListener("submit", (event) => event.preventDefault());
  for (const id of ["filter-operation", "filter-status"]) {
    byId(id).addEventListener("change", renderJournal);
  }
  byId("filter-text").addEventListener("input", renderJournal);
  byId("environment").addEventListener("change", render);

  byId("journal-rows").addEventListener("click", (event) => {
    const row = rowOfCall(event);
    if (row) {
      selectCall(Number(row.dataset.callId));
    }
  });
  byId("journal-rows").addEventListener("keydown", (event) => {
    const row = rowOfCall(event);
    if (row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      selectCall(Number(row.dataset.callId));
    }
  });
  const showRefusedCall = (event) => {
    const row = rowOfCall(event);
    if (row && (event.type === "click" || event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      selectCall(Number(row.dataset.callId));
      byId("call-detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  };
  byId("refused-rows").addEventListener("click", showRefusedCall);
  byId("refused-rows").addEventListener("keydown", showRefusedCall);

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      clearTimeout(view.timer);
      view.timer = null;
      showLiveStatus("paused");
    } else {
      poll();
    }
  });

  poll();
}

document.addEventListener("DOMContentLoaded", start);
