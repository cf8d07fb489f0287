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

use kernel_setup::Language;
use notebook_harness::Check;
use serde_json::Value;
use std::collections::HashMap;
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

/// `name` (below `notebooks/`) without its language folder: `de/slides/X.ipynb` gives
/// `slides/X.ipynb`, the name the claims know a notebook by in every language.
pub fn without_language(name: &Path) -> &Path {
    Language::ALL
        .iter()
        .find_map(|l| name.strip_prefix(l.code()).ok())
        .unwrap_or(name)
}

/// Whether `name` (below `notebooks/`) is a to-type notebook (code-along or exercise).
/// It cannot run as committed: its given cells use what the class types or the learner
/// writes. `Variant::check_current` proves instead that it is its (executed,
/// claim-checked) complete notebook with those cells emptied, and `cargo rehearse`
/// runs a topic as an instructor presents its code-along.
pub fn is_to_type(name: &Path) -> bool {
    KINDS
        .iter()
        .any(|k| without_language(name).starts_with(k.to_type))
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

/// The language a cell is written in, if any (code cells have none).
pub fn cell_language(cell: &Value) -> Option<&str> {
    cell["metadata"]["lang"].as_str()
}

/// `source` in `language`: its cells in that language and those in none.
pub fn in_language(source: &Value, language: Language) -> Value {
    let mut notebook = source.clone();
    if let Some(cells) = notebook["cells"].as_array_mut() {
        cells.retain(|cell| cell_language(cell).is_none_or(|l| l == language.code()));
    }
    notebook
}

/// Checks that a source pairs its languages: every markdown cell is in a language of
/// the course, each English one is followed by its German partner (the same `pair`,
/// the same slide type, a text of its own), and code cells carry no language.
pub fn check_languages(source: &Value) -> Check {
    let cells = source["cells"]
        .as_array()
        .ok_or("the notebook has no cells")?;
    let mut pairs: HashMap<&str, Vec<&str>> = HashMap::new();
    for (index, cell) in cells.iter().enumerate() {
        let first_line = text(cell).lines().next().unwrap_or_default().to_owned();
        let at = format!("cell {index} (`{first_line}`)");
        match (cell["cell_type"].as_str(), cell_language(cell)) {
            (Some("markdown"), None) => {
                return Err(format!(
                    "{at} is markdown without a language: mark it \"lang\": \"en\" and add its German partner after it"
                ));
            }
            (Some("markdown"), Some(code)) => {
                let language = Language::from_code(code).map_err(|e| format!("{at}: {e}"))?;
                let pair = cell["metadata"]["pair"]
                    .as_str()
                    .ok_or_else(|| format!("{at} has no metadata \"pair\" naming its partner"))?;
                pairs.entry(pair).or_default().push(language.code());
                if language != Language::En {
                    continue;
                }
                let partner = cells
                    .get(index + 1)
                    .filter(|next| {
                        cell_language(next) == Some(Language::De.code())
                            && next["metadata"]["pair"] == cell["metadata"]["pair"]
                    })
                    .ok_or_else(|| {
                        format!("{at} is not followed by its German partner (\"lang\": \"de\", \"pair\": \"{pair}\")")
                    })?;
                if partner["metadata"]["slideshow"] != cell["metadata"]["slideshow"] {
                    return Err(format!(
                        "the German partner of {at} is on another kind of slide: give it the English cell's slideshow metadata"
                    ));
                }
                if text(partner).trim() == text(cell).trim() {
                    return Err(format!("the German partner of {at} is the English text"));
                }
            }
            (_, Some(code)) => {
                return Err(format!(
                    "{at} is code marked \"lang\": \"{code}\": code cells are shared by both languages"
                ));
            }
            (_, None) => {}
        }
    }
    if let Some((pair, languages)) = pairs.iter().find(|(_, l)| l.as_slice() != ["en", "de"]) {
        return Err(format!(
            "pair \"{pair}\" has the cells {languages:?}: each pair is one English cell and one German cell"
        ));
    }
    Ok(())
}

/// Checks that two notebooks of one source in different languages have the same code
/// cells, in the same order.
pub fn check_same_code(a: &Value, b: &Value) -> Check {
    let code = |notebook: &Value| -> Vec<String> {
        notebook["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["cell_type"] == "code")
            .map(text)
            .collect()
    };
    let (a, b) = (code(a), code(b));
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        return Err(format!(
            "code cell {i} differs: `{}`",
            a[i].lines().next().unwrap_or("")
        ));
    }
    if a.len() != b.len() {
        return Err(format!("{} code cells against {}", a.len(), b.len()));
    }
    Ok(())
}

fn text(cell: &Value) -> String {
    match &cell["source"] {
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
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
    use serde_json::json;

    fn markdown(lang: &str, pair: &str, text: &str) -> Value {
        json!({"cell_type": "markdown", "metadata": {"lang": lang, "pair": pair,
            "slideshow": {"slide_type": "slide"}}, "source": text})
    }

    fn code(text: &str, tags: &[&str]) -> Value {
        json!({"cell_type": "code", "metadata": {"tags": tags}, "source": text,
            "outputs": [], "execution_count": null})
    }

    fn bilingual() -> Value {
        json!({"cells": [
            markdown("en", "a", "# Title"),
            markdown("de", "a", "# Titel"),
            code(":dep x", &["keep"]),
            code("let a = 1;", &["raises-exception"]),
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    }

    #[test]
    fn each_language_gets_its_markdown_and_the_shared_code() {
        let source = bilingual();
        let german = in_language(&source, Language::De);
        let cells = german["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0]["source"], "# Titel");
        assert_eq!(cells[1..], source["cells"].as_array().unwrap()[2..]);
        let english = in_language(&source, Language::En);
        assert_eq!(english["cells"][0]["source"], "# Title");
        assert!(check_same_code(&english, &german).is_ok());
    }

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
    fn a_source_must_pair_every_markdown_cell() {
        assert!(check_languages(&bilingual()).is_ok());
        let with = |change: &dyn Fn(&mut Value)| {
            let mut source = bilingual();
            change(&mut source);
            check_languages(&source).unwrap_err().to_string()
        };
        let missing = with(&|s| {
            s["cells"].as_array_mut().unwrap().remove(1);
        });
        assert!(
            missing.contains("not followed by its German partner"),
            "{missing}"
        );
        let untranslated = with(&|s| s["cells"][1]["source"] = json!("# Title"));
        assert!(
            untranslated.contains("is the English text"),
            "{untranslated}"
        );
        let unmarked = with(&|s| {
            s["cells"][0]["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("lang");
        });
        assert!(
            unmarked.contains("markdown without a language"),
            "{unmarked}"
        );
        let other_slide =
            with(&|s| s["cells"][1]["metadata"]["slideshow"]["slide_type"] = json!("fragment"));
        assert!(
            other_slide.contains("another kind of slide"),
            "{other_slide}"
        );
        let code_in_german = with(&|s| s["cells"][2]["metadata"]["lang"] = json!("de"));
        assert!(
            code_in_german.contains("code cells are shared"),
            "{code_in_german}"
        );
        let unknown = with(&|s| s["cells"][1]["metadata"]["lang"] = json!("fr"));
        assert!(
            unknown.contains("--lang fr") || unknown.contains("not followed"),
            "{unknown}"
        );
        let twice = with(&|s| {
            let extra = markdown("de", "a", "# Noch ein Titel");
            s["cells"].as_array_mut().unwrap().insert(2, extra);
        });
        assert!(twice.contains("pair \"a\""), "{twice}");
    }

    #[test]
    fn code_must_be_the_same_in_both_languages() {
        let english = in_language(&bilingual(), Language::En);
        let mut german = in_language(&bilingual(), Language::De);
        german["cells"][2]["source"] = json!("let a = 2;");
        assert!(
            check_same_code(&english, &german)
                .unwrap_err()
                .to_string()
                .contains("code cell 1 differs")
        );
    }

    #[test]
    fn names_without_their_language() {
        assert_eq!(
            without_language(Path::new("de/slides/x.ipynb")),
            Path::new("slides/x.ipynb")
        );
        assert!(is_to_type(Path::new("de/codealong/x.ipynb")));
        assert!(!is_to_type(Path::new("en/slides/x.ipynb")));
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
