// The feed's responsiveness in a real browser, for `streetwatch bench-console
// --browser` (which stores the incidents and inserts the live ones). Environment:
// CONSOLE_URL, ACCOUNT ("name:password"). Prints one JSON line on stdout:
//   {"load_ms": [...], "older_ms": [...], "open_ms": [...], "appeared": {"<id>": <unix ms>}}
// After "ready" it records when each new feed item appears, until a line "done" on stdin.
import { launchChromium } from './harness.mjs';
import readline from 'node:readline';

const url = process.env.CONSOLE_URL;
const [name, password] = process.env.ACCOUNT.split(':');
const ROUNDS = 5;

const browser = await launchChromium();
const out = { load_ms: [], older_ms: [], open_ms: [], appeared: {} };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url + '/login');
  await page.fill('#username', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(url + '/'), page.click('#login-submit')]);
  await page.waitForSelector('#conn.conn-up', { timeout: 10000 });

  // A full page load: navigation to the first 50 incidents shown and the feed live.
  for (let i = 0; i < ROUNDS; i++) {
    const t = Date.now();
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#feed li').length >= 50 && document.querySelector('#conn.conn-up'));
    out.load_ms.push(Date.now() - t);
  }
  // "Older incidents": the next 50, appended.
  for (let i = 0; i < ROUNDS; i++) {
    const before = await page.locator('#feed li').count();
    const t = Date.now();
    await page.click('#more');
    await page.waitForFunction((n) => document.querySelectorAll('#feed li').length >= n + 50, before);
    out.older_ms.push(Date.now() - t);
  }
  // Opening an incident from the feed.
  for (let i = 0; i < ROUNDS; i++) {
    await page.goto(url + '/#/');
    await page.waitForSelector('#feed li');
    const t = Date.now();
    await page.locator('#feed li').nth(i * 3).click();
    await page.waitForSelector('#incident-detail #timeline li');
    out.open_ms.push(Date.now() - t);
  }
  await page.goto(url + '/#/');
  await page.waitForFunction(() => document.querySelectorAll('#feed li').length >= 50 && document.querySelector('#conn.conn-up'));
  await page.evaluate(() => {
    window.__appeared = {};
    new MutationObserver(() => document.querySelectorAll('#feed li[data-id]').forEach((li) => {
      if (!(li.dataset.id in window.__appeared)) window.__appeared[li.dataset.id] = Date.now();
    })).observe(document.getElementById('feed'), { childList: true, subtree: true });
  });
  console.log('ready');
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === 'done') break;
  lines.close();
  out.appeared = await page.evaluate(() => window.__appeared);
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
