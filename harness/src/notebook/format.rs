//! nbformat 4 as the harness reads it: a field of the wrong type or a missing one makes
//! the notebook malformed, instead of read as empty.

use crate::notebook::cell::Output as CellOutput;
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
fn strip_ansi(text: &str) -> String {
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

impl From<Output> for CellOutput {
    fn from(output: Output) -> CellOutput {
        match output {
            Output::Stream { name, text } => CellOutput::Stream {
                name,
                text: text.joined(),
            },
            Output::DisplayData { data } | Output::ExecuteResult { data } => {
                CellOutput::Data(data.into_iter().map(|(m, v)| (m, mime_text(v))).collect())
            }
            Output::Error {
                ename,
                evalue,
                traceback,
            } => CellOutput::Error {
                ename,
                evalue: strip_ansi(&evalue),
                traceback: strip_ansi(&traceback.join("\n").replace('\u{0}', "")),
            },
        }
    }
}

impl CellOutput {
    /// An output as nbformat writes it (the driver's record holds them so), or what is
    /// wrong with it.
    pub fn from_json(value: Value) -> Result<CellOutput, String> {
        serde_json::from_value::<Output>(value)
            .map(CellOutput::from)
            .map_err(|e| format!("malformed output: {e}"))
    }
}
