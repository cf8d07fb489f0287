//! Runs one notebook through the harness's nbclient driver (`harness/driver/`), within
//! timeouts, and turns its typed record into an [`Execution`] or a typed [`Failure`]:
//! [`launch`] runs the driver, [`record`] reads what it recorded, [`judge`] decides.

mod judge;
mod launch;
mod outcome;
mod record;
mod settings;

pub use outcome::{Execution, Failure, FailureKind};
pub use settings::Runner;

use crate::notebook::Notebook;
use launch::RunFiles;
use record::Record;
use std::path::Path;

impl Runner {
    /// Executes `source`, writing the executed copy, the driver's record (`.json`) and
    /// its log (`.log`) as `output_dir/name`.
    pub fn execute(&self, source: &Path, name: &Path) -> Result<Execution, Failure> {
        let fail = |kind: FailureKind, message: String| Failure::new(source, kind, None, message);
        let input = Notebook::load(source).map_err(|e| fail(FailureKind::Malformed, e))?;
        for cell in input.code_cells().filter(|c| c.expects_error()) {
            // A code-along leaves the cell empty for the class to type.
            if cell.expected_error_code().is_none() && !cell.source.trim().is_empty() {
                return Err(Failure::new(
                    source,
                    FailureKind::ExpectedErrorUnnamed,
                    Some(cell),
                    "is tagged `raises-exception` but names no error code; say in a comment which error it shows, e.g. `// error[E0499]`".to_owned(),
                ));
            }
        }
        let files = RunFiles::new(&self.output_dir, name);
        let launched =
            launch::launch(self, source, name, &files).map_err(|e| fail(FailureKind::Driver, e))?;
        let record = Record::read(&files.record).map_err(|e| {
            fail(
                FailureKind::Driver,
                format!(
                    "the driver left no readable record ({e}); its log ({}) ends:\n{}",
                    files.log.display(),
                    kernel_setup::last_lines(&files.log, 20)
                ),
            )
        })?;
        let executed = record
            .apply_to(input)
            .map_err(|e| fail(FailureKind::Driver, format!("the driver's record: {e}")))?;
        judge::judge(self, source, &files.log, launched, record, executed)
    }
}
