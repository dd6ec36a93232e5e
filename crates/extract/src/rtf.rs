//! RTF: a small reader of the control-word syntax. Paragraph, line, tab and
//! table-cell marks become text structure; `\'hh` bytes decode through the
//! document's ANSI code page; `\uN` is Unicode (skipping `\ucN` fallback
//! characters); destinations that are not body text (font and colour
//! tables, stylesheet, info, pictures, `\*` groups) are skipped.

use super::model::{Builder, Element};
use super::ExtractError;
use encoding_rs::{Encoding, WINDOWS_1252};

const SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "footer",
    "headerl",
    "headerr",
    "footerl",
    "footerr",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "themedata",
    "colorschememapping",
    "latentstyles",
    "datastore",
    "fldinst",
    "filetbl",
    "revtbl",
    "pgdsctbl",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    uc: usize,
}

struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    out: String,
    pending: Vec<u8>,
    encoding: &'static Encoding,
}

impl Reader<'_> {
    fn flush_bytes(&mut self) {
        if !self.pending.is_empty() {
            let (s, _, _) = self.encoding.decode(&self.pending);
            self.out.push_str(&s);
            self.pending.clear();
        }
    }

    fn push(&mut self, s: &str) {
        self.flush_bytes();
        self.out.push_str(s);
    }

    /// Reads a control word after `\`: (name, numeric parameter).
    fn control_word(&mut self) -> (String, Option<i32>) {
        let start = self.pos;
        while self.pos < self.src.len() && self.src[self.pos].is_ascii_alphabetic() {
            self.pos += 1;
        }
        let name = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        let num_start = self.pos;
        if self.pos < self.src.len() && self.src[self.pos] == b'-' {
            self.pos += 1;
        }
        while self.pos < self.src.len() && self.src[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let param = std::str::from_utf8(&self.src[num_start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok());
        if self.pos < self.src.len() && self.src[self.pos] == b' ' {
            self.pos += 1; // the delimiting space belongs to the control word
        }
        (name, param)
    }

    /// What follows a backslash: `\*`, a `\'hh` byte, a control word or
    /// a control symbol. `false` at the end of the input.
    fn escape(&mut self, g: &mut Group, group_start: bool) -> bool {
        let Some(&next) = self.src.get(self.pos) else {
            return false;
        };
        if next == b'*' {
            self.pos += 1;
            g.skip = true;
        } else if next == b'\'' {
            let hex = self.src.get(self.pos + 1..self.pos + 3).unwrap_or(b"");
            self.pos += 3;
            if let Some(b) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                if !g.skip {
                    self.pending.push(b);
                }
            }
        } else if next.is_ascii_alphabetic() {
            let (word, param) = self.control_word();
            control(self, g, &word, param, group_start);
        } else {
            self.pos += 1;
            if !g.skip {
                match next {
                    b'~' => self.push("\u{a0}"),
                    b'_' => self.push("-"),
                    b'\n' | b'\r' => self.push("\n"),
                    other => self.push(&(other as char).to_string()),
                }
            }
        }
        true
    }

    /// Skips `n` fallback characters after `\u`.
    fn skip_fallback(&mut self, mut n: usize) {
        while n > 0 && self.pos < self.src.len() {
            if self.src[self.pos] == b'\\' && self.src.get(self.pos + 1) == Some(&b'\'') {
                self.pos += 4;
            } else if matches!(self.src[self.pos], b'{' | b'}') {
                return;
            } else {
                self.pos += 1;
            }
            n -= 1;
        }
    }
}

pub fn extract(bytes: &[u8]) -> Result<Vec<Element>, ExtractError> {
    if !bytes.starts_with(b"{\\rtf") {
        return Err(ExtractError::Malformed("not an RTF document".into()));
    }
    let mut r = Reader {
        src: bytes,
        pos: 0,
        out: String::new(),
        pending: Vec::new(),
        encoding: WINDOWS_1252,
    };
    let mut stack: Vec<Group> = Vec::new();
    let mut g = Group { skip: false, uc: 1 };
    let mut group_start = false;
    while r.pos < r.src.len() {
        let c = r.src[r.pos];
        r.pos += 1;
        match c {
            b'{' => {
                stack.push(g);
                group_start = true;
                continue;
            }
            b'}' => g = stack.pop().unwrap_or(g),
            b'\\' => {
                let more = r.escape(&mut g, group_start);
                if !more {
                    break;
                }
            }
            b'\r' | b'\n' => {}
            _ if !g.skip => r.pending.push(c),
            _ => {}
        }
        group_start = false;
    }
    r.flush_bytes();
    let mut b = Builder::default();
    for para in r.out.split("\n\n") {
        b.paragraph(para);
    }
    Ok(b.finish())
}

fn control(r: &mut Reader, g: &mut Group, word: &str, param: Option<i32>, group_start: bool) {
    if group_start && SKIP.contains(&word) {
        g.skip = true;
        return;
    }
    match word {
        "ansicpg" => {
            let label = format!("windows-{}", param.unwrap_or(1252));
            r.encoding = Encoding::for_label(label.as_bytes()).unwrap_or(WINDOWS_1252);
        }
        "uc" => g.uc = usize::try_from(param.unwrap_or(1)).unwrap_or(1),
        "u" if !g.skip => {
            let code = param.unwrap_or(0);
            let code = if code < 0 { code + 65_536 } else { code };
            if let Some(ch) = u32::try_from(code).ok().and_then(char::from_u32) {
                r.push(&ch.to_string());
            }
            r.skip_fallback(g.uc);
        }
        _ if g.skip => {}
        "par" | "sect" | "page" => r.push("\n\n"),
        "line" | "row" => r.push("\n"),
        "tab" | "cell" => r.push("\t"),
        "emdash" => r.push("—"),
        "endash" => r.push("–"),
        "bullet" => r.push("•"),
        "lquote" => r.push("‘"),
        "rquote" => r.push("’"),
        "ldblquote" => r.push("“"),
        "rdblquote" => r.push("”"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_text_is_read_and_tables_skipped() {
        let rtf = br"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Times;}}{\colortbl;\red0;}
{\*\generator Foo;}\f0 Hello \b world\b0 .\par Caf\'e9 \u8364?5\par}";
        let els = extract(rtf).unwrap();
        let texts: Vec<&str> = els.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["Hello world.", "Café €5"]);
    }

    #[test]
    fn non_rtf_is_malformed() {
        assert!(extract(b"hello").is_err());
    }
}
