// The web console: a client of the server's public REST API (the same one ksqlDB's clients
// speak), with no build step. Statements go to /ksql, queries stream from /query-stream,
// PRINT reads from /query, and a push query ends with /close-query.

const $ = (id) => document.getElementById(id);

// ---- The REST API ---------------------------------------------------------------------

/** An error the server answered, with its message (and the position a parse error names). */
class ApiError extends Error {}

async function ksql(sql, properties = {}) {
  const response = await fetch('/ksql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.ksql.v1+json', Accept: 'application/vnd.ksql.v1+json' },
    body: JSON.stringify({ ksql: sql, streamsProperties: properties }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(body?.message ?? `HTTP ${response.status}`);
  }
  const failed = body.find((e) => e['@type'] === 'currentStatus' && e.commandStatus?.status === 'ERROR');
  if (failed) throw new ApiError(failed.commandStatus.message);
  return body;
}

/**
 * Streams a query's answer: `onHeader` with its metadata, `onRow` with each row as it arrives.
 * Resolves when the answer ends; `signal` aborts it.
 */
async function streamQuery(sql, properties, { onHeader, onRow, signal }) {
  const response = await fetch('/query-stream', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/vnd.ksqlapi.delimited.v1' },
    body: JSON.stringify({ sql, properties }),
    signal,
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(body?.message ?? `HTTP ${response.status}`);
  }
  await forEachLine(response, (line) => {
    const value = JSON.parse(line);
    if (Array.isArray(value)) onRow(value);
    else if (value['@type']) throw new ApiError(value.message);
    else onHeader(value);
  });
}

/** Calls `visit` with each line of a streamed response as it arrives. */
async function forEachLine(response, visit) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    let end;
    while ((end = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, end).trim();
      pending = pending.slice(end + 1);
      if (line) visit(line);
    }
  }
  if (pending.trim()) visit(pending.trim());
}

/**
 * A topic's records as PRINT shows them, from its beginning and on as they are produced:
 * `onLine` with each line, until `signal` aborts.
 */
async function printTopic(topic, { onLine, signal }) {
  const response = await fetch('/query', {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.ksql.v1+json' },
    body: JSON.stringify({ ksql: `PRINT '${topic.replaceAll("'", "''")}' FROM BEGINNING;` }),
    signal,
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(body?.message ?? `HTTP ${response.status}`);
  }
  await forEachLine(response, onLine);
}

/** A view of streamed lines that keeps the last `keep`. */
function linesView(keep) {
  const view = element('pre', { class: 'records' });
  const lines = [];
  return {
    view,
    add(line) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
      view.textContent = lines.join('\n');
    },
  };
}

/** What streams into the detail pane (a topic's records), stopped when it is left. */
let watching = null;
function stopWatching() {
  watching?.abort();
  watching = null;
}

