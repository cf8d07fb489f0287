//! The notebooks every language gets, generated from one bilingual source each, so that
//! the languages and the variants never drift apart.
//!
//! A source (`source/topics/X.ipynb`, `source/workshops/X.ipynb`) holds each markdown
//! cell twice: in English (`"lang": "en"`) and, right after it, in German
//! (`"lang": "de"`), the two sharing `metadata.pair`. Code cells carry no `lang`: both
//! languages share them, so an instructor changes a code cell once. For each language
//! `L` it gives:
//! - `L/slides/X.ipynb` (a topic) or `L/solutions/X.ipynb` (a workshop): the complete
//!   notebook, the source's cells in `L` and those without a language;
//! - `L/codealong/X.ipynb` or `L/workshops/X.ipynb`: the same with every code cell not
//!   tagged `keep` (set-up and given code) emptied for the class to type;
//! - `rise.css` beside the slides and code-along notebooks, which RISE loads from the
//!   folder of the notebook it presents.

use crate::languages::in_language;
use kernel_setup::Language;
use notebook_harness::Check;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The folder below `notebooks/` that holds the sources, written by hand.
pub const SOURCES: &str = "source";

/// A kind of notebook: the folder of its sources, and the folders (below each
/// language's) of its complete and its to-type notebooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub source: &'static str,
    pub complete: &'static str,
    pub to_type: &'static str,
}

/// Topics are presented as slides and typed along; workshops are exercises with
/// solutions.
pub const KINDS: [Kind; 2] = [
    Kind {
        source: "topics",
        complete: "slides",
        to_type: "codealong",
    },
    Kind {
        source: "workshops",
        complete: "solutions",
        to_type: "workshops",
    },
];

/// The topics.
pub const TOPICS: Kind = KINDS[0];

/// The style sheet beside the sources, copied next to every presented notebook.
const RISE_CSS: &str = "rise.css";

/// The cell tag that keeps a code cell in the to-type variant.
pub const KEEP: &str = "keep";

/// The notebook every test and command executes for a source below `notebooks/`
/// (`source/topics/X.ipynb` gives `en/slides/X.ipynb`): the complete notebook in the
/// default language. The other languages' complete notebooks have the same code cells,
/// so their code is not executed again.
pub fn executed(source: &Path) -> Option<PathBuf> {
    let kind = KINDS
        .iter()
        .find(|k| source.starts_with(Path::new(SOURCES).join(k.source)))?;
    let name = source.file_name()?;
    Some(
        Path::new(Language::default().code())
            .join(kind.complete)
            .join(name),
    )
}

/// What a generated file is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The source's cells in this language and those without a language.
    Complete(Language),
    /// The complete notebook in this language with its code cells emptied but for
    /// those tagged `keep`.
    ToType(Language),
    /// A copy of the source file.
    Copy,
}

/// A generated file and the source it comes from.
#[derive(Debug, Clone)]
pub struct Variant {
    pub source: PathBuf,
    pub target: PathBuf,
    pub how: How,
}

/// Every file that the sources below `notebooks` generate.
pub fn variants(notebooks: &Path) -> Vec<Variant> {
    let mut all = Vec::new();
    for language in Language::ALL {
        let tree = notebooks.join(language.code());
        for kind in KINDS {
            let sources = notebooks.join(SOURCES).join(kind.source);
            for name in crate::catalog::notebooks_under(&sources) {
                for (folder, how) in [
                    (kind.complete, How::Complete(language)),
                    (kind.to_type, How::ToType(language)),
                ] {
                    all.push(Variant {
                        source: sources.join(&name),
                        target: tree.join(folder).join(&name),
                        how,
                    });
                }
            }
        }
        for folder in [TOPICS.complete, TOPICS.to_type] {
            all.push(Variant {
                source: notebooks.join(SOURCES).join(RISE_CSS),
                target: tree.join(folder).join(RISE_CSS),
                how: How::Copy,
            });
        }
    }
    all
}

/// Notebooks in the generated trees that no source accounts for (left over after a
/// rename).
pub fn orphans(notebooks: &Path) -> Vec<PathBuf> {
    let generated: Vec<PathBuf> = variants(notebooks).into_iter().map(|v| v.target).collect();
    Language::ALL
        .iter()
        .flat_map(|language| {
            let tree = notebooks.join(language.code());
            crate::catalog::notebooks_under(&tree)
                .into_iter()
                .map(move |name| tree.join(name))
        })
        .filter(|path| !generated.contains(path))
        .collect()
}

