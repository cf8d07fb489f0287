//! The handouts' index page: one row per notebook, a column group per language.

use super::NotebookHandouts;
use crate::variants::TOPICS;
use kernel_setup::Language;
use std::fmt::Write as _;
use std::path::Path;

/// The index page: one row per notebook, in the course's order (by name), with a
/// column group per language.
pub(super) fn index_page(built: &[NotebookHandouts]) -> String {
    let link = |path: &Path, text: &str| {
        format!(
            "<a href=\"{}\">{}</a>",
            escape(&path.to_string_lossy()),
            escape(text)
        )
    };
    let mut rows = String::new();
    for notebook in built {
        let stem = notebook
            .name
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let _ = write!(rows, "<tr><td>{}</td>", escape(&stem));
        for handout in &notebook.languages {
            let words = Words::of(handout.language);
            let kind = if handout
                .to_type
                .components()
                .any(|c| c.as_os_str() == TOPICS.to_type)
            {
                words.codealong
            } else {
                words.exercise
            };
            let _ = write!(
                rows,
                "<td>{}</td><td>{}</td><td>{}</td>",
                link(&handout.html, words.read),
                handout
                    .slides
                    .as_deref()
                    .map_or_else(String::new, |s| link(s, words.slides)),
                link(&handout.to_type, &format!("{kind} (.ipynb)")),
            );
        }
        rows.push_str("</tr>\n");
    }
    let mut heads = String::new();
    let mut columns = String::new();
    for language in Language::ALL {
        let words = Words::of(language);
        let _ = write!(
            heads,
            "<th colspan=\"3\" lang=\"{language}\">{}</th>",
            words.name
        );
        let _ = write!(
            columns,
            "<th lang=\"{language}\">{}</th><th lang=\"{language}\">{}</th><th lang=\"{language}\">{}</th>",
            words.read_head, words.present_head, words.hand_out_head
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Concurrency in Rust: handouts</title>
<style>
body {{ font-family: sans-serif; max-width: 72em; margin: 2em auto; line-height: 1.5; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.4em 1em; text-align: left; }}
</style>
</head>
<body>
<h1>Concurrency in Rust: handouts</h1>
<p>Each notebook as executed, with its outputs and timeline pictures, to read without a
kernel; the slides of each topic (reveal.js, shipped in <code>js/</code>: they open
without a network); and the notebooks learners type into. Those run on the Rust Jupyter
kernel (<a href="https://github.com/evcxr/evcxr">evcxr</a>) and load the support crate
from <code>crate/</code> in this folder: hand out the folder whole.</p>
<p lang="de">Jedes Notebook ausgeführt, mit Ausgaben und Zeitleisten, zum Lesen ohne
Kernel; die Folien jedes Themas (reveal.js liegt in <code>js/</code>: sie öffnen sich
auch ohne Netz); und die Notebooks zum Mitschreiben. Diese laufen auf dem
Rust-Jupyter-Kernel (evcxr) und laden die Hilfs-Crate aus <code>crate/</code> in diesem
Ordner: geben Sie den ganzen Ordner weiter.</p>
<table>
<tr><th></th>{heads}</tr>
<tr><th>Notebook</th>{columns}</tr>
{rows}</table>
</body>
</html>
"#
    )
}

/// The index page's words in one language.
struct Words {
    name: &'static str,
    read_head: &'static str,
    present_head: &'static str,
    hand_out_head: &'static str,
    read: &'static str,
    slides: &'static str,
    codealong: &'static str,
    exercise: &'static str,
}

impl Words {
    fn of(language: Language) -> Words {
        match language {
            Language::En => Words {
                name: "English",
                read_head: "Read",
                present_head: "Present",
                hand_out_head: "Hand out",
                read: "with outputs",
                slides: "slides",
                codealong: "code-along",
                exercise: "exercise",
            },
            Language::De => Words {
                name: "Deutsch",
                read_head: "Lesen",
                present_head: "Präsentieren",
                hand_out_head: "Austeilen",
                read: "mit Ausgaben",
                slides: "Folien",
                codealong: "Code-Along",
                exercise: "Übung",
            },
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handouts::Handout;

    #[test]
    fn the_index_links_each_handout_in_each_language() {
        let topic = |language: Language| Handout {
            language,
            html: format!("read/{language}/slides/topic_410_concurrency.html").into(),
            slides: Some(format!("slides/{language}/topic_410_concurrency.slides.html").into()),
            to_type: format!("notebooks/{language}/codealong/topic_410_concurrency.ipynb").into(),
        };
        let workshop = |language: Language| Handout {
            language,
            html: format!("read/{language}/solutions/workshop_410_concurrency.html").into(),
            slides: None,
            to_type: format!("notebooks/{language}/workshops/workshop_410_concurrency.ipynb")
                .into(),
        };
        let page = index_page(&[
            NotebookHandouts {
                name: "en/slides/topic_410_concurrency.ipynb".into(),
                languages: Language::ALL.into_iter().map(topic).collect(),
            },
            NotebookHandouts {
                name: "en/solutions/workshop_410_concurrency.ipynb".into(),
                languages: Language::ALL.into_iter().map(workshop).collect(),
            },
        ]);
        for expected in [
            r#"<a href="read/en/slides/topic_410_concurrency.html">with outputs</a>"#,
            r#"<a href="slides/en/topic_410_concurrency.slides.html">slides</a>"#,
            r#"<a href="notebooks/en/codealong/topic_410_concurrency.ipynb">code-along (.ipynb)</a>"#,
            r#"<a href="notebooks/en/workshops/workshop_410_concurrency.ipynb">exercise (.ipynb)</a>"#,
            r#"<a href="read/de/slides/topic_410_concurrency.html">mit Ausgaben</a>"#,
            r#"<a href="slides/de/topic_410_concurrency.slides.html">Folien</a>"#,
            r#"<a href="notebooks/de/codealong/topic_410_concurrency.ipynb">Code-Along (.ipynb)</a>"#,
            r#"<a href="notebooks/de/workshops/workshop_410_concurrency.ipynb">Übung (.ipynb)</a>"#,
        ] {
            assert!(page.contains(expected), "{expected} missing from\n{page}");
        }
    }
}