// ---- Drawing ----------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** A value of a row as text: structs, arrays and maps as JSON. */
function cellText(value) {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function table(headers, rows) {
  const head = element('tr', {}, ...headers.map((h) => element('th', {}, h)));
  const body = element('tbody', {}, ...rows.map((r) => element('tr', {}, ...r.map((c) => element('td', {}, cellText(c))))));
  return element('table', {}, element('thead', {}, head), body);
}

/** One entity of a /ksql answer. */
function entityView(entity) {
  switch (entity['@type']) {
    case 'currentStatus':
      return element('div', { class: 'message' }, entity.commandStatus.message);
    case 'streams':
    case 'tables': {
      const sources = entity.streams ?? entity.tables;
      return table(['Name', 'Kafka Topic', 'Key Format', 'Value Format', 'Windowed'],
        sources.map((s) => [s.name, s.topic, s.keyFormat, s.valueFormat, s.isWindowed]));
    }
    case 'kafka_topics':
    case 'kafka_topics_extended':
      return table(['Kafka Topic', 'Partitions'], entity.topics.map((t) => [t.name, t.replicaInfo.length]));
    case 'queries':
      return table(['Query ID', 'Type', 'State', 'Sinks', 'SQL'],
        entity.queries.map((q) => [q.id, q.queryType, q.state, q.sinks.join(', '), q.queryString]));
    case 'properties':
      return table(['Property', 'Scope', 'Value'], entity.properties.map((p) => [p.name, p.scope, p.value]));
    case 'variables':
      return table(['Variable', 'Value'], entity.variables.map((v) => [v.name, v.value]));
    case 'function_names':
      return table(['Function', 'Category'], entity.functions.map((f) => [f.name, f.category]));
    case 'type_list':
      return table(['Type', 'Schema'], Object.entries(entity.types).map(([n, s]) => [n, typeText(s)]));
    case 'sourceDescription':
      return sourceView(entity.sourceDescription);
    default:
      return element('pre', {}, JSON.stringify(entity, null, 2));
  }
}

function typeText(schema) {
  switch (schema.type) {
    case 'ARRAY': return `ARRAY<${typeText(schema.memberSchema)}>`;
    case 'MAP': return `MAP<STRING, ${typeText(schema.memberSchema)}>`;
    case 'STRUCT': return `STRUCT<${schema.fields.map((f) => `${f.name} ${typeText(f.schema)}`).join(', ')}>`;
    case 'DECIMAL': return schema.parameters ? `DECIMAL(${schema.parameters.precision}, ${schema.parameters.scale})` : 'DECIMAL';
    default: return schema.type;
  }
}

function sourceView(d) {
  const fields = d.fields.map((f) => [f.name, typeText(f.schema) + (f.type ? ` (${f.type.toLowerCase().replace('_', ' ')})` : '')]);
  const queries = [...d.writeQueries.map((q) => ['writes', q.id, q.state]), ...d.readQueries.map((q) => ['reads', q.id, q.state])];
  return element('div', { class: 'detail' },
    element('h3', {}, `${d.type === 'TABLE' ? 'Table' : 'Stream'} ${d.name}`),
    element('div', {}, `Kafka topic ${d.topic} (${d.partitions} partitions) · key ${d.keyFormat} · value ${d.valueFormat}`),
    table(['Column', 'Type'], fields),
    queries.length ? table(['', 'Query', 'State'], queries) : '');
}

// ---- The editor -------------------------------------------------------------------------

const KEYWORDS = new Set(('SELECT FROM WHERE GROUP BY HAVING EMIT CHANGES FINAL CREATE STREAM TABLE AS WITH ' +
  'INSERT INTO VALUES DROP DELETE TOPIC TERMINATE SHOW LIST STREAMS TABLES TOPICS QUERIES PROPERTIES ' +
  'FUNCTIONS TYPES VARIABLES DESCRIBE EXTENDED EXPLAIN PRINT BEGINNING INTERVAL LIMIT WINDOW TUMBLING ' +
  'HOPPING SESSION SIZE ADVANCE RETENTION GRACE PERIOD PARTITION JOIN LEFT RIGHT FULL OUTER INNER ON ' +
  'WITHIN KEY PRIMARY SOURCE IF NOT EXISTS SET UNSET DEFINE UNDEFINE CASE WHEN THEN ELSE END CAST AND ' +
  'OR IN IS NULL TRUE FALSE BETWEEN LIKE ALTER ADD COLUMN TYPE ALL STRUCT ARRAY MAP STRING VARCHAR INT ' +
  'INTEGER BIGINT DOUBLE BOOLEAN DECIMAL BYTES TIMESTAMP DATE TIME SECONDS MINUTES HOURS DAYS ' +
  'MILLISECONDS REPLACE HEADERS HEADER').split(' '));

const TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)|([\s\S])/g;

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

/** The editor's text as highlighted HTML: keywords, strings, numbers, comments. */
function highlight(text) {
  let html = '';
  for (const [token, comment, string, number, word] of text.matchAll(TOKEN)) {
    const safe = escapeHtml(token);
    if (comment) html += `<span class="com">${safe}</span>`;
    else if (string) html += `<span class="str">${safe}</span>`;
    else if (number) html += `<span class="num">${safe}</span>`;
    else if (word && KEYWORDS.has(word.toUpperCase())) html += `<span class="kw">${safe}</span>`;
    else html += safe;
  }
  // A final newline needs a line after it to take room.
  return html + '\n';
}

