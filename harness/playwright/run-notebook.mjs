// Opens a notebook in JupyterLab in headless Chromium, runs all its cells as a learner
// would (Run > Run All Cells), and writes what the page shows to a JSON file: the
// kernel's name and, cell by cell, the prompt and each output as rendered.
//
//   node run-notebook.mjs LAB_URL TOKEN NOTEBOOK OUT_JSON SCREENSHOT TIMEOUT_SECONDS
//
// TOKEN may instead be `login:USER:PASSWORD`: the learner then logs in on the hub's
// page first, and LAB_URL is their server's (`.../user/USER`).
//
// course/tests/browser.rs runs it and checks the JSON. Exits non-zero, with a reason on
// stderr, when the page does not get that far; a screenshot is saved either way.

import { writeFileSync } from 'node:fs';
import { openSession, logInOnHub } from './session.mjs';

const [labUrl, token, notebook, outJson, screenshot, timeoutSeconds] = process.argv.slice(2);
const { page, consoleErrors, deadline, remaining, finish, step } = await openSession({
  name: 'run-notebook',
  viewport: { width: 1400, height: 1000 },
  timeoutSeconds,
  screenshot: () => screenshot,
});

const login = await logInOnHub(labUrl, token, step, page, remaining);
const url = `${labUrl}/lab/tree/${notebook}` + (login ? '' : `?token=${token}`);
await step(`opening ${url.replace(token, '***')}`, () =>
  page.goto(url, { timeout: remaining(), waitUntil: 'domcontentloaded' }),
);
await step('waiting for the notebook to appear', () =>
  page.waitForSelector('.jp-NotebookPanel .jp-Cell', { timeout: remaining() }),
);
const kernelName = await step('waiting for the kernel to start', async () => {
  const name = page.locator('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName');
  // The toolbar names the kernel from the notebook's metadata before the kernel exists;
  // Run All in that moment clears every cell's prompt and runs nothing. The status bar
  // says Idle only once the kernel is connected.
  await page.waitForFunction(
    () => {
      const el = document.querySelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName');
      const text = el?.textContent?.trim() ?? '';
      const status = document.querySelector('#jp-main-statusbar')?.textContent ?? '';
      return text !== '' && !/No Kernel|Kernel Starting|Connecting/i.test(text) && /\|\s*Idle/.test(status);
    },
    null,
    { timeout: remaining() },
  );
  return (await name.textContent()).trim();
});

await step('choosing Run > Run All Cells', async () => {
  await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
  await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
});

// Done when every non-empty code cell has a number in its prompt.
const codeCells = '.jp-NotebookPanel .jp-Notebook .jp-CodeCell';
const progress = () =>
  page.$$eval(codeCells, (cells) =>
    cells.map((cell) => ({
      prompt: cell.querySelector('.jp-InputPrompt')?.textContent?.trim() ?? '',
      empty: (cell.querySelector('.cm-content')?.textContent ?? '').trim() === '',
    })),
  );
let last = [];
for (;;) {
  last = await progress();
  const pending = last.findIndex((c) => !c.empty && !/^\[\d+\]:$/.test(c.prompt));
  if (pending < 0) break;
  if (Date.now() > deadline) {
    await finish(
      1,
      `code cell ${pending} (of ${last.length}) had not run within ${timeoutSeconds} s; ` +
        `its prompt shows ${last[pending].prompt}`,
    );
  }
  await page.waitForTimeout(1000);
}
// Output from threads still running can arrive just after the last reply.
await page.waitForTimeout(1000);

const cells = await page.$$eval('.jp-NotebookPanel .jp-Notebook .jp-Cell', (cells) =>
  cells.map((cell) => ({
    kind: cell.classList.contains('jp-CodeCell')
      ? 'code'
      : cell.classList.contains('jp-MarkdownCell')
        ? 'markdown'
        : 'raw',
    prompt: cell.querySelector('.jp-InputPrompt')?.textContent?.trim() ?? '',
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map((output) => {
      const images = Array.from(output.querySelectorAll('img'));
      return {
        mime: output.getAttribute('data-mime-type') ?? '',
        text: output.innerText,
        images: images.map((img) => ({
          src: img.getAttribute('src') ?? '',
          loaded: img.complete && img.naturalWidth > 0,
          width: img.getBoundingClientRect().width,
          height: img.getBoundingClientRect().height,
        })),
      };
    }),
  })),
);
// The last picture, in view for the screenshot.
await page
  .locator('.jp-OutputArea-output img')
  .last()
  .scrollIntoViewIfNeeded({ timeout: 5000 })
  .catch(() => {});
// JupyterLab asks once, some seconds after start, unless the settings say not to.
const newsPrompt = await page.evaluate(() => document.body.innerText.includes('official Jupyter news'));
writeFileSync(outJson, JSON.stringify({ kernelName, cells, consoleErrors, newsPrompt }, null, 1));
await finish(0);
