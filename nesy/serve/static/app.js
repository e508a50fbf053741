// nesy serve: the query page. Runs rule queries and SPARQL through /api/query, shows the
// answers with their scores, and a proof tree for the answer clicked. Every text from the
// server goes into the page as text (textContent), never as HTML.
"use strict";

const EXAMPLES = [
  ["rule query: grandparents", "?- fam:grandparent(X, Y)."],
  ["rule query: where people live (weighted rule)", "?- fam:livesIn(X, C)."],
  ["SPARQL: derived grandparent triples", "SELECT ?x ?y WHERE { ?x fam:grandparent ?y }"],
  ["SPARQL: adults and their age", "SELECT ?p ?age WHERE { ?p a fam:Adult ; fam:age ?age } ORDER BY ?age"],
];

let lastAnswers = [];
let lastKind = "rule";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function looksLikeSparql(text) {
  const code = text.replace(/^\s*#.*$/gm, "").trim();
  return /^(SELECT|ASK|CONSTRUCT|DESCRIBE|PREFIX|BASE|INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|WITH|ADD|MOVE|COPY)\b/i.test(code);
}

function fmtScore(score) {
  if (typeof score !== "number") return "";
  return Number.isInteger(score) ? String(score) : score.toPrecision(4).replace(/\.?0+$/, "");
}

async function callApi(path, params) {
  const response = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify(params),
  });
  let doc = null;
  try { doc = await response.json(); } catch (e) { doc = null; }
  if (!response.ok) {
    const error = (doc && doc.error) || {message: `HTTP ${response.status}`};
    throw Object.assign(new Error(error.message), {info: error});
  }
  return doc;
}

// -- errors ------------------------------------------------------------------------------
function showError(box, info, editor) {
  box.replaceChildren();
  box.hidden = false;
  const where = info.line ? `line ${info.line}, column ${info.column || 1}: ` : "";
  box.append(el("span", {class: "where"}, where), info.message || "error");
  if (info.excerpt !== undefined && info.line) {
    box.append("\n    " + info.excerpt + "\n    " + " ".repeat(Math.max((info.column || 1) - 1, 0)) + "^");
  }
  if (editor && info.line) placeCaret(editor, info.line, info.column || 1);
}

function placeCaret(editor, line, column) {
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset = Math.min(offset + column - 1, editor.value.length);
  editor.focus();
  editor.setSelectionRange(offset, Math.min(offset + 1, editor.value.length));
}

function hideError(box) { box.hidden = true; box.replaceChildren(); }

// -- results -----------------------------------------------------------------------------
function renderResults(doc) {
  const table = document.getElementById("results");
  table.replaceChildren();
  lastAnswers = doc.answers || [];
  lastKind = doc.kind;
  const status = document.getElementById("status");
  if (doc.form === "ASK") {
    status.textContent = `ASK: ${lastAnswers.length && lastAnswers[0].ask ? "yes" : "no"} (${doc.ms} ms)`;
    return;
  }
  if (doc.form === "CONSTRUCT" || doc.form === "DESCRIBE") {
    table.append(el("tr", {}, el("th", {}, "subject"), el("th", {}, "predicate"), el("th", {}, "object"),
                    el("th", {class: "score"}, "score")));
    for (const t of lastAnswers) {
      table.append(el("tr", {}, ...t.triple.map(x => el("td", {}, x)), el("td", {class: "score"}, fmtScore(t.score))));
    }
    status.textContent = `${lastAnswers.length} triples (${doc.ms} ms)`;
    return;
  }
  const vars = doc.variables || [];
  table.append(el("tr", {}, el("th", {}, "#"), ...vars.map(v => el("th", {}, v)), el("th", {class: "score"}, "score")));
  lastAnswers.forEach((answer, i) => {
    const row = el("tr", {class: "answer", "data-index": String(i), title: "show the proof"},
      el("td", {}, String(i + 1)),
      ...vars.map(v => el("td", {}, answer.bindings[v] === undefined ? "" : answer.bindings[v])),
      el("td", {class: "score"}, fmtScore(answer.score)));
    row.addEventListener("click", () => selectAnswer(i));
    table.append(row);
  });
  const more = doc.truncated ? " (more answers were left out: add a limit)" : "";
  status.textContent = lastAnswers.length
    ? `${lastAnswers.length} answer${lastAnswers.length === 1 ? "" : "s"} (${doc.kind === "rule" ? "rule query" : "SPARQL"}, ${doc.ms} ms)${more}; click one for its proof`
    : `no answers (${doc.ms} ms)`;
}