const editor = $('sql');
function redraw() {
  $('highlight').innerHTML = highlight(editor.value);
  $('highlight').scrollTop = editor.scrollTop;
}
editor.addEventListener('input', redraw);
editor.addEventListener('scroll', () => { $('highlight').scrollTop = editor.scrollTop; });
editor.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    run();
  }
});

/** Shows an error; a parse error's `line L:C` selects that place in the editor. */
function showError(error) {
  const box = $('error');
  box.hidden = false;
  box.textContent = error.message;
  const at = /line (\d+):(\d+)/.exec(error.message);
  if (at) {
    const [line, column] = [Number(at[1]), Number(at[2])];
    const lines = editor.value.split('\n');
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(column - 1, 0);
    editor.focus();
    editor.setSelectionRange(offset, Math.min(offset + 1, editor.value.length));
    box.dataset.line = line;
    box.dataset.column = column;
  }
}

function clearOutput() {
  $('error').hidden = true;
  $('error').textContent = '';
  $('result').replaceChildren();
  $('chart-box').hidden = true;
  $('status').textContent = '';
}

// ---- Running statements -----------------------------------------------------------------

/** The first word of a statement, past comments. */
function firstWord(sql) {
  const stripped = sql.replace(/^(\s|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/, '');
  return (/^[A-Za-z_]+/.exec(stripped)?.[0] ?? '').toUpperCase();
}

let running = null;

async function run() {
  const sql = editor.value.trim();
  if (!sql) return;
  await stop();
  clearOutput();
  const properties = { 'auto.offset.reset': $('offset').value };
  const word = firstWord(sql);
  try {
    if (word === 'SELECT') {
      await runQuery(sql, properties);
    } else if (word === 'PRINT') {
      const topic = /PRINT\s+'?([^'\s;]+)/i.exec(sql)?.[1];
      const controller = new AbortController();
      running = { controller, id: null };
      $('stop').disabled = false;
      const { view, add } = linesView(1000);
      $('result').append(view);
      await printTopic(topic, { onLine: add, signal: controller.signal });
      if (running?.controller === controller) {
        running = null;
        $('stop').disabled = true;
      }
    } else {
      const entities = await ksql(sql, properties);
      $('result').append(...entities.map(entityView));
      refreshCatalog();
    }
  } catch (error) {
    if (error.name !== 'AbortError') showError(error);
  }
}

/** A query: a table that grows as rows arrive (the last 1,000 kept), and the chart. */
async function runQuery(sql, properties) {
  const controller = new AbortController();
  const query = { controller, id: null };
  running = query;
  $('stop').disabled = false;
  const body = element('tbody');
  let columns = [];
  let count = 0;
  const chart = new Chart($('chart'));
  try {
    await streamQuery(sql, properties, {
      signal: controller.signal,
      onHeader(meta) {
        query.id = meta.queryId;
        columns = meta.columnNames;
        const head = element('tr', {}, ...columns.map((c) => element('th', {}, c)));
        $('result').append(element('table', { id: 'rows' }, element('thead', {}, head), body));
        const numeric = meta.columnTypes
          .map((type, i) => [columns[i], /^(INTEGER|INT|BIGINT|DOUBLE|DECIMAL)/.test(type)])
          .filter(([, isNumber]) => isNumber);
        const select = $('chart-column');
        select.replaceChildren(element('option', { value: '' }, '—'),
          ...numeric.map(([name]) => element('option', { value: name }, name)));
        $('chart-box').hidden = numeric.length === 0;
        $('status').textContent = 'Running…';
      },
      onRow(row) {
        count += 1;
        body.append(element('tr', {}, ...row.map((v) => element('td', {}, cellText(v)))));
        if (body.rows.length > 1000) body.deleteRow(0);
        const index = columns.indexOf($('chart-column').value);
        if (index >= 0 && typeof row[index] === 'number') chart.add(row[index]);
        $('status').textContent = `${count} row${count === 1 ? '' : 's'}`;
      },
    });
    $('status').textContent = `${count} row${count === 1 ? '' : 's'}, done`;
  } finally {
    if (running === query) {
      running = null;
      $('stop').disabled = true;
    }
  }
}

