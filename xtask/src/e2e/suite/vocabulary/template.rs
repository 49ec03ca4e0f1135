//! A console line as the purgatory's own library renders it, with holes
//! where a value cannot be known before the run (the TSC ticks, a computed
//! digest): the line is rendered with a sentinel there and split at it, so
//! no word of the purgatory's text is typed here.

use purgatory::text::{Sink, decimal, hex_bytes};
use purgatory_abi::Sha256Digest;
use std::fmt;

/// Where the value is not known in advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// A decimal number.
    Decimal,
    /// A SHA-256 digest in hex.
    Digest,
}

/// Pass these to the library where the value is unknown: the template finds
/// what they render to and turns it into a [`Hole`].
pub const UNKNOWN_NUMBER: u64 = u64::MAX;
pub const UNKNOWN_DIGEST: Sha256Digest = [0xa5; 32];

impl Hole {
    const ALL: [Self; 2] = [Self::Decimal, Self::Digest];

    /// What its sentinel renders to.
    fn sentinel(self) -> String {
        render(|out| match self {
            Self::Decimal => decimal(out, UNKNOWN_NUMBER),
            Self::Digest => hex_bytes(out, &UNKNOWN_DIGEST),
        })
    }

    /// How long a value that fills it is, at the start of `text`.
    fn fill(self, text: &str) -> Option<usize> {
        match self {
            Self::Decimal => {
                let len = text
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(text.len());
                (len > 0).then_some(len)
            }
            Self::Digest => {
                let len = 2 * size_of::<Sha256Digest>();
                text.get(..len)?
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    .then_some(len)
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Decimal => "<number>",
            Self::Digest => "<digest>",
        }
    }
}

/// Where the library writes on the host.
#[derive(Debug, Default)]
pub struct Text(Vec<u8>);

impl Sink for Text {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// What the library writes, as the console receives it.
pub fn written(write: impl FnOnce(&mut Text)) -> String {
    let mut out = Text::default();
    write(&mut out);
    String::from_utf8_lossy(&out.0).into_owned()
}

/// What the library writes, without the line end.
pub fn render(write: impl FnOnce(&mut Text)) -> String {
    written(write).trim_end().to_owned()
}

/// A line with holes: `pieces[0] hole[0] pieces[1] … pieces[n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<String>,
    holes: Vec<Hole>,
}

impl Template {
    /// The line `write` renders, each sentinel in it a hole.
    pub fn rendered(write: impl FnOnce(&mut Text)) -> Self {
        let mut rest = render(write);
        let sentinels = Hole::ALL.map(|hole| (hole, hole.sentinel()));
        let (mut pieces, mut holes) = (Vec::new(), Vec::new());
        while let Some((at, hole, len)) = sentinels
            .iter()
            .filter_map(|(hole, text)| Some((rest.find(text.as_str())?, *hole, text.len())))
            .min_by_key(|(at, ..)| *at)
        {
            pieces.push(rest[..at].to_owned());
            holes.push(hole);
            rest = rest[at + len..].to_owned();
        }
        pieces.push(rest);
        Self { pieces, holes }
    }

    /// The values in the holes, if `line` is this line.
    pub fn matches<'a>(&self, line: &'a str) -> Option<Vec<&'a str>> {
        let (first, others) = self.pieces.split_first()?;
        let mut rest = line.strip_prefix(first.as_str())?;
        let mut values = Vec::new();
        for (hole, piece) in self.holes.iter().zip(others) {
            let (value, after) = rest.split_at(hole.fill(rest)?);
            values.push(value);
            rest = after.strip_prefix(piece.as_str())?;
        }
        rest.is_empty().then_some(values)
    }
}

/// The line with its holes named (`<number>`, `<digest>`).
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, piece) in self.pieces.iter().enumerate() {
            f.write_str(piece)?;
            if let Some(hole) = self.holes.get(at) {
                f.write_str(hole.name())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use purgatory::text::hex;

    #[test]
    fn holes_take_any_value_of_their_kind_and_nothing_else() {
        let template = Template::rendered(|out| {
            out.write(b"at ");
            hex(out, 0x1000);
            out.write(b": ");
            decimal(out, UNKNOWN_NUMBER);
            out.write(b" then ");
            hex_bytes(out, &UNKNOWN_DIGEST);
            out.write(b"\r\n");
        });
        let digest = "0123456789abcdef".repeat(4);
        assert_eq!(
            template.matches(&format!("at 0x1000: 42 then {digest}")),
            Some(vec!["42", digest.as_str()])
        );
        assert_eq!(
            template.matches(&format!("at 0x1001: 42 then {digest}")),
            None
        );
        assert_eq!(
            template.matches(&format!("at 0x1000:  then {digest}")),
            None
        );
        assert_eq!(
            template.matches(&format!("at 0x1000: 4x then {digest}")),
            None
        );
        assert_eq!(template.matches("at 0x1000: 42 then abc"), None);
        assert_eq!(
            template.matches(&format!("at 0x1000: 42 then {digest} ")),
            None
        );
        assert_eq!(template.to_string(), "at 0x1000: <number> then <digest>");
    }

    #[test]
    fn a_line_without_sentinels_is_matched_exactly() {
        let template = Template::rendered(|out| out.write(b"halting\r\n"));
        assert_eq!(template.matches("halting"), Some(vec![]));
        assert_eq!(template.matches("halting!"), None);
    }
}
