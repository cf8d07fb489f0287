//! The languages the course is written in. Each notebook has one bilingual source
//! (`notebooks/source/`); every language gets its own generated tree below
//! `notebooks/`, named by its code, with the same file names.

use std::fmt;

/// A language of the course: its generated notebooks live in `notebooks/<code>/`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English, the default.
    #[default]
    En,
    /// German, the original course's main audience.
    De,
}

impl Language {
    /// Every language, the default first.
    pub const ALL: [Language; 2] = [Language::En, Language::De];

    /// The code used in cell metadata (`"lang": "de"`) and as the folder's name.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
        }
    }

    /// The language whose code is `code` (the value of a `--lang` option).
    pub fn from_code(code: &str) -> Result<Language, String> {
        Language::ALL
            .into_iter()
            .find(|l| l.code() == code)
            .ok_or_else(|| {
                format!("--lang {code}: the course is written in en (English) and de (German)")
            })
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_a_wrong_one_says_which_exist() {
        for language in Language::ALL {
            assert_eq!(Language::from_code(language.code()), Ok(language));
        }
        assert_eq!(
            Language::from_code("fr").unwrap_err(),
            "--lang fr: the course is written in en (English) and de (German)"
        );
    }
}
