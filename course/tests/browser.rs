//! The topic notebook as a learner meets it: JupyterLab started by `cargo lab`, the
//! notebook opened in headless Chromium, Run > Run All Cells, and then what the page
//! shows: the kernel named Rust, every cell run in order, outputs under the right
//! cells (the lesson's claims hold on them), the timeline pictures drawn, and no error
//! outside cells tagged `raises-exception`. JupyterLab and its kernels are stopped at
//! the end, and the test checks that nothing was left running.
//!
//! A second test presents every topic notebook (`notebooks/en/slides/`), and one in
//! German, as live RISE slides, as an instructor does: the slideshow opens and cells run on their slides; in
//! the topic notebook a printed output and a timeline picture show on their slides at
//! 1280x720 and 1920x1080; and, run to the last cell, no slide is taller than a
//! 1280x720 screen.
//!
//! Screenshots are saved to `target/browser/` whatever the outcome.

use course::catalog::notebooks_under;
use course::claims;
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Trial};
use notebook_harness::browser::{Browser, PageView};
use notebook_harness::lab::Lab;
use notebook_harness::{BusyLoad, Check, Execution, LoadMeter, Notebook, Picture};
use std::path::Path;
use std::time::{Duration, Instant};

/// The notebooks a learner opens in the browser (relative to `notebooks/`).
const NOTEBOOKS: &[&str] = &["en/slides/topic_410_concurrency.ipynb"];
/// The folder of the notebooks an instructor presents as slides.
const SLIDES: &str = "en/slides";
/// The German notebook presented too: the German text must fit its slides as well
/// (its code is the English notebook's, whose claims the notebook tests check).
const GERMAN_SLIDES: &str = "de/slides/topic_120_multiprocessing_part1.ipynb";
const LAB_START: Duration = Duration::from_secs(180);
const RUN_ALL: Duration = Duration::from_secs(900);
/// Where the slideshow test stops, by a snippet of the cell, in the notebooks that have
/// it: one that prints a value, one that draws a timeline. It then goes on to the last
/// cell.
const SLIDE_STOPS: &[(&str, &str)] = &[
    ("code-cell", "returns how long it slept"),
    (
        "timeline",
        "Timeline::record(\"10 requests, one after another\"",
    ),
];
const PRESENT: Duration = Duration::from_secs(900);

fn main() {
    let mut args = Arguments::from_args();
    // One at a time: the notebook's timing claims must not share the cores with a
    // slideshow's kernel.
    args.test_threads.get_or_insert(1);
    let layout = Layout::of_this_checkout();
    let mut trials: Vec<Trial> = NOTEBOOKS
        .iter()
        .map(|&name| {
            Trial::test(format!("browser::{name}"), move || {
                Ok(run_in_browser(&Layout::of_this_checkout(), name)?)
            })
        })
        .collect();
    // Every topic notebook is presented, to its last slide.
    let topics = notebooks_under(&layout.notebooks().join(SLIDES))
        .into_iter()
        .map(|name| Path::new(SLIDES).join(name).display().to_string());
    for name in topics.chain([GERMAN_SLIDES.to_owned()]) {
        trials.push(Trial::test(format!("slides::{name}"), move || {
            Ok(present_slides(&Layout::of_this_checkout(), &name)?)
        }));
    }
    BusyLoad::run_trials(&args, trials);
}

/// What a browser test saw of a notebook in JupyterLab, with the committed notebook.
struct Shown<T> {
    committed: Notebook,
    seen: T,
    /// From starting JupyterLab to stopping it.
    elapsed: std::time::Duration,
    /// The test's folder, `target/browser/<notebook>[-<test>]`.
    work_dir: std::path::PathBuf,
}