/// The code cells a to-type variant of `notebook` empties for the class to type:
/// those with code and without the tag `keep`.
pub fn emptied_cells(notebook: &Value) -> Vec<usize> {
    let cells = notebook["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    (0..cells.len())
        .filter(|&i| {
            let cell = &cells[i];
            let keep = cell["metadata"]["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == KEEP));
            cell["cell_type"] == "code" && !keep
        })
        .collect()
}

/// `notebook` with every code cell not tagged `keep` emptied.
pub fn generate(notebook: &Value) -> Value {
    let mut variant = notebook.clone();
    for index in emptied_cells(notebook) {
        let cell = &mut variant["cells"][index];
        cell["source"] = Value::String(String::new());
        cell["outputs"] = Value::Array(Vec::new());
        cell["execution_count"] = Value::Null;
    }
    variant
}

/// The notebook as Jupyter itself saves it (sorted keys, one-space indent), so that
/// opening and saving a generated notebook changes nothing.
pub fn render(notebook: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(notebook, &mut serializer).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8") + "\n"
}

fn load(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
}

/// A generated file's content: a notebook, or a copied file's text.
#[derive(Debug, PartialEq)]
enum Content {
    Notebook(Value),
    Text(String),
}

impl Variant {
    /// What the variant should contain.
    fn expected(&self) -> Result<Content, String> {
        Ok(match self.how {
            How::Complete(language) => {
                Content::Notebook(in_language(&load(&self.source)?, language))
            }
            How::ToType(language) => {
                Content::Notebook(generate(&in_language(&load(&self.source)?, language)))
            }
            How::Copy => Content::Text(
                fs::read_to_string(&self.source)
                    .map_err(|e| format!("{}: {e}", self.source.display()))?,
            ),
        })
    }

    fn committed(&self) -> Result<Content, String> {
        Ok(match self.how {
            How::Copy => Content::Text(
                fs::read_to_string(&self.target)
                    .map_err(|e| format!("{}: {e}", self.target.display()))?,
            ),
            _ => Content::Notebook(load(&self.target)?),
        })
    }

    /// The committed variant is what its source generates (a notebook's formatting
    /// aside).
    pub fn check_current(&self) -> Check {
        let expected = self.expected()?;
        let committed = self.committed().map_err(|e| {
            format!("{e}\nregenerate the languages' notebooks with `cargo variants`")
        })?;
        if committed == expected {
            return Ok(());
        }
        let differs = match (&committed, &expected) {
            (Content::Notebook(have), Content::Notebook(want)) => first_difference(have, want),
            _ => "its text".to_owned(),
        };
        Err(format!(
            "{} differs from what {} generates ({differs}); regenerate it with `cargo variants` \
             (edit the source, not the generated file)",
            self.target.display(),
            self.source.display()
        ))
    }

    /// Writes the variant; returns whether its content changed.
    pub fn write(&self) -> Result<bool, String> {
        let expected = self.expected()?;
        if self.committed().is_ok_and(|current| current == expected) {
            return Ok(false);
        }
        let folder = self.target.parent().expect("variants live in a folder");
        fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let text = match &expected {
            Content::Notebook(notebook) => render(notebook),
            Content::Text(text) => text.clone(),
        };
        fs::write(&self.target, text).map_err(|e| format!("{}: {e}", self.target.display()))?;
        Ok(true)
    }
}

fn first_difference(committed: &Value, expected: &Value) -> String {
    let (Some(have), Some(want)) = (committed["cells"].as_array(), expected["cells"].as_array())
    else {
        return "no cells".to_owned();
    };
    if let Some(i) = (0..have.len().min(want.len())).find(|&i| have[i] != want[i]) {
        return format!("cell {i} first");
    }
    if have.len() != want.len() {
        return format!("{} cells instead of {}", have.len(), want.len());
    }
    "notebook metadata".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::languages::tests::bilingual;
    use crate::languages::{in_language, without_language};
    use serde_json::json;

    #[test]
    fn empties_code_cells_except_kept_ones() {
        let source = in_language(&bilingual(), Language::En);
        let variant = generate(&source);
        assert_eq!(variant["cells"][0], source["cells"][0]);
        assert_eq!(variant["cells"][1], source["cells"][1]);
        assert_eq!(variant["cells"][2]["source"], "");
        assert_eq!(
            variant["cells"][2]["metadata"],
            source["cells"][2]["metadata"]
        );
    }

    #[test]
    fn names_without_their_language() {
        assert_eq!(
            without_language(Path::new("de/slides/x.ipynb")),
            Path::new("slides/x.ipynb")
        );
        assert_eq!(
            executed(Path::new("source/workshops/w.ipynb")),
            Some(PathBuf::from("en/solutions/w.ipynb"))
        );
        assert_eq!(executed(Path::new("en/slides/x.ipynb")), None);
    }

    #[test]
    fn renders_like_jupyter() {
        let rendered = render(&json!({"b": [], "a": {"x": "é"}}));
        assert_eq!(
            rendered,
            "{\n \"a\": {\n  \"x\": \"é\"\n },\n \"b\": []\n}\n"
        );
    }

    #[test]
    fn names_the_first_differing_cell() {
        let a = json!({"cells": [1, 2, 3]});
        let b = json!({"cells": [1, 5, 3]});
        assert_eq!(first_difference(&a, &b), "cell 1 first");
    }

    #[test]
    fn a_stale_variant_fails_until_regenerated() {
        let dir = std::env::temp_dir().join(format!("variants-{}", std::process::id()));
        let notebooks = dir.join("notebooks");
        let source = notebooks.join("source/topics/a.ipynb");
        fs::create_dir_all(source.parent().unwrap()).unwrap();
        fs::write(notebooks.join("source/rise.css"), "/* css */\n").unwrap();
        fs::write(&source, render(&bilingual())).unwrap();
        let all = variants(&notebooks);
        assert_eq!(all.len(), 2 * (2 + 2));
        for variant in &all {
            assert!(
                variant
                    .check_current()
                    .unwrap_err()
                    .to_string()
                    .contains("cargo variants")
            );
            assert!(variant.write().unwrap());
            assert!(variant.check_current().is_ok());
            assert!(!variant.write().unwrap());
        }
        fs::write(&source, render(&json!({"cells": [], "metadata": {}}))).unwrap();
        assert!(
            all[0]
                .check_current()
                .unwrap_err()
                .to_string()
                .contains("3 cells instead of 0")
        );
        fs::write(notebooks.join("en/slides/old.ipynb"), "{}").unwrap();
        assert_eq!(orphans(&notebooks), [notebooks.join("en/slides/old.ipynb")]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
