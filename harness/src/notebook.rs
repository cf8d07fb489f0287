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
    /// Execution count as saved (`null` in a committed notebook).
    pub execution_count: Option<u64>,
    /// How long the kernel took to run it (compiling included), when it was executed.
    pub seconds: Option<f64>,
    /// Cores that other processes kept busy while it ran, when it was executed by the
    /// harness's driver (see `harness/driver/run_notebook.py`).
    pub other_load: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Notebook {
    pub path: PathBuf,
    pub cells: Vec<Cell>,
    /// The kernelspec's name in the notebook's metadata (`rust`, `python3`).
    pub kernel_name: Option<String>,
    /// The whole document, for copying it with other outputs (browser, bench).
    pub json: Value,
}

/// nbformat 4 as the harness reads it: a field of the wrong type or a missing one makes
/// the notebook malformed, instead of read as empty.
mod format {
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize)]
    pub struct Document {
        pub nbformat: u32,
        pub cells: Vec<Value>,
        #[serde(default)]
        pub metadata: DocumentMetadata,
    }

    #[derive(Deserialize, Default)]
    pub struct DocumentMetadata {
        pub kernelspec: Option<KernelSpec>,
    }

    #[derive(Deserialize)]
    pub struct KernelSpec {
        pub name: String,
    }

    #[derive(Deserialize)]
    #[serde(tag = "cell_type", rename_all = "lowercase")]
    pub enum Cell {
        Code {
            source: Text,
            #[serde(default)]
            metadata: CellMetadata,
            outputs: Vec<Output>,
            execution_count: Option<u64>,
        },
        Markdown {
            source: Text,
            #[serde(default)]
            metadata: CellMetadata,
        },
        Raw {
            source: Text,
            #[serde(default)]
            metadata: CellMetadata,
        },
    }

    #[derive(Deserialize, Default)]
    pub struct CellMetadata {
        #[serde(default)]
        pub tags: Vec<String>,
    }

    /// nbformat's multi-line string: one string, or a list of lines.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub enum Text {
        One(String),
        Lines(Vec<String>),
    }

    impl Text {
        pub fn joined(self) -> String {
            match self {
                Text::One(text) => text,
                Text::Lines(lines) => lines.concat(),
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(tag = "output_type", rename_all = "snake_case")]
    pub enum Output {
        Stream {
            name: String,
            text: Text,
        },
        DisplayData {
            data: serde_json::Map<String, Value>,
        },
        ExecuteResult {
            data: serde_json::Map<String, Value>,
        },
        Error {
            ename: String,
            evalue: String,
            traceback: Vec<String>,
        },
    }
}

/// A MIME bundle's value as text: strings and lists of lines joined, JSON as JSON.
fn mime_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Array(parts) if parts.iter().all(Value::is_string) => {
            parts.iter().filter_map(Value::as_str).collect()
        }
        other => other.to_string(),
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

impl From<format::Output> for Output {
    fn from(output: format::Output) -> Output {
        match output {
            format::Output::Stream { name, text } => Output::Stream {
                name,
                text: text.joined(),
            },
            format::Output::DisplayData { data } | format::Output::ExecuteResult { data } => {
                Output::Data(data.into_iter().map(|(m, v)| (m, mime_text(v))).collect())
            }
            format::Output::Error {
                ename,
                evalue,
                traceback,
            } => Output::Error {
                ename,
                evalue: strip_ansi(&evalue),
                traceback: strip_ansi(&traceback.join("\n").replace('\u{0}', "")),
            },
        }
    }
}

impl Output {
    /// An output as nbformat writes it (the driver's record holds them so), or what is
    /// wrong with it.
    pub fn from_json(value: Value) -> Result<Output, String> {
        serde_json::from_value::<format::Output>(value)
            .map(Output::from)
            .map_err(|e| format!("malformed output: {e}"))
    }
}

impl Notebook {
    pub fn load(path: &Path) -> Result<Notebook, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Notebook::parse(path, &text)
    }

    /// Parses nbformat 4, failing with the path (and the cell) on anything malformed.
    pub fn parse(path: &Path, text: &str) -> Result<Notebook, String> {
        let malformed = |what: String| {
            format!(
                "{}: not a valid notebook ({what}); open it in JupyterLab and save it again, or restore it from git",
                path.display()
            )
        };
        let json: Value =
            serde_json::from_str(text).map_err(|e| malformed(format!("JSON error: {e}")))?;
        let document: format::Document =
            serde_json::from_value(json.clone()).map_err(|e| malformed(e.to_string()))?;
        if document.nbformat != 4 {
            return Err(malformed(format!(
                "nbformat {}, expected 4",
                document.nbformat
            )));
        }
        let cells = document
            .cells
            .into_iter()
            .enumerate()
            .map(|(index, cell)| {
                let cell: format::Cell = serde_json::from_value(cell)
                    .map_err(|e| malformed(format!("cell {index}: {e}")))?;
                let (kind, source, metadata, outputs, execution_count) = match cell {
                    format::Cell::Code {
                        source,
                        metadata,
                        outputs,
                        execution_count,
                    } => (CellKind::Code, source, metadata, outputs, execution_count),
                    format::Cell::Markdown { source, metadata } => {
                        (CellKind::Markdown, source, metadata, Vec::new(), None)
                    }
                    format::Cell::Raw { source, metadata } => {
                        (CellKind::Raw, source, metadata, Vec::new(), None)
                    }
                };
                let outputs = outputs.into_iter().map(Output::from).collect();
                Ok(Cell {
                    index,
                    kind,
                    source: source.joined(),
                    tags: metadata.tags,
                    outputs,
                    execution_count,
                    seconds: None,
                    other_load: None,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Notebook {
            path: path.to_owned(),
            cells,
            kernel_name: document.metadata.kernelspec.map(|k| k.name),
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

impl Cell {
    /// Whether the cell is tagged `raises-exception`: it shows an error on purpose.
    pub fn expects_error(&self) -> bool {
        self.tags.iter().any(|t| t == "raises-exception")
    }

    /// The compiler error code (`E0499`) that a cell tagged `raises-exception` names in
    /// a comment, so that a different error fails the test instead of passing for it.
    pub fn expected_error_code(&self) -> Option<&str> {
        if !self.expects_error() {
            return None;
        }
        self.source.lines().find_map(|line| {
            let comment = &line[line.find("//")?..];
            comment.char_indices().find_map(|(at, c)| {
                let code = comment.get(at..at + 5)?;
                (c == 'E' && code[1..].bytes().all(|b| b.is_ascii_digit())).then_some(code)
            })
        })
    }

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

    /// The name the kernel gave the cell's error (`Error` for evcxr's), if it failed.
    pub fn error_name(&self) -> Option<&str> {
        self.outputs.iter().find_map(|o| match o {
            Output::Error { ename, .. } => Some(ename.as_str()),
            _ => None,
        })
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

    /// Each `(text, n)`: the cell printed `text` exactly `n` times.
    pub fn expect_counts(&self, expected: &[(&str, usize)]) -> Check {
        for &(text, n) in expected {
            let found = self.count(text);
            if found != n {
                return Err(self.describe(&format!("should print `{text}` {n} times, not {found}")));
            }
        }
        Ok(())
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
    fn a_malformed_cell_is_named_not_read_as_empty() {
        for (cell, expected) in [
            (
                r#"{"cell_type": "code", "metadata": {}, "source": 1, "outputs": []}"#,
                "cell 0",
            ),
            (
                r#"{"cell_type": "code", "metadata": {}, "source": ""}"#,
                "outputs",
            ),
            (
                r#"{"cell_type": "slide", "metadata": {}, "source": ""}"#,
                "slide",
            ),
            (
                r#"{"cell_type": "markdown", "metadata": {"tags": "keep"}, "source": ""}"#,
                "cell 0",
            ),
        ] {
            let text = format!(r#"{{"cells": [{cell}], "metadata": {{}}, "nbformat": 4}}"#);
            let err = Notebook::parse(Path::new("m.ipynb"), &text).unwrap_err();
            assert!(err.starts_with("m.ipynb: not a valid notebook"), "{err}");
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let old = r#"{"cells": [], "metadata": {}, "nbformat": 3}"#;
        assert!(
            Notebook::parse(Path::new("o.ipynb"), old)
                .unwrap_err()
                .contains("nbformat 3")
        );
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
}
