//! The course's own claims and commands, on top of the notebook harness
//! (`notebook_harness`): what each notebook must show when executed ([`claims`]), the
//! notebooks each language gets from one bilingual source ([`variants`]), the rules
//! that source keeps ([`languages`]), the workshops' checks tried both ways ([`exercises`]), the handouts
//! ([`handouts`]) and a class served by `cargo hub` ([`class`]), for the hub trials and
//! the classroom benchmark.

pub mod catalog;
pub mod claims;
pub mod class;
pub mod exercises;
pub mod handouts;
pub mod languages;
pub mod setup;
pub mod variants;
