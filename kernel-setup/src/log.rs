//! The end of a log file, which is what a failure report quotes.

use std::path::Path;

/// The last `count` lines of the file at `path` (fewer if it is shorter; empty if it
/// cannot be read, since a report quoting it should still be made).
pub fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_in_order() {
        let path = std::env::temp_dir().join(format!("last-lines-{}", std::process::id()));
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(last_lines(&path, 2), "b\nc");
        assert_eq!(last_lines(&path, 10), "a\nb\nc");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(last_lines(&path, 2), "");
    }
}
