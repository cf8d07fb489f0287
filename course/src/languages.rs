//! The two languages of one source: which cells are in which language, the notebook
//! a language gets, and the rules a bilingual source keeps (every English markdown
//! cell followed by its German partner; code shared).

use kernel_setup::Language;
use notebook_harness::Check;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// `name` (below `notebooks/`) without its language folder: `de/slides/X.ipynb` gives
/// `slides/X.ipynb`, the name the claims know a notebook by in every language.
pub fn without_language(name: &Path) -> &Path {
    Language::ALL
        .iter()
        .find_map(|l| name.strip_prefix(l.code()).ok())
        .unwrap_or(name)
}

/// The language a cell is written in, if any (code cells have none).
fn cell_language(cell: &Value) -> Option<&str> {
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

#[cfg(test)]
pub(crate) mod tests {
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

    pub(crate) fn bilingual() -> Value {
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
}
