//! A notebook as tests see it: cells with their source, tags and outputs.

mod cell;
mod format;

pub use cell::{Cell, CellKind, Output};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Notebook {
    pub path: PathBuf,
    pub cells: Vec<Cell>,
    /// The kernelspec's name in the notebook's metadata (`rust`, `python3`).
    pub kernel_name: Option<String>,
    /// The whole document, for copying it with other outputs (browser, bench).
    pub json: Value,
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
