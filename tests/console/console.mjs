// Drives the web console in headless Chromium (playwright-core): run by tests/console.rs as
// `node console.mjs SERVER_URL`, with SLUICE_NODE_MODULES (where playwright-core is installed)
// and SLUICE_CHROMIUM (the browser) in its environment. Exits non-zero on the first failure.
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.SLUICE_NODE_MODULES}/`);
const { chromium } = require('playwright-core');

const url = process.argv[2];
const check = (condition, what) => {
  if (!condition) throw new Error(`failed: ${what}`);
};

async function api(sql) {
  const response = await fetch(`${url}/ksql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.ksql.v1+json' },
    body: JSON.stringify({ ksql: sql }),
  });
  check(response.ok, `${sql}: ${response.status} ${await response.text()}`);
}

const browser = await chromium.launch({
  executablePath: process.env.SLUICE_CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const run = async (sql) => {
    await page.fill('#sql', sql);
    await page.press('#sql', 'Control+Enter');
  };

  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  check((await page.textContent('#server')).includes('RUNNING'), 'the server status is shown');

  // A statement, run with Ctrl-Enter: its answer, the editor's highlighting, the catalog.
  await page.selectOption('#offset', 'earliest');
  await run("CREATE STREAM readings (sensor STRING KEY, temp DOUBLE) WITH (kafka_topic='readings', value_format='JSON', partitions=1);");
  await page.waitForSelector('#result .message:has-text("Stream created")');
  check((await page.locator('#highlight .kw').count()) >= 5, 'keywords are highlighted');
  check((await page.locator('#highlight .str').count()) >= 2, 'strings are highlighted');
  await page.waitForSelector('#streams li:has-text("READINGS")');

  // A bad statement: the error, and the caret where it is.
  await run('SELECT * FROM readings\nWHERE temp > ;');
  await page.waitForSelector('#error:not([hidden])');
  const error = await page.textContent('#error');
  check(/line 2:/.test(error), `the error names its line: ${error}`);
  const caret = await page.evaluate(() => document.getElementById('sql').selectionStart);
  check(caret > 'SELECT * FROM readings\n'.length, `the caret is on line 2 (at ${caret})`);

  // A push query: a live table, and a chart of a numeric column.
  await run('SELECT sensor, temp FROM readings EMIT CHANGES;');
  await page.waitForSelector('#rows th:has-text("TEMP")');
  await page.selectOption('#chart-column', 'TEMP');
  for (const [sensor, temp] of [['a', 20.5], ['b', 21], ['a', 22.25]]) {
    await api(`INSERT INTO readings (sensor, temp) VALUES ('${sensor}', ${temp});`);
  }
  await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length === 3);
  check((await page.textContent('#rows tbody')).includes('22.25'), 'the rows arrived');
  check((await page.getAttribute('#chart', 'data-points')) === '3', 'the chart has a point per row');
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('stopped'));
  await api("INSERT INTO readings (sensor, temp) VALUES ('c', 1);");
  await page.waitForTimeout(500);
  check((await page.locator('#rows tbody tr').count()) === 3, 'a stopped query shows no more rows');

  // A table, and a pull query of it.
  await run('CREATE TABLE latest AS SELECT sensor, LATEST_BY_OFFSET(temp) AS temp FROM readings GROUP BY sensor;');
  await page.waitForSelector('#result .message:has-text("Created query")');
  let pulled = '';
  for (let attempt = 0; attempt < 50 && !pulled.includes('22.25'); attempt++) {
    await run("SELECT * FROM latest WHERE sensor = 'a';");
    await page.waitForSelector('#status:has-text("done"), #error:not([hidden])');
    pulled = (await page.textContent('#result')) ?? '';
    if (!pulled.includes('22.25')) await page.waitForTimeout(200);
  }
  check(pulled.includes('22.25'), `the pull query answers: ${pulled}`);

  // The queries, with their state and lag.
  await page.click('#tabs button[data-pane="queries"]');
  const row = page.locator('#queries tbody tr[data-query^="CTAS_LATEST"]');
  await row.waitFor();
  check((await row.textContent()).includes('RUNNING'), 'the query runs');

  // A source's page, and a topic's latest records.
  await page.click('#tables li:has-text("LATEST")');
  await page.waitForSelector('#detail-pane h3:has-text("Table LATEST")');
  check((await page.textContent('#detail-pane')).includes('TEMP'), 'the table page shows its columns');
  await page.click('#topics li:has-text("readings")');
  await page.waitForFunction(() => document.querySelector('#detail-pane pre.records')?.textContent.includes('22.25'));

  // The processing log's pane says how to turn it on.
  await page.click('#tabs button[data-pane="log"]');
  await page.waitForSelector('#log p');

  check(pageErrors.length === 0, `no error in the page: ${pageErrors.join('; ')}`);
  console.log('console: every check passed');
} finally {
  await browser.close();
}
