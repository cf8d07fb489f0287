//! A picture a cell displayed as SVG (a thread timeline), read as the browser would.

use std::collections::BTreeMap;

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// A well-formed SVG document: its root's attributes and what it draws.
#[derive(Debug, Clone)]
pub struct Picture {
    pub attributes: BTreeMap<String, String>,
    /// How many `<rect>` elements it has (bars, legend swatches, the background).
    pub rects: usize,
    /// Its text elements, in document order (title, lane names, axis numbers, legend).
    pub texts: Vec<String>,
    /// Its `<title>` elements, the tooltips of its bars (`request: 0.1–152.3 ms`).
    pub titles: Vec<String>,
}

impl Picture {
    /// Parses `svg`, or says what makes it unusable: not XML, not SVG, or without the
    /// size a notebook front end needs to lay it out.
    pub fn parse(svg: &str) -> Result<Picture, String> {
        let document = roxmltree::Document::parse(svg)
            .map_err(|e| format!("the SVG is not well-formed XML: {e}"))?;
        let root = document.root_element();
        if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NAMESPACE) {
            return Err(format!(
                "the picture's root is <{}> in namespace {:?}, not <svg> in {SVG_NAMESPACE}",
                root.tag_name().name(),
                root.tag_name().namespace()
            ));
        }
        for size in ["width", "height", "viewBox"] {
            if root.attribute(size).is_none() {
                return Err(format!("the <svg> has no `{size}`"));
            }
        }
        let elements = || root.descendants().filter(|n| n.is_element());
        Ok(Picture {
            attributes: root
                .attributes()
                .map(|a| (a.name().to_owned(), a.value().to_owned()))
                .collect(),
            rects: elements().filter(|n| n.has_tag_name("rect")).count(),
            texts: elements()
                .filter(|n| n.has_tag_name("text"))
                .map(|n| n.text().unwrap_or_default().to_owned())
                .collect(),
            titles: elements()
                .filter(|n| n.has_tag_name("title"))
                .map(|n| n.text().unwrap_or_default().to_owned())
                .collect(),
        })
    }

    /// The root attribute `name` as a number, e.g. a timeline's `data-lanes`.
    pub fn number(&self, name: &str) -> Result<f64, String> {
        let value = self
            .attributes
            .get(name)
            .ok_or_else(|| format!("the picture has no `{name}` attribute"))?;
        value
            .parse()
            .map_err(|_| format!("the picture's `{name}` is `{value}`, not a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_timeline() {
        let picture = Picture::parse(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="800" height="100" viewBox="0 0 800 100" data-lanes="2"><rect/><text>main</text><g><rect/></g></svg>"#,
        )
        .unwrap();
        assert_eq!(picture.number("data-lanes").unwrap(), 2.0);
        assert_eq!(picture.rects, 2);
        assert_eq!(picture.texts, ["main"]);
        assert!(picture.number("data-spans").is_err());
    }

    #[test]
    fn rejects_broken_or_foreign_documents() {
        let ns = r#"xmlns="http://www.w3.org/2000/svg" width="1" height="1" viewBox="0 0 1 1""#;
        let unclosed = format!("<svg {ns}><rect></svg>");
        assert!(
            Picture::parse(&unclosed)
                .unwrap_err()
                .contains("not well-formed")
        );
        assert!(Picture::parse("<svg/>").unwrap_err().contains("namespace"));
        let html = r#"<html xmlns="http://www.w3.org/2000/svg"/>"#;
        assert!(Picture::parse(html).unwrap_err().contains("<html>"));
        let sizeless = r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#;
        assert!(Picture::parse(sizeless).unwrap_err().contains("width"));
    }
}