function selectAnswer(i) {
  for (const row of document.querySelectorAll("#results tr.answer")) {
    row.classList.toggle("selected", row.getAttribute("data-index") === String(i));
  }
  const answer = lastAnswers[i];
  const view = document.getElementById("proof");
  view.replaceChildren();
  const title = Object.entries(answer.bindings || {}).map(([k, v]) => `${k} = ${v}`).join(", ") || "yes";
  document.getElementById("proof-title").textContent = `of answer ${i + 1}: ${title} (score ${fmtScore(answer.score)})`;
  if (answer.proof) {
    view.append(el("ul", {}, proofNode(answer.proof)));
  } else if (answer.proofs || answer.matched) {
    renderSparqlProofs(view, answer);
  } else {
    view.append(el("p", {class: "muted"}, "This answer's proof was not sent (only the first answers carry one); " +
                                           "ask for it with the why-not box or a narrower query."));
  }
}

function renderSparqlProofs(view, answer) {
  const proofs = answer.proofs || [];
  const matched = answer.matched || [];
  if (!proofs.length && !matched.length) {
    view.append(el("p", {class: "muted"}, "This row matched no stored or derived triple (score 1)."));
  }
  proofs.forEach(proof => {
    view.append(el("div", {class: "proof-block"}, el("h3", {}, "derived triple the row matched"),
                   el("ul", {}, proofNode(proof))));
  });
  if (matched.length) {
    view.append(el("div", {class: "proof-block"}, el("h3", {}, "stored triples the row matched"),
                   el("ul", {}, ...matched.map(proofNode))));
  }
}

