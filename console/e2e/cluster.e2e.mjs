// Browser end-to-end test of the shared console of a cluster, in Debian's headless
// Chromium driven by playwright-core. Started by streetwatch/tests/cluster_e2e.rs,
// which runs a broker, 3 workers, 12 test cameras and `streetwatch console`, and
// passes, in the environment:
//   CONSOLE_URL   the shared console (http://127.0.0.1:PORT)
//   ARTIFACTS     folder for screenshots
//   OPERATOR, VIEWER   "name:password" of the two accounts (the viewer: one district)
// The Rust side knows Kafka; this side knows the page. It sends one JSON command a
// line on stdin; each is answered with one line `done <json>` on stdout (or the
// script exits non-zero). Every wait has a deadline.
import { check, launchChromium, sleep, until } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const url = process.env.CONSOLE_URL;
const artifacts = process.env.ARTIFACTS;
const [opName, opPass] = process.env.OPERATOR.split(':');
const [viewName, viewPass] = process.env.VIEWER.split(':');
fs.mkdirSync(artifacts, { recursive: true });

const answer = (value) => console.log('done ' + JSON.stringify(value));

const browser = await launchChromium();

async function login(name, password) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(url + '/');
  await page.fill('#username', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(url + '/'), page.click('#login-submit')]);
  await page.waitForSelector('#conn.conn-up', { timeout: 10000 });
  return { context, page };
}

let failed = false;
let op = null;
try {
  const operator = await login(opName, opPass);
  op = operator.page;
  // When each feed item first appears in the page (this machine's clock, as Kafka's).
  await op.evaluate(() => {
    window.__appeared = {};
    const note = () => document.querySelectorAll('#feed li[data-id]').forEach((li) => {
      if (!(li.dataset.id in window.__appeared)) window.__appeared[li.dataset.id] = Date.now();
    });
    note();
    new MutationObserver(note).observe(document.getElementById('feed'), { childList: true, subtree: true });
  });
  answer({ ready: true });

  const commands = readline.createInterface({ input: process.stdin });
  for await (const line of commands) {
    const c = JSON.parse(line);
    if (c.cmd === 'appeared') {
      // When the page first showed each of the given incidents (waiting for them).
      await op.goto(url + '/#/');
      await until(`the feed to show ${c.ids.length} incidents`, 10000, () => op.evaluate((ids) =>
        ids.every((i) => i in window.__appeared), c.ids));
      answer(await op.evaluate((ids) => Object.fromEntries(ids.map((i) => [i, window.__appeared[i]])), c.ids));
      await op.screenshot({ path: path.join(artifacts, 'cluster-feed.png'), fullPage: true });
    } else if (c.cmd === 'moved') {
      // The dead worker's cameras: stale first, then streaming under another worker.
      await op.goto(url + '/#/cameras');
      const rows = (cam) => op.locator(`#cameras tr[data-camera="${cam}"]`);
      const state = async (cam) => (await rows(cam).count()) ? rows(cam).getAttribute('data-state') : null;
      const worker = async (cam) => (await rows(cam).count()) ? rows(cam).locator('td.worker').textContent() : null;
      const staleAt = {};
      const movedAt = {};
      await until('the dead worker\'s cameras to show stale, then streaming elsewhere', c.deadline_ms, async () => {
        // The page refreshes its table every 5 s; reload to sample it more often.
        await op.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
        await sleep(400);
        for (const cam of c.cameras) {
          const s = await state(cam);
          if (s === 'stale' && !(cam in staleAt)) staleAt[cam] = Date.now();
          const w = await worker(cam);
          if (s === 'streaming' && w && w !== c.victim && cam in staleAt && !(cam in movedAt)) movedAt[cam] = Date.now();
        }
        return c.cameras.every((cam) => cam in movedAt);
      });
      await op.screenshot({ path: path.join(artifacts, 'cluster-cameras.png'), fullPage: true });
      const workers = {};
      for (const cam of c.cameras) workers[cam] = await worker(cam);
      answer({ staleAt, movedAt, workers });
    } else if (c.cmd === 'ack') {
      await op.goto(`${url}/#/incident/${encodeURIComponent(c.id)}`);
      await op.waitForSelector('#incident-detail', { timeout: 10000 });
      await op.fill('#note', 'patrol sent');
      await op.click('#action-acknowledge');
      await op.waitForSelector('#review-state:text("acknowledged")', { timeout: 10000 });
      check(true, `the operator acknowledged ${c.id} in the page`);
      answer({ acked: c.id });
    } else if (c.cmd === 'viewer') {
      // A district viewer: its own district's incident and evidence; nothing of the other.
      const viewer = await login(viewName, viewPass);
      const v = viewer.page;
      await v.waitForSelector(`#feed li[data-id="${c.own}"]`, { timeout: 10000 });
      check(true, `the viewer's feed shows its district's incident ${c.own}`);
      check(await v.locator(`#feed li[data-id="${c.other}"]`).count() === 0, 'the viewer\'s feed does not show the other district\'s incident');
      const req = viewer.context.request;
      const list = await (await req.get(url + '/api/incidents?limit=500')).json();
      check(list.items.every((i) => c.own_cameras.includes(i.camera)), `the viewer's API feed has only its district's cameras (${list.items.length} incidents)`);
      check((await req.get(`${url}/api/incidents/${c.other}`)).status() === 404, 'the other district\'s incident is refused by the API');
      check((await req.get(`${url}/evidence/incidents/${c.other}/snapshot.jpg`)).status() === 404, 'the other district\'s snapshot URL is refused');
      check((await req.get(`${url}/evidence/incidents/${c.other}/clip.mp4`, { headers: { Range: 'bytes=0-99' } })).status() === 404,
        'the other district\'s clip URL is refused');
      const own = await req.get(`${url}/evidence/incidents/${c.own}/snapshot.jpg`);
      const body = await own.body();
      check(own.status() === 200 && body[0] === 0xff && body[1] === 0xd8, `its own district's snapshot is served (from object storage, ${body.length} bytes)`);
      const cams = await (await req.get(url + '/api/cameras')).json();
      check(cams.cameras.length > 0 && cams.cameras.every((cam) => c.own_cameras.includes(cam.id)), 'the viewer\'s camera list has only its district\'s cameras');
      await v.goto(`${url}/#/incident/${encodeURIComponent(c.other)}`);
      await v.waitForSelector('#incident .error, #incident-detail, .error', { timeout: 10000 });
      check(await v.locator('#incident-detail').count() === 0, 'the page does not open the other district\'s incident');
      await viewer.context.close();
      answer({ viewer: 'ok' });
    } else if (c.cmd === 'count') {
      const list = await (await operator.context.request.get(url + '/api/incidents?limit=500')).json();
      answer({ ids: list.items.map((i) => i.id) });
    } else if (c.cmd === 'quit') {
      break;
    } else {
      throw new Error('unknown command ' + line);
    }
  }
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  if (op) await op.screenshot({ path: path.join(artifacts, 'cluster-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
