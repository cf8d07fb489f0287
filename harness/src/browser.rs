//! A notebook run in JupyterLab in headless Chromium, as a learner runs it, and what
//! the page then shows, read back as a [`Notebook`] so the lessons' claims apply to it.

use crate::lab::Lab;
use crate::notebook::Notebook;
use crate::process;
use kernel_setup::child_within;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Chromium and the script that drives it, installed.
pub struct Browser {
    chromium: PathBuf,
    script_dir: PathBuf,
}

/// A Jupyter server the browser opens notebooks on, and how it gets in.
#[derive(Debug, Clone)]
pub struct Server {
    /// The server's base URL (`http://127.0.0.1:PORT` for `cargo lab`,
    /// `http://127.0.0.1:PORT/user/NAME` behind the hub).
    pub url: String,
    pub entry: Entry,
}

#[derive(Debug, Clone)]
pub enum Entry {
    /// JupyterLab's token in the URL, as `cargo lab` prints it.
    Token(String),
    /// The hub's login page, as a learner fills it in; the hub then starts the server
    /// and nbgitpuller pulls the course before JupyterLab opens.
    HubLogin { user: String, password: String },
}

impl From<&Lab> for Server {
    fn from(lab: &Lab) -> Server {
        Server {
            url: lab.url(),
            entry: Entry::Token(lab.token.clone()),
        }
    }
}

impl Entry {
    /// The scripts' second argument: the token, or `login:USER:PASSWORD`.
    fn as_argument(&self) -> String {
        match self {
            Entry::Token(token) => token.clone(),
            Entry::HubLogin { user, password } => format!("login:{user}:{password}"),
        }
    }
}

const CHROMIUM: &str = "/usr/bin/chromium";

impl Browser {
    /// Installs what is missing: Debian's `chromium` (with apt, which needs root) and
    /// `playwright-core` (with `npm ci`, into `harness/playwright/node_modules`).
    pub fn ensure(checkout: &Path) -> Result<Browser, String> {
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| CHROMIUM.into());
        if !chromium.exists() {
            install_chromium(&chromium)?;
        }
        let script_dir = checkout.join("harness/playwright");
        let lock = std::fs::read(script_dir.join("package-lock.json"))
            .map_err(|e| format!("harness/playwright/package-lock.json: {e}"))?;
        // A copy of the lock file, written after a successful install, says what is
        // installed; an interrupted or outdated install is redone.
        let stamp = script_dir.join("node_modules/.installed-lock.json");
        if std::fs::read(&stamp).ok().as_ref() != Some(&lock) {
            eprintln!("browser test: installing playwright-core with npm ci...");
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&script_dir))
            .map_err(|e| format!("npm ci in harness/playwright: {e}"))?;
            std::fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))?;
        }
        Ok(Browser {
            chromium,
            script_dir,
        })
    }

    /// Opens `notebook` (relative to the notebooks folder Lab serves), runs all cells
    /// and returns what the page shows. Saves a screenshot to `screenshot` either way.
    pub fn run_notebook(
        &self,
        server: &Server,
        notebook: &Path,
        work_dir: &Path,
        screenshot: &Path,
        timeout: Duration,
    ) -> Result<PageView, String> {
        let out = work_dir.join("page.json");
        let args = [
            screenshot.as_os_str().to_owned(),
            timeout.as_secs().to_string().into(),
        ];
        let json = self
            .run_script("run-notebook.mjs", server, notebook, &out, &args, timeout)
            .map_err(|e| format!("{e}\n(screenshot: {})", screenshot.display()))?;
        Ok(PageView { json })
    }

    /// Presents `notebook` as live RISE slides, running its cells on their slides up
    /// to each of `stops` (name, cell index, in order), and returns what the slides
    /// showed there. Screenshots go to `<shots>-<name>-<width>x<height>.png`.
    pub fn run_slides(
        &self,
        server: &Server,
        notebook: &Path,
        work_dir: &Path,
        shots: &Path,
        stops: &[(&str, usize)],
        timeout: Duration,
    ) -> Result<SlidesView, String> {
        let out = work_dir.join("slides.json");
        let stops: Vec<Value> = stops
            .iter()
            .map(|(name, cell)| json!({"name": name, "cell": cell}))
            .collect();
        let args = [
            shots.as_os_str().to_owned(),
            timeout.as_secs().to_string().into(),
            Value::Array(stops).to_string().into(),
        ];
        let json = self.run_script("run-slides.mjs", server, notebook, &out, &args, timeout)?;
        serde_json::from_value(json).map_err(|e| format!("{}: {e}", out.display()))
    }

    /// Opens the static page `page` (a file, such as a handout's slides) with every
    /// request that leaves the file system refused, as in a classroom without a
    /// network, and returns what it showed. Saves a screenshot to `screenshot`.
    pub fn open_offline(
        &self,
        page: &Path,
        work_dir: &Path,
        screenshot: &Path,
        timeout: Duration,
    ) -> Result<OfflinePage, String> {
        let out = work_dir.join("offline.json");
        let args = [
            page.as_os_str().to_owned(),
            out.as_os_str().to_owned(),
            screenshot.as_os_str().to_owned(),
            timeout.as_secs().to_string().into(),
        ];
        let json = self.run_node("open-offline.mjs", &args, &out, timeout)?;
        serde_json::from_value(json).map_err(|e| format!("{}: {e}", out.display()))
    }

    /// Runs `script` (in harness/playwright) on `notebook` on `server`, writing `out`, and
    /// returns what it wrote. Its arguments: the server, its entry, the notebook,
    /// `out`, then `args`.
    fn run_script(
        &self,
        script: &str,
        server: &Server,
        notebook: &Path,
        out: &Path,
        args: &[std::ffi::OsString],
        timeout: Duration,
    ) -> Result<Value, String> {
        let all: Vec<std::ffi::OsString> = [
            server.url.clone().into(),
            server.entry.as_argument().into(),
            notebook.as_os_str().to_owned(),
            out.as_os_str().to_owned(),
        ]
        .into_iter()
        .chain(args.iter().cloned())
        .collect();
        self.run_node(script, &all, out, timeout)
    }

    /// Runs `script` (in harness/playwright) with `args`, and returns what it wrote
    /// to `out`.
    fn run_node(
        &self,
        script: &str,
        args: &[std::ffi::OsString],
        out: &Path,
        timeout: Duration,
    ) -> Result<Value, String> {
        let _ = std::fs::remove_file(out);
        let mut child = Command::new("node")
            .arg(self.script_dir.join(script))
            .args(args)
            .env("CHROMIUM", &self.chromium)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        // The script keeps its own deadline; this one catches a stuck browser.
        let limit = timeout + Duration::from_secs(90);
        if child_within(&mut child, limit, || {})
            .map_err(|e| e.to_string())?
            .is_none()
        {
            process::kill_tree(child.id() as i32);
            let _ = child.wait();
            return Err(format!(
                "the browser script {script} did not finish within {} s and was killed",
                limit.as_secs()
            ));
        }
        let output = child.wait_with_output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        let text = std::fs::read_to_string(out)
            .map_err(|e| format!("the browser script wrote no {}: {e}", out.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))
    }
}

