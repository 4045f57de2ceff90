//! Byte offsets to line/character positions in the encoding a client asks for.
//!
//! Diagnostics keep byte spans; LSP and JavaScript want UTF-16 code units, some editors UTF-8 or
//! UTF-32. Conversion happens only at the edges, through a [`LineIndex`] built once per file.

use serde::{Deserialize, Serialize};

/// How the `character` of a [`Position`] is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    #[serde(alias = "utf8")]
    Utf8,
    /// UTF-16 code units, as LSP and JavaScript count them.
    #[default]
    #[serde(alias = "utf16")]
    Utf16,
    /// Unicode scalar values.
    #[serde(alias = "utf32")]
    Utf32,
}

/// A 0-based line and character, LSP style.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// A half-open range of positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// A half-open byte range in one file.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Start offsets of every line. `\n`, `\r\n` and a lone `\r` each end a line, as in LSP.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<u32>,
    ascii: bool,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line_starts.push(i as u32 + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    line_starts.push(i as u32 + 2);
                    i += 1;
                }
                b'\r' => line_starts.push(i as u32 + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex {
            line_starts,
            ascii: text.is_ascii(),
        }
    }

    /// The position of byte `offset`, clamped to the text and to a character boundary.
    pub fn position(&self, text: &str, offset: u32, encoding: PositionEncoding) -> Position {
        let offset = clamp_to_char_boundary(text, offset as usize);
        let line = self
            .line_starts
            .partition_point(|&start| start as usize <= offset)
            - 1;
        let line_start = self.line_starts[line] as usize;
        let prefix = &text[line_start..offset];
        let character = if self.ascii {
            prefix.len()
        } else {
            match encoding {
                PositionEncoding::Utf8 => prefix.len(),
                PositionEncoding::Utf16 => prefix.encode_utf16().count(),
                PositionEncoding::Utf32 => prefix.chars().count(),
            }
        };
        Position {
            line: line as u32,
            character: character as u32,
        }
    }

    pub fn range(&self, text: &str, span: Span, encoding: PositionEncoding) -> Range {
        Range {
            start: self.position(text, span.start, encoding),
            end: self.position(text, span.end, encoding),
        }
    }

    /// The byte offset of a position; the inverse of [`LineIndex::position`].
    pub fn offset(&self, text: &str, position: Position, encoding: PositionEncoding) -> u32 {
        let Some(&line_start) = self.line_starts.get(position.line as usize) else {
            return text.len() as u32;
        };
        let line_end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(text.len(), |&next| next as usize);
        let line = &text[line_start as usize..line_end];
        let mut counted = 0u32;
        for (byte, ch) in line.char_indices() {
            if counted >= position.character {
                return line_start + byte as u32;
            }
            counted += match encoding {
                PositionEncoding::Utf8 => ch.len_utf8() as u32,
                PositionEncoding::Utf16 => ch.len_utf16() as u32,
                PositionEncoding::Utf32 => 1,
            };
        }
        line_end as u32
    }

    /// 1-based line and column (in characters) for human output.
    pub fn line_column(&self, text: &str, offset: u32) -> (usize, usize) {
        let position = self.position(text, offset, PositionEncoding::Utf32);
        (position.line as usize + 1, position.character as usize + 1)
    }
}

fn clamp_to_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn emoji_counts_two_utf16_units_and_one_scalar() {
        let text = "x = \"🚀\" + y\n";
        let index = LineIndex::new(text);
        let y = text.find('y').unwrap() as u32;
        assert_eq!(index.position(text, y, PositionEncoding::Utf16), pos(0, 11));
        assert_eq!(index.position(text, y, PositionEncoding::Utf32), pos(0, 10));
        assert_eq!(index.position(text, y, PositionEncoding::Utf8), pos(0, 13));
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "a\r\nb\rc\nd";
        let index = LineIndex::new(text);
        for (needle, expected) in [('b', pos(1, 0)), ('c', pos(2, 0)), ('d', pos(3, 0))] {
            let offset = text.find(needle).unwrap() as u32;
            assert_eq!(
                index.position(text, offset, PositionEncoding::Utf16),
                expected
            );
        }
    }

    #[test]
    fn offsets_round_trip_in_every_encoding() {
        let text = "é🚀\r\n日本 x\n";
        let index = LineIndex::new(text);
        for encoding in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            for (offset, _) in text.char_indices() {
                let position = index.position(text, offset as u32, encoding);
                assert_eq!(
                    index.offset(text, position, encoding),
                    offset as u32,
                    "{encoding:?}"
                );
            }
        }
    }

    #[test]
    fn offset_inside_a_character_is_clamped() {
        let text = "🚀";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 2, PositionEncoding::Utf16), pos(0, 0));
        assert_eq!(index.position(text, 99, PositionEncoding::Utf16), pos(0, 2));
    }
}