async function stop() {
  const query = running;
  if (!query) return;
  running = null;
  $('stop').disabled = true;
  if (query.id) {
    await fetch('/close-query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ queryId: query.id }),
    }).catch(() => {});
  }
  query.controller.abort();
  $('status').textContent += ' (stopped)';
}

$('run').addEventListener('click', run);
$('stop').addEventListener('click', stop);

/** A small line chart of the last 200 values of a column. */
class Chart {
  constructor(canvas) {
    this.canvas = canvas;
    this.values = [];
    canvas.dataset.points = '0';
    $('chart-column').onchange = () => { this.values = []; this.draw(); };
    this.draw();
  }

  add(value) {
    this.values.push(value);
    if (this.values.length > 200) this.values.shift();
    this.draw();
  }

  draw() {
    const { canvas, values } = this;
    const context = canvas.getContext('2d');
    context.clearRect(0, 0, canvas.width, canvas.height);
    canvas.dataset.points = String(values.length);
    if (values.length === 0) return;
    const low = Math.min(...values);
    const high = Math.max(...values);
    const span = high - low || 1;
    const x = (i) => 40 + (i / Math.max(values.length - 1, 1)) * (canvas.width - 50);
    const y = (v) => canvas.height - 15 - ((v - low) / span) * (canvas.height - 30);
    context.strokeStyle = '#1f6feb';
    context.lineWidth = 2;
    context.beginPath();
    values.forEach((v, i) => (i === 0 ? context.moveTo(x(i), y(v)) : context.lineTo(x(i), y(v))));
    context.stroke();
    context.fillStyle = '#6b7385';
    context.font = '11px sans-serif';
    const label = (v) => String(Number(v.toPrecision(6)));
    context.fillText(label(high), 2, 12);
    context.fillText(label(low), 2, canvas.height - 4);
  }
}

// ---- Tabs, catalog, queries, processing log ---------------------------------------------

function showPane(name) {
  if (name !== 'detail') stopWatching();
  for (const button of document.querySelectorAll('#tabs button')) {
    button.classList.toggle('active', button.dataset.pane === name);
    if (button.dataset.pane === name) button.hidden = false;
  }
  for (const pane of document.querySelectorAll('.pane')) pane.hidden = pane.id !== `${name}-pane`;
  if (name === 'queries') refreshQueries();
  if (name === 'log') refreshLog();
}
for (const button of document.querySelectorAll('#tabs button')) {
  button.addEventListener('click', () => showPane(button.dataset.pane));
}

function fillList(id, names, open) {
  const list = $(id);
  if (names.length === 0) {
    list.replaceChildren(element('li', { class: 'empty' }, 'none'));
    return;
  }
  list.replaceChildren(...names.map((name) => {
    const item = element('li', {}, name);
    if (open) item.addEventListener('click', () => open(name));
    return item;
  }));
}

async function refreshCatalog() {
  try {
    const [streams, tables, topics, types] = await ksql('SHOW STREAMS; SHOW TABLES; SHOW TOPICS; SHOW TYPES;');
    fillList('streams', streams.streams.map((s) => s.name), openSource);
    fillList('tables', tables.tables.map((t) => t.name), openSource);
    fillList('topics', topics.topics.map((t) => t.name), openTopic);
    fillList('types', Object.keys(types.types), openType);
  } catch (error) {
    $('server').textContent = `cannot list the catalog: ${error.message}`;
  }
}

