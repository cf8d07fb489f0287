//! A cell of a notebook and what it printed or displayed, with the readings claims
//! make of it: its value, numbers after a label, panics, errors and pictures.

use crate::check::Check;
use crate::picture::Picture;
use std::fmt::Write;

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
