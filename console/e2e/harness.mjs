// What the browser tests share: checks that print what passed, waits with deadlines,
// and Debian's headless Chromium launched the same way.
import { chromium } from 'playwright-core';

export function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Polls `fn` every `everyMs` until it returns something truthy, or throws after `deadlineMs`.
export async function until(what, deadlineMs, fn, everyMs = 50) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Playwright gives each launch a fresh, empty user-data-dir.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
