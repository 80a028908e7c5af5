//! Stage 4 — tidying a template's output as it is rendered.
//!
//! Conditional blocks and empty macro calls leave trailing spaces, and in YAML empty documents
//! (leading, doubled or trailing `---`). [`Tidy`] is the writer a template renders into: it
//! receives the output in fragments and appends it, tidied line by line, to a buffer that already
//! holds the file's header. Nothing is rendered into one buffer and copied into another, so a
//! large file (a thousand workers' manifests) is in memory once.
//!
//! A YAML file can also be cut into pieces of whole documents while it renders
//! ([`Tidy::with_pieces`]), so that other threads parse back the first pieces of a large file
//! while its template is still rendering the rest; any other file is handed over whole.

use std::io;

/// A YAML file is cut into pieces of about this many bytes.
pub const PIECE: usize = 64 * 1024;

/// Receives each piece: its text and how many lines of the file come before it.
type OnPiece<'a> = Box<dyn FnMut(&str, usize) + 'a>;

/// A writer that tidies what a template writes into it; see the module docs.
pub struct Tidy<'a> {
    out: String,
    yaml: bool,
    /// The start of the body (after the header).
    body: usize,
    /// A line not ended yet.
    partial: Vec<u8>,
    /// YAML: where the current document starts in `out` (before its `---` separator) ...
    doc_start: usize,
    /// ... and where its first line starts.
    doc_body: usize,
    /// YAML: the current document has a line that is neither blank nor a comment.
    meaningful: bool,
    /// YAML: no document has been kept yet (so the next one needs no separator).
    first: bool,
    on_piece: Option<OnPiece<'a>>,
    /// Where the next piece starts, and how many lines come before it.
    sealed: usize,
    sealed_lines: usize,
}

impl<'a> Tidy<'a> {
    /// A writer that appends to `header`; `yaml` also drops empty documents.
    pub fn new(header: String, yaml: bool) -> Self {
        let body = header.len();
        Tidy {
            out: header,
            yaml,
            body,
            partial: Vec::new(),
            doc_start: body,
            doc_body: body,
            meaningful: false,
            first: true,
            on_piece: None,
            sealed: 0,
            sealed_lines: 0,
        }
    }

    /// A writer that also hands `on_piece` what it wrote: a YAML file in pieces of whole
    /// documents (the header is in the first), each as soon as the next document starts past
    /// [`PIECE`] bytes, and the rest when the file is finished; any other file whole, when it is
    /// finished. A `---` line at the start of a line ends any YAML document, so every piece parses
    /// exactly as its documents do in the whole file.
    pub fn with_pieces(header: String, yaml: bool, on_piece: impl FnMut(&str, usize) + 'a) -> Self {
        Tidy {
            on_piece: Some(Box::new(on_piece)),
            ..Tidy::new(header, yaml)
        }
    }

    /// Hands everything from the last cut to `end` to `on_piece`.
    fn seal(&mut self, end: usize) {
        if let Some(on_piece) = self.on_piece.as_mut() {
            let piece = &self.out[self.sealed..end];
            on_piece(piece, self.sealed_lines);
            self.sealed_lines += piece.bytes().filter(|&b| b == b'\n').count();
            self.sealed = end;
        }
    }

    /// The tidied text (header included), or `None` when the body is blank: a template that
    /// renders nothing says its file is not needed.
    pub fn finish(mut self) -> io::Result<Option<String>> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(utf8(&line)?);
        }
        if self.yaml {
            self.end_document();
        }
        if self.out[self.body..].trim().is_empty() {
            return Ok(None);
        }
        if self.out.len() > self.sealed {
            self.seal(self.out.len());
        }
        Ok(Some(std::mem::take(&mut self.out)))
    }

    /// Takes one whole line, without its newline.
    fn line(&mut self, line: &str) {
        let line = line.trim_end();
        if self.yaml {
            if line == "---" {
                self.end_document();
                self.begin_document();
                return;
            }
            if !line.is_empty() && !line.trim_start().starts_with('#') {
                self.meaningful = true;
            }
        }
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn begin_document(&mut self) {
        if self.out.len() - self.sealed >= PIECE {
            self.seal(self.out.len());
        }
        self.doc_start = self.out.len();
        if !self.first {
            self.out.push_str("---\n");
        }
        self.doc_body = self.out.len();
        self.meaningful = false;
    }

    /// Keeps the current document without its trailing blank lines, or drops it (and its
    /// separator) when it has nothing but blank lines and comments.
    fn end_document(&mut self) {
        if self.meaningful {
            let kept = self.out[self.doc_body..].trim_end_matches('\n').len();
            self.out.truncate(self.doc_body + kept);
            self.out.push('\n');
            self.first = false;
        } else {
            self.out.truncate(self.doc_start);
        }
    }
}

fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl io::Write for Tidy<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(utf8(&rest[..end])?);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.line(utf8(&line)?);
                line.clear();
                self.partial = line;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Feeds `text` in fragments of `step` bytes.
    fn tidy(text: &str, yaml: bool, step: usize) -> Option<String> {
        let mut t = Tidy::new("# h\n".into(), yaml);
        for chunk in text.as_bytes().chunks(step) {
            t.write_all(chunk).expect("writes to memory");
        }
        t.finish().expect("valid UTF-8")
    }

    #[test]
    fn yaml_loses_empty_documents_and_trailing_spaces_however_it_arrives() {
        let raw = "---\n\n# only a comment\n---\na: 1   \n\n\n---\n---\n  \nb: [é]\n---\n# c\n";
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(
                tidy(raw, true, step).as_deref(),
                Some("# h\na: 1\n---\n\nb: [é]\n"),
                "step {step}"
            );
        }
        assert_eq!(tidy("---\n# nothing\n---\n", true, 5), None);
        assert_eq!(tidy("a: 1", true, 5).as_deref(), Some("# h\na: 1\n"));
    }

    #[test]
    fn large_yaml_is_handed_over_in_pieces_of_whole_documents_that_add_up_to_the_file() {
        let doc = format!("a: {}\nb:\n  - c\n", "x".repeat(1000));
        let raw = format!("---\n{}", vec![doc.as_str(); 300].join("---\n---\n"));
        let mut pieces = Vec::new();
        let mut t = Tidy::with_pieces("# h\n".into(), true, |piece: &str, lines: usize| {
            pieces.push((piece.to_string(), lines))
        });
        for chunk in raw.as_bytes().chunks(333) {
            t.write_all(chunk).expect("writes to memory");
        }
        let whole = t.finish().expect("valid UTF-8").expect("not blank");
        assert!(pieces.len() >= 4, "{} pieces", pieces.len());
        let joined: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, whole);
        let mut lines = 0;
        for (i, (piece, before)) in pieces.iter().enumerate() {
            assert_eq!(*before, lines);
            lines += piece.matches('\n').count();
            assert_eq!(
                piece.starts_with("---\n"),
                i > 0,
                "piece {i} starts a document"
            );
            assert!(
                piece.len() < PIECE + doc.len() + 8,
                "piece {i} is {} bytes",
                piece.len()
            );
        }
    }

    #[test]
    fn other_files_lose_trailing_spaces_only() {
        let raw = "x = 1  \n\n  \n---\ny {}\t";
        assert_eq!(
            tidy(raw, false, 3).as_deref(),
            Some("# h\nx = 1\n\n\n---\ny {}\n")
        );
        assert_eq!(tidy(" \n\n", false, 1), None);
    }
}
