//! What is wrong and where: the findings ([`kinds`]), their stable rule ids
//! and locations ([`rule`]), and their messages ([`message`]).

mod kinds;
mod message;
mod rule;

pub use kinds::{InstructionSite, Location, SectionProblem, Violation};
