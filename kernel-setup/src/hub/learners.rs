//! The learners file: one account name per line.

use crate::error::{Result, SetupError};
use std::fs;
use std::path::Path;

/// Whether `name` is a learner name the hub accepts: what `useradd` takes, short
/// enough for a system account, and not a name JupyterHub would change.
pub fn check_learner_name(name: &str) -> Result<()> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(SetupError::new(format!(
            "cargo hub: learner name {name:?} is not usable as an account: use lower-case letters, digits, - and _ (at most 32, starting with a letter)"
        )))
    }
}

/// The learner names in a file: one per line; blank lines and `#` comments ignored.
pub fn read_learners(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).map_err(|e| {
        SetupError::new(format!(
            "cargo hub: cannot read the learners file {}: {e}",
            path.display()
        ))
    })?;
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        check_learner_name(name)?;
        if names.iter().any(|n| n == name) {
            return Err(SetupError::new(format!(
                "cargo hub: learner {name:?} is listed twice in {}",
                path.display()
            )));
        }
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err(SetupError::new(format!(
            "cargo hub: {} lists no learners: write one account name per line",
            path.display()
        )));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_names_that_make_safe_accounts() {
        for good in ["alice", "bob-2", "c_d"] {
            assert!(check_learner_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Alice",
            "2bob",
            "a b",
            "../x",
            "root:0",
            &"a".repeat(33),
        ] {
            let error = check_learner_name(bad).unwrap_err().to_string();
            assert!(error.starts_with("cargo hub: learner name"), "{error}");
        }
    }

    #[test]
    fn a_learners_file_with_comments_and_its_errors() {
        let dir = std::env::temp_dir().join(format!("learners-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("learners.txt");
        fs::write(&file, "# class of Monday\nalice\n\nbob  # late\n").unwrap();
        assert_eq!(read_learners(&file).unwrap(), ["alice", "bob"]);
        fs::write(&file, "alice\nalice\n").unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        fs::write(&file, "# nobody\n").unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("lists no learners")
        );
        fs::remove_dir_all(&dir).unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
