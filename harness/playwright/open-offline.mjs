// Opens a static page (a handout's reveal.js slides) in headless Chromium with every
// request that leaves the file system refused, as in a classroom without a network,
// and reports whether reveal.js started and what it shows.
//
//   node open-offline.mjs PAGE_FILE OUT_JSON SCREENSHOT TIMEOUT_SECONDS
//
// course/tests/handouts.rs runs it and checks the JSON; a failure exits non-zero with
// a reason on stderr.

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openSession } from './session.mjs';

const [pageFile, outJson, screenshot, timeoutSeconds] = process.argv.slice(2);
const { page, consoleErrors, remaining, finish, step } = await openSession({
  name: 'open-offline',
  viewport: { width: 1280, height: 720 },
  timeoutSeconds,
  screenshot: () => screenshot,
});

const refused = [];
await page.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
  refused.push(url);
  return route.abort('internetdisconnected');
});
await step(`opening ${pageFile}`, () =>
  page.goto(pathToFileURL(pageFile).href, { timeout: remaining(), waitUntil: 'load' }),
);
// reveal.js starts from require.js once the page has loaded (as an AMD module, so it
// sets no global) and marks its root `.ready`; a page that cannot load it never does.
const ready = await page
  .waitForSelector('.reveal.ready', { timeout: Math.min(remaining(), 30000) })
  .then(() => true)
  .catch(() => false);
const shown = await step('reading the slides', () =>
  page.evaluate(() => ({
    slides: document.querySelectorAll('.reveal .slides > section').length,
    firstSlideText: document.querySelector('.reveal .slides section.present')?.innerText ?? '',
  })),
);
writeFileSync(
  outJson,
  JSON.stringify({ revealReady: ready, ...shown, refused, errors: consoleErrors }, null, 1),
);
await finish(0);