async function openSource(name) {
  stopWatching();
  const pane = $('detail-pane');
  showPane('detail');
  pane.replaceChildren(element('div', {}, 'Loading…'));
  try {
    const [entity] = await ksql(`DESCRIBE \`${name.replaceAll('`', '``')}\` EXTENDED;`);
    pane.replaceChildren(sourceView(entity.sourceDescription));
  } catch (error) {
    pane.replaceChildren(element('pre', { id: 'detail-error' }, error.message));
  }
}

/** A topic's page: its records as PRINT shows them, the last 100, live. */
async function openTopic(name) {
  stopWatching();
  const pane = $('detail-pane');
  showPane('detail');
  const { view, add } = linesView(100);
  pane.replaceChildren(element('h3', {}, `Topic ${name}`),
    element('div', { class: 'message' }, 'Its records from the beginning, and new ones as they come:'), view);
  const controller = new AbortController();
  watching = controller;
  try {
    await printTopic(name, { onLine: add, signal: controller.signal });
  } catch (error) {
    if (error.name !== 'AbortError') pane.append(element('pre', {}, error.message));
  }
}

async function openType(name) {
  stopWatching();
  const [entity] = await ksql('SHOW TYPES;');
  showPane('detail');
  $('detail-pane').replaceChildren(element('h3', {}, `Type ${name}`), element('pre', {}, typeText(entity.types[name])));
}

/** Each query's last committed offsets, to turn into records/s between refreshes. */
const lastOffsets = new Map();

async function refreshQueries() {
  if ($('queries-pane').hidden) return;
  const rows = [];
  try {
    const [{ queries }] = await ksql('SHOW QUERIES;');
    for (const query of queries) {
      let lag = 0;
      let consumed = 0;
      if (query.sinks[0]) {
        const [entity] = await ksql(`DESCRIBE \`${query.sinks[0]}\` EXTENDED;`).catch(() => [null]);
        const summaries = entity?.sourceDescription?.queryOffsetSummaries ?? [];
        for (const group of summaries.filter((g) => g.groupId.endsWith(query.id))) {
          for (const topic of group.topicSummaries) {
            for (const p of topic.offsets) {
              lag += Math.max(p.logEndOffset - p.consumerOffset, 0);
              consumed += p.consumerOffset;
            }
          }
        }
      }
      const now = performance.now();
      const before = lastOffsets.get(query.id);
      lastOffsets.set(query.id, { consumed, now });
      const rate = before ? ((consumed - before.consumed) * 1000) / Math.max(now - before.now, 1) : null;
      let errors = '';
      if (query.state === 'ERROR') {
        const [explained] = await ksql(`EXPLAIN ${query.id};`).catch(() => [null]);
        errors = (explained?.queryDescription?.queryErrors ?? []).map((e) => e.errorMessage).join('; ');
      }
      rows.push([query.id, query.state, query.sinks.join(', '), rate === null ? '…' : rate.toFixed(1), lag, errors]);
    }
  } catch (error) {
    rows.push([error.message, '', '', '', '', '']);
  }
  $('queries').tBodies[0].replaceChildren(...rows.map((r) => element('tr', { 'data-query': r[0] },
    ...r.map((c, i) => element('td', i === 5 && c ? { class: 'bad' } : {}, cellText(c))))));
}

async function refreshLog() {
  if ($('log-pane').hidden) return;
  const log = $('log');
  try {
    const [{ streams }] = await ksql('SHOW STREAMS;');
    if (!streams.some((s) => s.name === 'KSQL_PROCESSING_LOG')) {
      log.replaceChildren(element('p', {}, 'The processing log is not a stream on this server: start it with ' +
        'ksql.logging.processing.stream.auto.create=true to read it here.'));
      return;
    }
    const rows = [];
    let columns = [];
    await streamQuery('SELECT * FROM KSQL_PROCESSING_LOG;', { 'auto.offset.reset': 'earliest' }, {
      onHeader(meta) { columns = meta.columnNames; },
      onRow(row) { rows.push(row); if (rows.length > 100) rows.shift(); },
    });
    log.replaceChildren(rows.length ? table(columns, rows.reverse()) : element('p', {}, 'No entries.'));
  } catch (error) {
    log.replaceChildren(element('pre', {}, error.message));
  }
}

async function start() {
  try {
    const info = await (await fetch('/info')).json();
    $('server').textContent = `v${info.KsqlServerInfo.version} · ${info.KsqlServerInfo.serverStatus}`;
  } catch (error) {
    $('server').textContent = 'the server does not answer';
  }
  redraw();
  await refreshCatalog();
  setInterval(refreshCatalog, 5000);
  setInterval(refreshQueries, 2000);
  document.body.dataset.ready = 'true';
}

start();
