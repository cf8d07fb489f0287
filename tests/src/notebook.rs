//! A notebook as tests see it: cells with their source, tags and outputs.

use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::{Check, Picture};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Code,
    Markdown,
    Raw,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Printed text: `name` is `stdout` or `stderr`.
    Stream { name: String, text: String },
    /// A displayed value, by MIME type (`text/plain`, `image/svg+xml`, ...).
    Data(Vec<(String, String)>),
    /// What the kernel reported as an error: a compile error or a panic.
    Error {
        ename: String,
        evalue: String,
        traceback: String,
    },
}

#[derive(Debug, Clone)]
pub struct Cell {
    /// Position among all cells, counting from 0 as Jupyter does.
    pub index: usize,
    pub kind: CellKind,
    pub source: String,
    pub tags: Vec<String>,
    pub outputs: Vec<Output>,
    /// How long the kernel took to run it (compiling included), when it was executed.
    pub seconds: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Notebook {
    pub path: PathBuf,
    pub cells: Vec<Cell>,
    /// The whole document, for checks beyond cells (kernelspec, metadata).
    pub json: Value,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// Removes terminal colour codes, which evcxr puts into its error tracebacks.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Notebook {
    pub fn load(path: &Path) -> Result<Notebook, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Notebook::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Notebook, String> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| format!("{}: not a valid notebook (JSON error: {e})", path.display()))?;
        let cells = json["cells"]
            .as_array()
            .ok_or_else(|| format!("{}: not a valid notebook (no cell list)", path.display()))?
            .iter()
            .enumerate()
            .map(|(index, cell)| Cell {
                index,
                kind: match cell["cell_type"].as_str() {
                    Some("code") => CellKind::Code,
                    Some("markdown") => CellKind::Markdown,
                    _ => CellKind::Raw,
                },
                source: text_of(&cell["source"]),
                tags: cell["metadata"]["tags"]
                    .as_array()
                    .map(|tags| {
                        tags.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                outputs: cell["outputs"]
                    .as_array()
                    .map(|outputs| outputs.iter().map(parse_output).collect())
                    .unwrap_or_default(),
                seconds: execution_seconds(&cell["metadata"]["execution"]),
            })
            .collect();
        Ok(Notebook {
            path: path.to_owned(),
            cells,
            json,
        })
    }

    pub fn code_cells(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.kind == CellKind::Code)
    }