// -- proof trees -------------------------------------------------------------------------
function sourceParts(node) {
  const source = node.source || {};
  const parts = [];
  let quote = null;
  if (node.kind === "extracted" && source.sentence) {
    const extra = (source.extra && typeof source.extra === "object") ? source.extra : {};
    const where = [source.document ? `from ${source.document}` : null,
                   extra.sentence_index !== undefined ? `sentence ${Number(extra.sentence_index) + 1}` : null,
                   Array.isArray(source.span) ? `chars ${source.span[0]}–${source.span[1]}` : null].filter(Boolean);
    quote = `“${source.sentence}”` + (where.length ? ` (${where.join(", ")})` : "");
  }
  const skip = new Set(node.kind === "extracted" ? ["sentence", "span", "extra", "document"] : []);
  for (const [key, value] of Object.entries(source)) {
    if (skip.has(key) || value === null || value === undefined) continue;
    parts.push(`${key}=${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return {text: parts.join(", "), quote};
}

function nodeLine(node) {
  const line = el("span", {class: "node", "data-kind": node.kind},
    el("span", {class: "kind", "data-kind": node.kind}, node.kind),
    el("span", {class: "fact"}, node.fact || node.note || ""));
  if (!["negation", "comparison", "assignment", "aggregate", "builtin"].includes(node.kind)) {
    line.append(el("span", {class: "score"}, `score ${fmtScore(node.score)}`));
  }
  if (node.rule) {
    const where = node.rule.file ? `${node.rule.file}:${node.rule.line}` : "";
    line.append(el("span", {class: "rule"}, "rule ", el("span", {class: "rule-name"}, node.rule.label || node.rule.name || "?"),
                   where ? el("span", {class: "rule-where", title: node.rule.text || ""}, `@ ${where}`) : null));
  }
  if (node.note && node.fact) line.append(el("span", {class: "note"}, `(${node.note})`));
  const source = sourceParts(node);
  if (source.text) line.append(el("span", {class: "source"}, `[${source.text}]`));
  if (source.quote) line.append(el("span", {class: "quote"}, source.quote));
  return line;
}

function proofNode(node) {
  const premises = node.premises || [];
  if (!premises.length) return el("li", {class: "leaf"}, nodeLine(node));
  const details = el("details", {open: true}, el("summary", {}, nodeLine(node)),
                     el("ul", {}, ...premises.map(proofNode)));
  return el("li", {}, details);
}

// -- why not -----------------------------------------------------------------------------
async function runWhyNot() {
  const atom = document.getElementById("whynot-atom").value.trim();
  const box = document.getElementById("whynot-error");
  const out = document.getElementById("whynot-result");
  hideError(box);
  out.replaceChildren();
  if (!atom) return;
  try {
    const doc = await callApi("/api/explain", {atom});
    if (doc.holds) {
      out.append(el("p", {class: "holds"}, `${doc.atom} holds (score ${fmtScore(doc.score)}); its proof:`),
                 el("div", {class: "proof"}, el("ul", {}, proofNode(doc.proof))));
    } else {
      const report = doc.why_not;
      out.append(el("p", {}, report.message),
                 el("ul", {}, ...report.reasons.map(r => el("li", {},
                   el("span", {class: "rule-name"}, `rule ${r.rule}`),
                   r.location ? el("span", {class: "muted"}, ` (${r.location})`) : null, `: ${r.message}`))));
    }
  } catch (err) {
    showError(box, err.info || {message: String(err)}, null);
  }
}

// -- running -----------------------------------------------------------------------------
async function runQuery() {
  const editor = document.getElementById("editor");
  const button = document.getElementById("run");
  const box = document.getElementById("error");
  hideError(box);
  button.disabled = true;
  document.getElementById("status").textContent = "running…";
  try {
    renderResults(await callApi("/api/query", {query: editor.value}));
  } catch (err) {
    document.getElementById("status").textContent = "";
    document.getElementById("results").replaceChildren();
    showError(box, err.info || {message: String(err)}, editor);
  } finally {
    button.disabled = false;
  }
}

async function loadInfo() {
  try {
    const response = await fetch("/api/info", {headers: {"Accept": "application/json"}});
    const info = await response.json();
    document.getElementById("kb-info").textContent =
      `${info.triples} triples · ${info.read_only ? "read-only" : "read-write"} · timeout ${info.query_timeout} s`;
    const table = document.getElementById("prefixes");
    for (const [prefix, ns] of Object.entries(info.prefixes)) {
      table.append(el("tr", {}, el("td", {}, `${prefix}:`), el("td", {}, ns)));
    }
  } catch (err) {
    document.getElementById("kb-info").textContent = "the server does not answer";
  }
}

function setup() {
  const editor = document.getElementById("editor");
  const kind = document.getElementById("query-kind");
  const updateKind = () => { kind.textContent = looksLikeSparql(editor.value) ? "SPARQL" : "rule query"; };
  editor.addEventListener("input", updateKind);
  editor.addEventListener("keydown", event => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); runQuery(); }
  });
  const examples = document.getElementById("examples");
  for (const [label, text] of EXAMPLES) examples.append(el("option", {value: text}, label));
  examples.addEventListener("change", () => {
    if (examples.value) { editor.value = examples.value; updateKind(); examples.value = ""; }
  });
  document.getElementById("run").addEventListener("click", runQuery);
  document.getElementById("whynot-run").addEventListener("click", runWhyNot);
  document.getElementById("whynot-atom").addEventListener("keydown", event => {
    if (event.key === "Enter") runWhyNot();
  });
  updateKind();
  loadInfo();
}

document.addEventListener("DOMContentLoaded", setup);
