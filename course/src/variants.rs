//! Code-along and exercise notebooks, generated from the complete ones so that the two
//! never drift apart.
//!
//! `slides/X.ipynb` gives `codealong/X.ipynb` and `solutions/X.ipynb` gives
//! `workshops/X.ipynb`: markdown stays, code cells tagged `keep` (set-up and given
//! code) stay, and every other code cell is emptied for the class to type.

use notebook_harness::Check;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Folders below `notebooks/`: (complete source, generated variant).
pub const FOLDERS: [(&str, &str); 2] = [("slides", "codealong"), ("solutions", "workshops")];

/// Whether `name` (a path below `notebooks/`) is generated from a complete notebook
/// (code-along or exercise). It cannot run as committed: its given cells use what the
/// class types or the learner writes. `Variant::check_current` proves instead that it
/// is its (executed, claim-checked) complete notebook with those cells emptied, and
/// `cargo rehearse` runs a code-along as an instructor presents it.
pub fn is_generated(name: &Path) -> bool {
    FOLDERS.iter().any(|(_, to)| name.starts_with(to))
}

/// The cell tag that keeps a code cell in the generated variant.
pub const KEEP: &str = "keep";

/// A generated notebook and the complete one it comes from.
#[derive(Debug, Clone)]
pub struct Variant {
    pub source: PathBuf,
    pub target: PathBuf,
}

/// Every variant that the complete notebooks below `notebooks` call for.
pub fn variants(notebooks: &Path) -> Vec<Variant> {
    FOLDERS
        .iter()
        .flat_map(|(from, to)| {
            crate::catalog::notebooks_under(&notebooks.join(from))
                .into_iter()
                .map(move |name| Variant {
                    source: notebooks.join(from).join(&name),
                    target: notebooks.join(to).join(&name),
                })
        })
        .collect()
}

/// Generated notebooks that no complete notebook accounts for (left over after a rename).
pub fn orphans(notebooks: &Path) -> Vec<PathBuf> {
    FOLDERS
        .iter()
        .flat_map(|(from, to)| {
            crate::catalog::notebooks_under(&notebooks.join(to))
                .into_iter()
                .filter(move |name| !notebooks.join(from).join(name).exists())
                .map(move |name| notebooks.join(to).join(name))
        })
        .collect()
}

/// The code cells a variant of `notebook` empties for the class to type: those with
/// code and without the tag `keep`.
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

impl Variant {
    /// What the variant should contain.
    pub fn expected(&self) -> Result<Value, String> {
        load(&self.source).map(|source| generate(&source))
    }

    /// The committed variant is what its source generates (formatting aside).
    pub fn check_current(&self) -> Check {
        let expected = self.expected()?;
        let committed = load(&self.target).map_err(|e| {
            format!("{e}\nregenerate the code-along and exercise notebooks with `cargo variants`")
        })?;
        if committed == expected {
            return Ok(());
        }
        let differs = first_difference(&committed, &expected);
        Err(format!(
            "{} differs from what {} generates ({differs}); regenerate it with `cargo variants` \
             (edit the complete notebook, not the variant)",
            self.target.display(),
            self.source.display()
        ))
    }

    /// Writes the variant; returns whether its content changed.
    pub fn write(&self) -> Result<bool, String> {
        let expected = self.expected()?;
        if load(&self.target).is_ok_and(|current| current == expected) {
            return Ok(false);
        }
        let folder = self.target.parent().expect("variants live in a folder");
        fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        fs::write(&self.target, render(&expected))
            .map_err(|e| format!("{}: {e}", self.target.display()))?;
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

    #[test]
    fn empties_code_cells_except_kept_ones() {
        let source = json!({"cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
            {"cell_type": "code", "metadata": {"tags": ["keep"]}, "source": ":dep x", "outputs": [], "execution_count": null},
            {"cell_type": "code", "metadata": {"tags": ["raises-exception"]}, "source": "let a = 1;", "outputs": [], "execution_count": null}
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
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
        let variant = Variant {
            source: dir.join("slides/a.ipynb"),
            target: dir.join("codealong/a.ipynb"),
        };
        fs::create_dir_all(dir.join("slides")).unwrap();
        let source = json!({"cells": [{"cell_type": "code", "metadata": {}, "source": "1 + 1",
            "outputs": [], "execution_count": null}], "metadata": {}});
        fs::write(&variant.source, render(&source)).unwrap();
        assert!(
            variant
                .check_current()
                .unwrap_err()
                .contains("cargo variants")
        );
        assert!(variant.write().unwrap());
        assert!(variant.check_current().is_ok());
        assert!(!variant.write().unwrap());
        fs::write(
            &variant.source,
            render(&json!({"cells": [], "metadata": {}})),
        )
        .unwrap();
        assert!(
            variant
                .check_current()
                .unwrap_err()
                .contains("1 cells instead of 0")
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
