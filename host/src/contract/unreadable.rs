//! The verdict on bytes that cannot be read as an ELF file at all.

use alloc::string::String;
use core::fmt;

/// Why a file could not be read as an ELF at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    message: String,
}

impl Unreadable {
    /// An unreadable verdict with the reason, for callers that parse further.
    pub fn new(message: String) -> Self {
        Self { message }
    }

    /// The reason, as a sentence fragment.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for Unreadable {}
