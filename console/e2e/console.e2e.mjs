// Browser end-to-end test of the operator console, in Debian's headless Chromium
// driven by playwright-core. Started by streetwatch/tests/console_e2e.rs, which runs
// the real pipeline on the bundled footage and passes, in the environment:
//   CONSOLE_URL   the console (http://127.0.0.1:PORT)
//   EVENTS_FILE   the pipeline's event log (the incident is read from there first)
//   ARTIFACTS     folder for screenshots
//   OPERATOR, VIEWER, ADMIN   "name:password" of three accounts
// It prints "restart-now" and waits for a line on stdin while the test restarts the
// streetwatch process. Every wait has a deadline; any failed check exits non-zero.
import { check, launchChromium, sleep, until } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const url = process.env.CONSOLE_URL;
const eventsFile = process.env.EVENTS_FILE;
const artifacts = process.env.ARTIFACTS;
const [opName, opPass] = process.env.OPERATOR.split(':');
const [viewName, viewPass] = process.env.VIEWER.split(':');
const [adminName, adminPass] = process.env.ADMIN.split(':');
fs.mkdirSync(artifacts, { recursive: true });

function events() {
  if (!fs.existsSync(eventsFile)) return [];
  return fs.readFileSync(eventsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const stdinLines = readline.createInterface({ input: process.stdin });
const stdinIter = stdinLines[Symbol.asyncIterator]();

const browser = await launchChromium();
let failed = false;
const operatorPageRef = { page: null };
try {
  // ------------------------------------------------ nobody logged in
  const anonymous = await browser.newContext();
  const anon = anonymous.request;
  check((await anon.get(url + '/api/incidents', { maxRedirects: 0 })).status() === 401, 'the API refuses requests without a login');
  const root = await anon.get(url + '/', { maxRedirects: 0 });
  check(root.status() === 303 && root.headers()['location'] === '/login', 'the page sends a browser without a login to /login');

  async function login(context, name, password) {
    const page = await context.newPage();
    await page.goto(url + '/');
    check(new URL(page.url()).pathname === '/login', `${name}: redirected to the login page`);
    await page.fill('#username', name);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(url + '/'), page.click('#login-submit')]);
    await page.waitForSelector('#conn.conn-up', { timeout: 10000 });
    return page;
  }

  // A wrong password is refused.
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url + '/login');
    await page.fill('#username', opName);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForURL(/failed=1/), page.click('#login-submit')]);
    check(await page.isVisible('#login-error'), 'a wrong password is refused with a message');
    await ctx.close();
  }

  // ------------------------------------------------ operator: the incident arrives live
  const opContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const op = await login(opContext, opName, opPass);
  operatorPageRef.page = op;
  const cookies = await opContext.cookies();
  const session = cookies.find((c) => c.name === 'sw_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  check(await op.evaluate(() => document.cookie.includes('sw_session')) === false, 'page scripts cannot read the session cookie');
  // Record when each feed item first appears in the page.
  await op.evaluate(() => {
    window.__appeared = {};
    const note = () => document.querySelectorAll('#feed li[data-id]').forEach((li) => {
      if (!(li.dataset.id in window.__appeared)) window.__appeared[li.dataset.id] = Date.now();
    });
    note();
    new MutationObserver(note).observe(document.getElementById('feed'), { childList: true, subtree: true });
  });
  const started = await until('the pipeline to raise an incident (events file)', 150000, () =>
    events().find((e) => e.phase === 'STARTED'));
  const seenInFile = Date.now();
  const id = started.id;
  console.log(`incident ${id} (${started.kind}, ${started.camera_id}) in the event log`);
  await op.waitForSelector(`#feed li[data-id="${id}"]`, { timeout: 10000 });
  const appeared = await op.evaluate((i) => window.__appeared[i], id);
  const sinceEvent = appeared - started.at_ms;
  const sinceFile = appeared - seenInFile;
  console.log(`feed item appeared ${sinceEvent} ms after the incident's frame, ${sinceFile} ms after the event log had it`);
  check(sinceEvent <= 2000, `the incident is in the feed within 2 s of its frame (${sinceEvent} ms)`);
  check(sinceFile <= 2000, `the incident is in the feed within 2 s of the event log (${sinceFile} ms)`);
  const item = op.locator(`#feed li[data-id="${id}"]`);
  check((await item.getAttribute('data-review')) === 'new', 'the feed shows it as new');
  await until('the feed thumbnail', 10000, () => item.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0));
  check(true, 'the feed item shows the snapshot thumbnail');
  // Filters: another kind hides it, its own kind shows it.
  await op.selectOption('#filter-kind', 'bike_cluster');
  await until('the filter to hide it', 5000, async () => (await op.locator(`#feed li[data-id="${id}"]`).count()) === 0);
  await op.selectOption('#filter-kind', started.kind);
  await op.waitForSelector(`#feed li[data-id="${id}"]`, { timeout: 5000 });
  check(true, 'the kind filter hides and shows the incident');
  await op.screenshot({ path: path.join(artifacts, 'console-feed.png'), fullPage: true });

  // ------------------------------------------------ evidence is for logged-in users only
  for (const file of ['snapshot.jpg', 'clip.mp4']) {
    const r = await anon.get(`${url}/evidence/incidents/${id}/${file}`, { maxRedirects: 0 });
    check(r.status() === 401, `unauthenticated ${file} of the incident is refused (${r.status()})`);
  }

  // ------------------------------------------------ a viewer can look but not decide
  const viewContext = await browser.newContext();
  const viewer = await login(viewContext, viewName, viewPass);
  await viewer.goto(`${url}/#/incident/${id}`);
  await viewer.waitForSelector('#incident-detail', { timeout: 10000 });
  check(await viewer.isVisible('#no-review'), 'the viewer is told the role cannot decide');
  check(await viewer.isDisabled('#action-acknowledge'), 'the viewer\'s Acknowledge button is disabled');
  const viewerTry = await viewer.evaluate(async (i) => {
    const me = await (await fetch('/api/me')).json();
    const r = await fetch(`/api/incidents/${i}/review`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ action: 'acknowledge' }) });
    return r.status;
  }, id);
  check(viewerTry === 403, `the server refuses a viewer's acknowledgement (${viewerTry})`);
  await viewContext.close();

  // ------------------------------------------------ operator: detail, snapshot, clip
  await item.click();
  await op.waitForSelector('#incident-detail', { timeout: 10000 });
  await until('the snapshot to load', 10000, () => op.evaluate(() => {
    const img = document.getElementById('snapshot'); return img && img.complete && img.naturalWidth > 0;
  }));
  const snapWidth = await op.evaluate(() => document.getElementById('snapshot').naturalWidth);
  check(snapWidth === 768, `the snapshot shows (${snapWidth} px wide)`);
  check((await op.locator('#timeline li[data-phase="STARTED"]').count()) === 1, 'the timeline shows STARTED');
  // The clip is written once its post-roll is recorded; the page retries until then.
  await until('the clip to load', 90000, () => op.evaluate(() => {
    const v = document.getElementById('clip'); return v && v.readyState >= 1 && v.duration > 1;
  }));
  const duration = await op.evaluate(() => document.getElementById('clip').duration);
  await op.evaluate(() => document.getElementById('clip').play());
  await until('the clip to play', 20000, () => op.evaluate(() => document.getElementById('clip').currentTime > 1.0));
  const played = await op.evaluate(() => { const v = document.getElementById('clip'); return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight }; });
  check(played.w === 768 && played.h === 576, `the clip plays: ${duration.toFixed(1)} s, ${played.w}x${played.h}, at ${played.t.toFixed(1)} s`);
  await op.screenshot({ path: path.join(artifacts, 'console-incident.png'), fullPage: true });

  // ------------------------------------------------ CSRF, then acknowledge
  const forged = await op.evaluate(async (i) => (await fetch(`/api/incidents/${i}/review`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ action: 'acknowledge' }) })).status, id);
  check(forged === 403, `a decision without the CSRF token is refused (${forged})`);
  await op.fill('#note', 'officer on the way');
  await op.click('#action-acknowledge');
  await op.waitForSelector('#review-state:text("acknowledged")', { timeout: 10000 });
  check(true, 'the operator acknowledged the incident');
  check(await op.isDisabled('#action-acknowledge'), 'acknowledge is done: its button is disabled now');
  const reviewed = await until('the REVIEWED event in the event log (through the router)', 10000, () =>
    events().find((e) => e.phase === 'REVIEWED' && e.id === id));
  check(reviewed.review.action === 'acknowledged' && reviewed.review.operator === opName && reviewed.review.note === 'officer on the way',
    'the decision went out through the router as a REVIEWED event with operator and note');

  // ------------------------------------------------ reload: the state is kept
  await op.reload();
  await op.waitForSelector('#incident-detail', { timeout: 10000 });
  check((await op.textContent('#review-state')) === 'acknowledged', 'after a reload the incident is still acknowledged');
  check((await op.locator('#timeline li[data-phase="REVIEWED"]').count()) === 1, 'the timeline shows the decision');

  // ------------------------------------------------ the process restarts under the page
  await op.goto(url + '/#/');
  await op.waitForSelector(`#feed li[data-id="${id}"]`, { timeout: 10000 });
  console.log('restart-now');
  const reply = await Promise.race([stdinIter.next(), sleep(120000).then(() => ({ done: true }))]);
  check(!reply.done && reply.value.trim() === 'restarted', 'the test restarted streetwatch');
  await op.waitForSelector('#conn.conn-down', { timeout: 10000 }).catch(() => {});
  await op.waitForSelector('#conn.conn-up', { timeout: 30000 });
  check(true, 'the live feed reconnected by itself after the restart');
  await op.reload();
  await op.waitForSelector(`#feed li[data-id="${id}"][data-review="acknowledged"]`, { timeout: 10000 });
  check(true, 'after the restart the incident is still there, acknowledged');

  // ------------------------------------------------ camera health
  await op.goto(url + '/#/cameras');
  const row = op.locator('#cameras tr[data-camera="campus-gate"]');
  // fps is measured over 2 s windows: a freshly restarted camera shows 0 first.
  await until('the camera to be streaming with a measured rate and a picture', 30000, async () =>
    (await row.count()) === 1 && (await row.getAttribute('data-state')) === 'streaming' &&
    Number(await row.locator('td.fps').textContent()) > 0 &&
    (await row.locator('img').count()) === 1 &&
    (await row.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0)));
  const fps = Number(await row.locator('td.fps').textContent());
  check(fps > 0, `the camera health page shows campus-gate streaming at ${fps} fps with a picture`);
  await op.screenshot({ path: path.join(artifacts, 'console-cameras.png'), fullPage: true });

  // ------------------------------------------------ admin: the audit log
  const adminContext = await browser.newContext();
  const admin = await login(adminContext, adminName, adminPass);
  await admin.goto(url + '/#/audit');
  await admin.waitForSelector('#audit tbody tr', { timeout: 10000 });
  const audit = await admin.locator('#audit tbody').textContent();
  check(audit.includes('incident.acknowledge') && audit.includes(opName) && audit.includes('officer on the way'),
    'the audit log shows the acknowledgement, who made it and the note');
  check(audit.includes('refused'), 'the audit log shows the refused login');
  await adminContext.close();

  // ------------------------------------------------ logout ends the session
  await op.click('#logout');
  await op.waitForURL(/\/login$/, { timeout: 10000 });
  const after = await opContext.request.get(`${url}/evidence/incidents/${id}/snapshot.jpg`, { maxRedirects: 0 });
  check(after.status() === 401, 'after logging out, the evidence is refused');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  if (operatorPageRef.page) {
    await operatorPageRef.page.screenshot({ path: path.join(artifacts, 'console-failure.png'), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
  stdinLines.close();
}
process.exit(failed ? 1 : 0);