/// What a static page showed with the network cut off.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfflinePage {
    /// Whether reveal.js started (it marks its root `.reveal.ready`).
    pub reveal_ready: bool,
    /// How many top-level slides the page has.
    pub slides: u64,
    /// The text of the slide shown first.
    pub first_slide_text: String,
    /// The requests refused because they left the file system.
    pub refused: Vec<String>,
    /// Script errors the page reported.
    pub errors: Vec<String>,
}

/// What the slideshow showed: at each stop, the stop cell's slide at each screen size,
/// and every slide taller than a 1280x720 screen on the way.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlidesView {
    pub stops: Vec<SlideStop>,
    pub tall: Vec<TallSlide>,
    pub console_errors: Vec<String>,
}

/// A stop of the slideshow: the cell run there and its slide as seen at each size.
#[derive(Debug, Clone, Deserialize)]
pub struct SlideStop {
    pub name: String,
    pub cell: usize,
    pub views: Vec<SlideView>,
}

/// A slide as seen at one screen size, around the stop cell.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlideView {
    /// Whether the stop cell's slide is the one shown.
    pub present: bool,
    pub viewport: Size,
    /// Whether the whole cell is on the screen.
    pub cell_visible: bool,
    pub output_text: String,
    pub images: Vec<SlideImage>,
    pub screenshot: PathBuf,
}

/// A screen size in CSS pixels.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// A picture in the stop cell's output.
#[derive(Debug, Clone, Deserialize)]
pub struct SlideImage {
    pub loaded: bool,
    pub width: f64,
    pub height: f64,
    /// Whether all of it is on the screen.
    pub visible: bool,
}

/// A slide taller than the screen, with the cell last run on it.
#[derive(Debug, Clone, Deserialize)]
pub struct TallSlide {
    pub cell: usize,
    pub height: f64,
}

fn install_chromium(chromium: &Path) -> Result<(), String> {
    if !kernel_setup::running_as_root() {
        return Err(format!(
            "{} is missing; install Debian's chromium (`sudo apt-get install chromium`) or set CHROMIUM",
            chromium.display()
        ));
    }
    eprintln!("browser test: installing Debian's chromium with apt (about 1-2 min, once)...");
    let install = || {
        run(Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().is_err() {
        // A fresh machine may have no package lists yet.
        run(Command::new("apt-get").arg("update")).map_err(|e| format!("apt-get update: {e}"))?;
        install().map_err(|e| format!("apt-get install chromium: {e}"))?;
    }
    if chromium.exists() {
        Ok(())
    } else {
        Err(format!(
            "apt installed chromium, but {} is still missing",
            chromium.display()
        ))
    }
}

/// Runs `command` with its output shown as progress (on stderr, which tests do not
/// capture); `Err` with its status when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// What the page showed after running every cell.
#[derive(Debug, Clone)]
pub struct PageView {
    json: Value,
}

/// One cell as the page showed it.
#[derive(Debug, Clone)]
pub struct PageCell<'a> {
    pub kind: &'a str,
    /// `[12]:` once run.
    pub prompt: &'a str,
    pub outputs: Vec<PageOutput<'a>>,
}

#[derive(Debug, Clone)]
pub struct PageOutput<'a> {
    /// The renderer JupyterLab chose (`text/plain`, `image/svg+xml`,
    /// `application/vnd.jupyter.stdout`, `application/vnd.jupyter.stderr` for both
    /// error outputs and printed errors).
    pub mime: &'a str,
    pub text: &'a str,
    pub images: Vec<PageImage>,
}

