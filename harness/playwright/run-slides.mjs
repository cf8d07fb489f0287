// Presents a notebook as live RISE slides in headless Chromium, as an instructor does:
// opens JupyterLab's slideshow (jupyterlab-rise, at /rise/NOTEBOOK), runs the cells in
// order on their slides (Ctrl+Enter runs the selected cell, `j` moves to the next, and
// the slideshow follows), noting every slide taller than a 1280x720 screen, and at each
// stop looks at the stop cell's slide: its output and its pictures, at 1280x720 and
// 1920x1080.
//
//   node run-slides.mjs LAB_URL TOKEN NOTEBOOK OUT_JSON SCREENSHOT_PREFIX TIMEOUT_SECONDS STOPS
//
// STOPS is JSON: [{"name": "code-cell", "cell": 14}, ...], cell indices in order. Each
// stop leaves SCREENSHOT_PREFIX-NAME-1280x720.png and -1920x1080.png. course/tests/browser.rs
// runs it and checks the JSON; a failure exits non-zero with a reason on stderr.

import { writeFileSync } from 'node:fs';
import { openSession } from './session.mjs';

const [labUrl, token, notebook, outJson, shotPrefix, timeoutSeconds, stopsJson] =
  process.argv.slice(2);
const stops = JSON.parse(stopsJson);
const SIZES = [
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];
const { page, consoleErrors, deadline, remaining, finish, step } = await openSession({
  name: 'run-slides',
  viewport: SIZES[0],
  timeoutSeconds,
  screenshot: (code) => (code === 0 ? null : `${shotPrefix}-failed.png`),
});

const url = `${labUrl}/rise/${notebook}?token=${token}`;
await step(`opening ${url.replace(token, '***')}`, () =>
  page.goto(url, { timeout: remaining(), waitUntil: 'domcontentloaded' }),
);
await step('waiting for the first slide', () =>
  page.waitForSelector('.reveal .slides section.present .jp-Notebook-cell', {
    timeout: remaining(),
  }),
);
// Command mode on the first cell, as after a click on it.
await step('selecting the first cell', async () => {
  await page.click('.reveal .slides section.present .jp-Notebook-cell.jp-mod-active');
  await page.keyboard.press('Escape');
});

const cellState = () =>
  page.evaluate(() => {
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Notebook-cell'));
    return {
      active: cells.findIndex((c) => c.classList.contains('jp-mod-active')),
      prompts: cells.map((c) => c.querySelector('.jp-InputPrompt')?.textContent?.trim() ?? ''),
    };
  });

// Runs the selected cell if it is code, and waits for its reply: its prompt shows a
// new execution count.
async function runSelected() {
  const { active, prompts } = await cellState();
  const before = prompts[active];
  if (before === '') return; // markdown
  await page.keyboard.press('Control+Enter');
  for (;;) {
    const now = (await cellState()).prompts[active];
    if (/^\[\d+\]:$/.test(now) && now !== before) return;
    if (Date.now() > deadline) {
      await finish(1, `cell ${active} had not run within ${timeoutSeconds} s (prompt ${now})`);
    }
    await page.waitForTimeout(250);
  }
}

// Selects the next cell; the slideshow moves with it. At a slide boundary a key press
// can go to the slide change instead, so it is pressed again until the selection has
// moved; moving onto a new slide may select its first code cell, past markdown.
async function selectNext() {
  const { active } = await cellState();
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('j');
    for (let wait = 0; wait < 20; wait++) {
      await page.waitForTimeout(100);
      const { active: now, prompts } = await cellState();
      if (now === active) continue;
      const skipped = prompts.slice(active + 1, now);
      if (now > active && skipped.every((p) => p === '')) return;
      await finish(1, `moving on from cell ${active} selected cell ${now}, past code cells`);
    }
  }
  await finish(1, `could not move from cell ${active} to the next one`);
}

// What the slide shows around the selected cell, in the viewport's coordinates.
const look = (index) =>
  page.evaluate((index) => {
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Notebook-cell'));
    const cell = cells[index];
    const slide = cell.closest('section');
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height };
    };
    const visible = (r) =>
      r.top >= -1 && r.left >= -1 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1;
    const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output'));
    return {
      present: slide?.classList.contains('present') ?? false,
      viewport: { width: innerWidth, height: innerHeight },
      cellVisible: visible(box(cell)),
      outputText: outputs.map((o) => o.innerText).join('\n'),
      images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map((img) => ({
        loaded: img.complete && img.naturalWidth > 0,
        ...box(img),
        visible: visible(box(img)),
      })),
    };
  }, index);

// The height of the selected cell's slide, once the slideshow has settled on it.
const slideHeight = async () => {
  await page.waitForTimeout(600);
  return page.evaluate(() => {
    const cell = document.querySelector('.jp-Notebook .jp-Notebook-cell.jp-mod-active');
    return cell.closest('section').scrollHeight;
  });
};

const seen = [];
// Slides taller than the screen, with the cell that was run last on them.
const tall = [];
for (const stop of stops) {
  for (;;) {
    const { active } = await cellState();
    if (active > stop.cell) await finish(1, `passed stop ${stop.name} (cell ${stop.cell})`);
    await runSelected();
    const height = await slideHeight();
    if (height > SIZES[0].height) tall.push({ cell: active, height });
    if (active === stop.cell) break;
    // On a new slide RISE selects its first code cell by itself (auto_select), past
    // the markdown before it: run that one next.
    const { active: now, prompts } = await cellState();
    if (now > active && prompts.slice(active + 1, now).every((p) => p === '')) continue;
    if (now !== active) await finish(1, `the slideshow selected cell ${now} after cell ${active}`);
    await selectNext();
  }
  // Let the slide transition and any late output settle.
  await page.waitForTimeout(1500);
  const views = [];
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(1000);
    const shot = `${shotPrefix}-${stop.name}-${size.width}x${size.height}.png`;
    await step(`screenshot ${shot}`, () => page.screenshot({ path: shot, timeout: 20000 }));
    views.push({ ...(await look(stop.cell)), screenshot: shot });
  }
  await page.setViewportSize(SIZES[0]);
  seen.push({ name: stop.name, cell: stop.cell, views });
  if (seen.length < stops.length) await selectNext();
}
writeFileSync(outJson, JSON.stringify({ stops: seen, tall, consoleErrors }, null, 1));
await finish(0);
