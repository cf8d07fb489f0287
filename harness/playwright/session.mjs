// What both browser scripts share: headless Chromium with a throw-away profile, one
// page that collects script errors, a deadline, and an orderly end with a screenshot.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `name` prefixes messages; `screenshot(code)` names the file to save when ending with
// `code` (or nothing, for none).
export async function openSession({ name, viewport, timeoutSeconds, screenshot }) {
  const deadline = Date.now() + Number(timeoutSeconds) * 1000;
  const profile = mkdtempSync(join(tmpdir(), `${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
    // Without the networking flags Chromium tries to reach Google's services, which
    // this machine's closed network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on('pageerror', (error) => consoleErrors.push(String(error)));

  async function finish(code, reason) {
    if (reason) console.error(`${name}: ${reason}`);
    const path = screenshot(code);
    if (path) {
      await page
        .screenshot({ path, fullPage: false, timeout: 20000 })
        .catch((error) => console.error(`${name}: no screenshot: ${error}`));
    }
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    process.exit(code);
  }

  // Runs `action`; on an error ends the session, saying what it was doing.
  async function step(what, action) {
    try {
      return await action();
    } catch (error) {
      await finish(1, `${what}: ${String(error).split('\n')[0]}`);
    }
  }

  return {
    page,
    consoleErrors,
    deadline,
    remaining: () => Math.max(1000, deadline - Date.now()),
    finish,
    step,
  };
}

// When `entry` is `login:USER:PASSWORD`, logs in on the JupyterHub page of `serverUrl`'s
// origin as a learner does, and waits until the hub has started the server and
// JupyterLab has opened (after nbgitpuller pulled the course). Returns whether it did.
export async function logInOnHub(serverUrl, entry, step, page, remaining) {
  if (!entry.startsWith('login:')) return false;
  const [user, password] = entry.slice('login:'.length).split(':');
  const hub = new URL(serverUrl).origin;
  await step('opening the hub\'s login page', () =>
    page.goto(`${hub}/hub/login`, { timeout: remaining(), waitUntil: 'domcontentloaded' }),
  );
  await step('logging in', async () => {
    await page.fill('input[name="username"]', user);
    await page.fill('input[name="password"]', password);
    await page.click('input[type="submit"], button[type="submit"]');
  });
  await step('waiting for the hub to start the server and JupyterLab to open', () =>
    page.waitForURL(/\/user\/[^/]+\/lab/, { timeout: remaining() }),
  );
  return true;
}