/// Starts `cargo lab` for the notebook `name`, lets `show` drive the browser in it,
/// then stops JupyterLab and checks what every browser test must leave as it found
/// it: the committed notebook unchanged and no process left running. `test` names the
/// test's folder under `target/browser/` (none for the notebook's own).
fn show_in_lab<T>(
    layout: &Layout,
    name: &str,
    test: Option<&str>,
    show: impl FnOnce(&Browser, &Lab, &Notebook, &Path) -> Result<T, String>,
) -> Result<Shown<T>, String> {
    setup::installation(layout)?;
    let browser = Browser::ensure(&layout.root)?;
    let path = layout.notebooks().join(name);
    let committed = Notebook::load(&path)?;
    let committed_bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    let stem = folder_name(name);
    let folder = test.map_or_else(|| stem.clone(), |test| format!("{stem}-{test}"));
    let work_dir = layout.root.join("target/browser").join(folder);
    std::fs::create_dir_all(&work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;

    let started = Instant::now();
    let mut lab = Lab::start(&layout.root, &work_dir, LAB_START)?;
    let seen = show(&browser, &lab, &committed, &work_dir);
    let log_tail = lab.log_tail();
    let left_running = lab.stop();
    let elapsed = started.elapsed();
    let seen = seen.map_err(|e| format!("{e}\nJupyterLab's log ends:\n{log_tail}"))?;
    if std::fs::read(&path).ok().as_ref() != Some(&committed_bytes) {
        return Err("showing it in JupyterLab changed the committed notebook".to_owned());
    }
    if !left_running.is_empty() {
        return Err(format!(
            "{} process(es) of JupyterLab or its kernels were still running after the shutdown \
             and had to be killed: {left_running:?}",
            left_running.len()
        ));
    }
    Ok(Shown {
        committed,
        seen,
        elapsed,
        work_dir,
    })
}

/// The notebook as RISE slides in JupyterLab, run on its slides up to the stops.
fn present_slides(layout: &Layout, name: &str) -> Check {
    let shots = layout
        .root
        .join("target/browser")
        .join(format!("{}-slides", folder_name(name)));
    let fail = |what: String| {
        format!(
            "{name} as slides: {what} (screenshots: {}-*.png)",
            shots.display()
        )
    };
    let mut stops = Vec::new();
    let shown = show_in_lab(
        layout,
        name,
        Some("slides"),
        |browser, lab, committed, work_dir| {
            // The stops this notebook has (the topic notebook has both).
            for &(stop, snippet) in SLIDE_STOPS {
                if let Ok(cell) = committed.cell(snippet) {
                    stops.push((stop, cell.index));
                }
            }
            // On to the end, so that every slide is measured.
            let last = committed.code_cells().last().ok_or("no code cell")?.index;
            if stops.last().is_none_or(|&(_, cell)| cell < last) {
                stops.push(("last-cell", last));
            }
            browser.run_slides(
                &lab.into(),
                Path::new(name),
                work_dir,
                &shots,
                &stops,
                PRESENT,
            )
        },
    )
    .map_err(fail)?;
    let slides = shown.seen;
    for error in &slides.console_errors {
        println!("{name}: the slideshow reported a script error: {error}");
    }
    if !slides.tall.is_empty() {
        let tall: Vec<String> = slides
            .tall
            .iter()
            .map(|t| format!("cell {} ({} px)", t.cell, t.height))
            .collect();
        return Err(fail(format!(
            "slides taller than a 1280x720 screen: {}; split them (slide_type `subslide`), shorten them, or let a long output scroll (cell metadata `scrolled: true`)",
            tall.join(", ")
        )));
    }
    for stop in &slides.stops {
        for view in &stop.views {
            let at = format!(
                "at {}x{}, the slide of cell {} ({})",
                view.viewport.width,
                view.viewport.height,
                stop.cell,
                view.screenshot.display()
            );
            if !view.present || !view.cell_visible {
                return Err(fail(format!("{at} does not show the whole cell")));
            }
            match stop.name.as_str() {
                "code-cell" if !view.output_text.contains("ms") => {
                    return Err(fail(format!(
                        "{at} should show the time slept, e.g. `163.2ms`, not `{}`",
                        view.output_text
                    )));
                }
                "timeline" => match view.images.as_slice() {
                    [image] if image.loaded && image.visible && image.width >= 600.0 => {}
                    other => {
                        return Err(fail(format!(
                            "{at} should show one timeline picture, drawn, on the screen and at least 600 px wide: {other:?}"
                        )));
                    }
                },
                _ => {}
            }
        }
    }
    println!(
        "{name}: presented as slides to cell {}, none taller than 1280x720; screenshots {}-*.png",
        stops.last().map_or(0, |s| s.1),
        shots.display()
    );
    Ok(())
}

fn run_in_browser(layout: &Layout, name: &str) -> Check {
    let screenshot = layout
        .root
        .join("target/browser")
        .join(format!("{}.png", folder_name(name)));
    let fail = |what: String| format!("{name}: {what} (screenshot: {})", screenshot.display());
    let meter = LoadMeter::start();
    let shown = show_in_lab(layout, name, None, |browser, lab, _, work_dir| {
        browser.run_notebook(&lab.into(), Path::new(name), work_dir, &screenshot, RUN_ALL)
    })
    .map_err(fail)?;
    let page = shown.seen;
    println!(
        "{name}: ran in JupyterLab in {:.1} s; screenshot {}",
        shown.elapsed.as_secs_f64(),
        screenshot.display()
    );
    for error in page.page_errors() {
        println!("{name}: the page reported a script error: {error}");
    }
    if page.news_prompt_shown() {
        return Err(fail(
            "JupyterLab asked about official Jupyter news in front of the class; the project's settings (kernel-setup's overrides.json) should turn that off".to_owned(),
        ));
    }
    if page.kernel_name() != "Rust" {
        return Err(fail(format!(
            "the toolbar names the kernel `{}`, not `Rust`",
            page.kernel_name()
        )));
    }
    check_page(&shown.committed, &page).map_err(fail)?;

    // The same claims as under the driver, on what the learner saw. Claims that need
    // free cores (threads in parallel) are left to the driver's run: only it records
    // each cell's own load, and the run's average here cannot vouch for one cell.
    let seen = page.as_notebook(&shown.committed).map_err(fail)?;
    let _ = std::fs::write(
        shown
            .work_dir
            .join(format!("{}.seen.ipynb", folder_name(name))),
        serde_json::to_string_pretty(&seen.json).unwrap_or_default(),
    );
    let execution = Execution {
        notebook: seen,
        wall_time: shown.elapsed,
        other_load: meter.other_load(),
    };
    claims::check(name, &execution).map_err(|e| fail(format!("as shown in the browser, {e}")))
}

/// Cells in the notebook's order, each run once in that order, errors only where the
/// lesson expects them, and every picture drawn.
fn check_page(committed: &Notebook, page: &PageView) -> Check {
    let cells = page.cells();
    if cells.len() != committed.cells.len() {
        return Err(format!(
            "the page shows {} cells, the notebook has {}",
            cells.len(),
            committed.cells.len()
        ));
    }
    let mut last_count = 0;
    for (cell, seen) in committed.cells.iter().zip(&cells) {
        let at = || format!("cell {} (`{}`)", cell.index, cell.first_line());
        let kind = format!("{:?}", cell.kind).to_lowercase();
        if seen.kind != kind {
            return Err(format!(
                "{} shows as a {} cell, not {kind}",
                at(),
                seen.kind
            ));
        }
        if seen.kind != "code" || cell.source.trim().is_empty() {
            continue;
        }
        let count: u32 = seen
            .prompt
            .trim_start_matches('[')
            .trim_end_matches("]:")
            .parse()
            .map_err(|_| {
                format!(
                    "{} shows the prompt `{}`: it did not run",
                    at(),
                    seen.prompt
                )
            })?;
        if count <= last_count {
            return Err(format!(
                "{} ran as number {count}, after number {last_count}: cells ran out of order",
                at()
            ));
        }
        last_count = count;
        let expects_error = cell.tags.iter().any(|t| t == "raises-exception");
        let errors: Vec<&str> = seen
            .outputs
            .iter()
            .filter(|o| o.mime == "application/vnd.jupyter.stderr")
            .map(|o| o.text)
            .collect();
        match (expects_error, errors.first()) {
            (false, Some(error)) => {
                return Err(format!("{} shows an error:\n{error}", at()));
            }
            (true, None) => {
                return Err(format!(
                    "{} is tagged `raises-exception` but shows no error",
                    at()
                ));
            }
            _ => {}
        }
        let images: Vec<_> = seen.outputs.iter().flat_map(|o| &o.images).collect();
        for image in &images {
            if !image.loaded || image.width < 100.0 || image.height < 50.0 {
                return Err(format!(
                    "{} shows a picture the browser did not draw (loaded: {}, {}x{} px)",
                    at(),
                    image.loaded,
                    image.width,
                    image.height
                ));
            }
            Picture::parse(&image.source).map_err(|e| format!("{}: {e}", at()))?;
        }
        if cell.source.contains("Timeline::record") && images.len() != 1 {
            return Err(format!(
                "{} records a timeline but shows {} pictures",
                at(),
                images.len()
            ));
        }
    }
    Ok(())
}

/// A notebook's folder under `target/browser/`: its path below `notebooks/` without
/// the extension, so that the languages' notebooks of one name do not share it.
fn folder_name(name: &str) -> String {
    Path::new(name)
        .with_extension("")
        .to_string_lossy()
        .replace('/', "-")
}