    /// The code cell an instructor would point at by `snippet`: the one whose whole
    /// source is `snippet`, or else the only one containing it.
    pub fn cell(&self, snippet: &str) -> Result<&Cell, String> {
        let snippet = snippet.trim();
        if let Some(cell) = self.code_cells().find(|c| c.source.trim() == snippet) {
            return Ok(cell);
        }
        let matches: Vec<&Cell> = self
            .code_cells()
            .filter(|c| c.source.contains(snippet))
            .collect();
        match matches.as_slice() {
            [cell] => Ok(cell),
            [] => Err(format!("no code cell contains `{snippet}`")),
            many => Err(format!(
                "{} code cells contain `{snippet}` (cells {}); quote more of the one you mean",
                many.len(),
                many.iter()
                    .map(|c| c.index.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Every code cell whose whole source is `source`, in order (for repeated cells
    /// such as a `join` that the lesson runs twice).
    pub fn cells_exactly(&self, source: &str) -> Vec<&Cell> {
        self.code_cells()
            .filter(|c| c.source.trim() == source.trim())
            .collect()
    }
}

/// From the timestamps nbclient records (`record_timing`): the request reaching the
/// kernel to its reply.
fn execution_seconds(execution: &Value) -> Option<f64> {
    let at = |key: &str| execution[key].as_str().and_then(timestamp_seconds);
    Some(at("shell.execute_reply")? - at("iopub.execute_input")?)
}

/// `2026-11-25T01:02:03.250000Z` as seconds since 1970.
fn timestamp_seconds(stamp: &str) -> Option<f64> {
    let (date, time) = stamp.trim_end_matches('Z').split_once('T')?;
    let mut ymd = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let mut hms = time.split(':');
    let (h, min) = (
        hms.next()?.parse::<f64>().ok()?,
        hms.next()?.parse::<f64>().ok()?,
    );
    let sec: f64 = hms.next()?.parse().ok()?;
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + sec)
}

fn parse_output(output: &Value) -> Output {
    match output["output_type"].as_str() {
        Some("stream") => Output::Stream {
            name: output["name"].as_str().unwrap_or("stdout").to_owned(),
            text: text_of(&output["text"]),
        },
        Some("error") => Output::Error {
            ename: output["ename"].as_str().unwrap_or_default().to_owned(),
            evalue: strip_ansi(output["evalue"].as_str().unwrap_or_default()),
            traceback: strip_ansi(&text_of(&output["traceback"]).replace("\u{0}", "")),
        },
        _ => Output::Data(
            output["data"]
                .as_object()
                .map(|data| {
                    data.iter()
                        .map(|(mime, v)| (mime.clone(), text_of(v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    }
}

impl Cell {
    pub fn first_line(&self) -> &str {
        self.source
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
    }

    /// Everything a learner reads under the cell: printed text and displayed values.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for output in &self.outputs {
            match output {
                Output::Stream { text: t, .. } => text.push_str(t),
                Output::Data(data) => {
                    if let Some((_, plain)) = data.iter().find(|(mime, _)| mime == "text/plain") {
                        let _ = writeln!(text, "{plain}");
                    }
                }
                Output::Error { .. } => {}
            }
        }
        text
    }

    /// The kernel's error text, if the cell failed.
    pub fn error(&self) -> Option<String> {
        self.outputs.iter().find_map(|o| match o {
            Output::Error {
                ename,
                evalue,
                traceback,
            } => Some(if traceback.is_empty() {
                format!("{ename}: {evalue}")
            } else {
                traceback.clone()
            }),
            _ => None,
        })
    }

    /// The panic message printed under the cell, if a thread panicked while it ran.
    ///
    /// The kernel catches panics so that a learner keeps their variables
    /// (`preserve_vars_on_panic`), which means nbconvert sees no error: this is
    /// how the harness still notices them.
    pub fn panic(&self) -> Option<String> {
        self.outputs.iter().find_map(|o| match o {
            Output::Stream { name, text } if name == "stderr" => {
                let at = text.find("panicked at")?;
                let start = text[..at].rfind("thread ").unwrap_or(at);
                let message: Vec<&str> = text[start..]
                    .lines()
                    .take_while(|l| !l.starts_with("stack backtrace") && !l.starts_with("note:"))
                    .collect();
                Some(message.join("\n"))
            }
            _ => None,
        })
    }

    /// The value the cell displayed (its last expression), e.g. what `timeit` returned.
    pub fn value(&self) -> Option<String> {
        self.outputs.iter().rev().find_map(|o| match o {
            Output::Data(data) => data
                .iter()
                .find(|(m, _)| m == "text/plain")
                .map(|(_, t)| t.trim().to_owned()),
            _ => None,
        })
    }

    /// The SVG pictures the cell displayed, in order, each parsed or with what is wrong
    /// with it.
    pub fn pictures(&self) -> Vec<Result<Picture, String>> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Data(data) => data.iter().find(|(m, _)| m == "image/svg+xml"),
                _ => None,
            })
            .map(|(_, svg)| Picture::parse(svg))
            .collect()
    }

    /// The one picture the cell displayed, or an error naming the cell.
    pub fn picture(&self) -> Result<Picture, String> {
        match self.pictures().as_slice() {
            [Ok(picture)] => Ok(picture.clone()),
            [Err(e)] => Err(self.describe(e)),
            [] => Err(self.describe("should display a picture (SVG)")),
            many => Err(self.describe(&format!("displayed {} pictures, not one", many.len()))),
        }
    }

    /// The displayed value as a number.
    pub fn number(&self) -> Result<f64, String> {
        let value = self
            .value()
            .ok_or_else(|| self.describe("displayed no value"))?;
        value
            .parse()
            .map_err(|_| self.describe(&format!("displayed `{value}`, not a number")))
    }

    /// The numbers printed after `label` (e.g. `"speed-up: "`), in order.
    pub fn numbers_after(&self, label: &str) -> Vec<f64> {
        self.text()
            .split(label)
            .skip(1)
            .filter_map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '_'))
                    .unwrap_or(rest.len());
                rest[..end]
                    .replace('_', "")
                    .trim_end_matches('.')
                    .parse()
                    .ok()
            })
            .collect()
    }

    /// The first number printed after `label`, or an error naming the cell.
    pub fn number_after(&self, label: &str) -> Result<f64, String> {
        self.numbers_after(label)
            .first()
            .copied()
            .ok_or_else(|| self.describe(&format!("should print `{label}` and a number")))
    }

    pub fn count(&self, text: &str) -> usize {
        self.text().matches(text).count()
    }

    pub fn expect_text(&self, text: &str) -> Check {
        if self.text().contains(text) {
            Ok(())
        } else {
            Err(self.describe(&format!("should print `{text}`")))
        }
    }

    /// `"cell 12 (`timeit(10, ...)`): <what>; it printed: ..."`, for claim failures.
    pub fn describe(&self, what: &str) -> String {
        let shown: String = self.text().chars().take(1500).collect();
        format!(
            "cell {} (`{}`): {what}; it printed:\n{shown}",
            self.index,
            self.first_line()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = r##"{"cells": [
      {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
      {"cell_type": "code", "metadata": {"tags": ["keep"]}, "source": ["let x = 1;\n", "x + 1"],
       "outputs": [{"output_type": "stream", "name": "stdout", "text": ["speed-up: 1.9x\n"]},
                   {"output_type": "execute_result", "data": {"text/plain": "2"}}]},
      {"cell_type": "code", "metadata": {}, "source": "x + 1",
       "outputs": [{"output_type": "error", "ename": "Error", "evalue": "\u001b[31mboom\u001b[0m", "traceback": []}]}
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"##;

    #[test]
    fn reads_cells_outputs_and_tags() {
        let nb = Notebook::parse(Path::new("t.ipynb"), NB).unwrap();
        assert_eq!(nb.cells.len(), 3);
        let cell = nb.cell("let x = 1").unwrap();
        assert_eq!(cell.index, 1);
        assert_eq!(cell.tags, vec!["keep"]);
        assert_eq!(cell.number().unwrap(), 2.0);
        assert_eq!(cell.numbers_after("speed-up: "), vec![1.9]);
        assert_eq!(cell.first_line(), "let x = 1;");
        assert_eq!(nb.cells[2].error().unwrap(), "Error: boom");
    }

    #[test]
    fn exact_source_wins_over_containment() {
        let nb = Notebook::parse(Path::new("t.ipynb"), NB).unwrap();
        assert_eq!(nb.cell("x + 1").unwrap().index, 2);
        assert!(nb.cell("nothing like this").is_err());
    }

    #[test]
    fn invalid_json_is_reported_with_the_path() {
        let err = Notebook::parse(Path::new("bad.ipynb"), "{").unwrap_err();
        assert!(err.starts_with("bad.ipynb: not a valid notebook"), "{err}");
    }

    #[test]
    fn finds_a_panic_message_in_stderr() {
        let nb = Notebook::parse(
            Path::new("t.ipynb"),
            r##"{"cells": [{"cell_type": "code", "metadata": {}, "source": "panic!()",
                "outputs": [{"output_type": "stream", "name": "stderr",
                  "text": "\nthread '<unnamed>' (7) panicked at src/lib.rs:6:1:\nboom\nstack backtrace:\n   0: x\n"}]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"##,
        )
        .unwrap();
        assert_eq!(
            nb.cells[0].panic().unwrap(),
            "thread '<unnamed>' (7) panicked at src/lib.rs:6:1:\nboom"
        );
        assert!(nb.cell("panic!()").unwrap().error().is_none());
    }

    #[test]
    fn reads_cell_timing() {
        assert_eq!(timestamp_seconds("1970-01-02T00:00:01.5Z"), Some(86_401.5));
        assert_eq!(
            timestamp_seconds("2000-03-01T00:00:00Z"),
            Some(951_868_800.0)
        );
        let execution = serde_json::json!({
            "iopub.execute_input": "2026-11-25T23:59:59.750Z",
            "shell.execute_reply": "2026-11-26T00:00:00.250Z"
        });
        assert_eq!(execution_seconds(&execution), Some(0.5));
    }
}