#[derive(Debug, Clone)]
pub struct PageImage {
    /// The image's source, decoded from its `data:` URL (the SVG text for pictures).
    pub source: String,
    /// Whether the browser decoded and drew it.
    pub loaded: bool,
    pub width: f64,
    pub height: f64,
}

impl PageView {
    /// The kernel's name as the notebook's toolbar shows it.
    pub fn kernel_name(&self) -> &str {
        self.json["kernelName"].as_str().unwrap_or_default()
    }

    /// Whether JupyterLab's "get notified about official Jupyter news?" prompt showed.
    pub fn news_prompt_shown(&self) -> bool {
        self.json["newsPrompt"].as_bool().unwrap_or(false)
    }

    /// Script errors the page reported (JupyterLab's own, usually harmless).
    pub fn page_errors(&self) -> Vec<&str> {
        self.json["consoleErrors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    }

    pub fn cells(&self) -> Vec<PageCell<'_>> {
        fn str_of(v: &Value) -> &str {
            v.as_str().unwrap_or_default()
        }
        self.json["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|cell| PageCell {
                kind: str_of(&cell["kind"]),
                prompt: str_of(&cell["prompt"]),
                outputs: cell["outputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|output| PageOutput {
                        mime: str_of(&output["mime"]),
                        text: str_of(&output["text"]),
                        images: output["images"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|image| PageImage {
                                source: decode_data_url(str_of(&image["src"])),
                                loaded: image["loaded"].as_bool().unwrap_or(false),
                                width: image["width"].as_f64().unwrap_or(0.0),
                                height: image["height"].as_f64().unwrap_or(0.0),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The committed notebook with the outputs the page showed, in nbformat, so the
    /// lessons' claims can be checked on what a learner saw. Error text shown in a cell
    /// tagged `raises-exception` becomes an error output; elsewhere it stays printed
    /// text, where the harness's panic check finds it.
    pub fn as_notebook(&self, committed: &Notebook) -> Result<Notebook, String> {
        let page = self.cells();
        let mut json = committed.json.clone();
        let cells = json["cells"]
            .as_array_mut()
            .ok_or("the committed notebook has no cells")?;
        if cells.len() != page.len() {
            return Err(format!(
                "the page shows {} cells, the notebook has {}",
                page.len(),
                cells.len()
            ));
        }
        for ((cell, seen), parsed) in cells.iter_mut().zip(&page).zip(&committed.cells) {
            let expects_error = parsed.tags.iter().any(|t| t == "raises-exception");
            let outputs: Vec<Value> = seen
                .outputs
                .iter()
                .map(|output| match output.mime {
                    "application/vnd.jupyter.stdout" => {
                        json!({"output_type": "stream", "name": "stdout", "text": output.text})
                    }
                    "application/vnd.jupyter.stderr" if expects_error => json!({
                        "output_type": "error", "ename": "Error", "evalue": output.text,
                        "traceback": [output.text],
                    }),
                    "application/vnd.jupyter.stderr" => {
                        json!({"output_type": "stream", "name": "stderr", "text": output.text})
                    }
                    "image/svg+xml" => json!({
                        "output_type": "display_data", "metadata": {},
                        "data": {"image/svg+xml": output.images.first().map(|i| i.source.clone())},
                    }),
                    mime => json!({
                        "output_type": "execute_result", "metadata": {},
                        "data": {mime: output.text},
                    }),
                })
                .collect();
            if cell["cell_type"] == "code" {
                cell["outputs"] = Value::Array(outputs);
            }
        }
        let text = serde_json::to_string(&json).map_err(|e| e.to_string())?;
        Notebook::parse(&committed.path, &text)
    }
}

/// `data:image/svg+xml,%3Csvg...` as the text it encodes (percent-decoding; base64
/// URLs are not decoded).
fn decode_data_url(url: &str) -> String {
    let Some((_, data)) = url.split_once(',') else {
        return String::new();
    };
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_encoded_svg() {
        assert_eq!(
            decode_data_url("data:image/svg+xml,%3Csvg%20a%3D%22%C3%A9%22%2F%3E"),
            "<svg a=\"é\"/>"
        );
        assert_eq!(decode_data_url("no comma"), "");
    }
}
