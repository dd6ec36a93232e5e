//! Turns a page's content stream into lines of text. Text-showing operators
//! (`Tj`, `TJ`, `'`, `"`) are decoded by the current font; positioning
//! operators (`Td`, `TD`, `Tm`, `T*`) decide line breaks and spaces.

use super::cmap::{self, CMap};
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};
use std::collections::BTreeMap;

/// How one font's string bytes become text.
enum Decoder<'a> {
    Lopdf(Encoding<'a>),
    CMap(CMap),
    /// No usable encoding: bytes read as Latin-1, printable ones only.
    Raw,
}

impl Decoder<'_> {
    fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Decoder::Lopdf(enc) => Document::decode_text(enc, bytes).unwrap_or_default(),
            Decoder::CMap(c) => bytes
                .chunks(c.code_bytes.max(1))
                .filter_map(|code| {
                    let key = code.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
                    c.map.get(&key).map(String::as_str)
                })
                .collect(),
            Decoder::Raw => bytes
                .iter()
                .map(|&b| b as char)
                .filter(|c| !c.is_control() || *c == ' ')
                .collect(),
        }
    }
}

fn decoder<'a>(doc: &'a Document, font: &'a Dictionary) -> Decoder<'a> {
    if let Ok(enc) = font.get_font_encoding(doc) {
        return Decoder::Lopdf(enc);
    }
    let stream = font
        .get(b"ToUnicode")
        .and_then(|o| doc.dereference(o))
        .and_then(|(_, o)| o.as_stream());
    match stream.and_then(|s| s.decompressed_content().or_else(|_| Ok(s.content.clone()))) {
        Ok(data) => Decoder::CMap(cmap::parse(&data)),
        Err(_) => Decoder::Raw,
    }
}

fn num(o: Option<&Object>) -> f32 {
    o.and_then(|o| o.as_float().ok()).unwrap_or(0.0)
}

/// A PDF transformation matrix `[a b c d e f]`.
#[derive(Clone, Copy)]
struct Matrix([f32; 6]);

const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

impl Matrix {
    fn of(args: &[Object]) -> Matrix {
        let mut m = [0.0; 6];
        for (i, v) in m.iter_mut().enumerate() {
            *v = num(args.get(i));
        }
        Matrix(m)
    }

    fn translate(tx: f32, ty: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self × other`, in PDF's row-vector convention.
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }
}

/// Graphics and text state the walker needs.
struct Pos {
    ctm: Matrix,
    stack: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    leading: f32,
}

impl Pos {
    /// Vertical position of the text origin on the page.
    fn y(&self) -> f32 {
        self.tm.then(self.ctm).0[5]
    }

    fn line_offset(&mut self, tx: f32, ty: f32) {
        self.tlm = Matrix::translate(tx, ty).then(self.tlm);
        self.tm = self.tlm;
    }
}

/// Accumulates text with the line and word breaks positioning implies.
#[derive(Default)]
struct Lines {
    out: String,
    y: Option<f32>,
}

impl Lines {
    fn newline(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn space(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with([' ', '\n']) {
            self.out.push(' ');
        }
    }

    /// The text origin moved to page height `y`: a new line when the
    /// height changed, else a word break.
    fn move_to(&mut self, y: f32) {
        match self.y {
            Some(prev) if (prev - y).abs() > 1.0 => self.newline(),
            Some(_) => self.space(),
            None => self.newline(),
        }
        self.y = Some(y);
    }
}

/// The text of one page, one line per text line.
pub fn page_text(doc: &Document, page_id: ObjectId) -> Result<String, lopdf::Error> {
    let fonts: BTreeMap<Vec<u8>, &Dictionary> = doc.get_page_fonts(page_id)?;
    let decoders: BTreeMap<&[u8], Decoder> = fonts
        .iter()
        .map(|(name, font)| (name.as_slice(), decoder(doc, font)))
        .collect();
    let content = Content::decode(&doc.get_page_content(page_id)?)?;
    let mut lines = Lines::default();
    let mut font: Option<&Decoder> = None;
    let mut pos = Pos {
        ctm: IDENTITY,
        stack: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        leading: 0.0,
    };
    for op in &content.operations {
        let args = &op.operands;
        match op.operator.as_str() {
            "q" => pos.stack.push(pos.ctm),
            "Q" => pos.ctm = pos.stack.pop().unwrap_or(IDENTITY),
            "cm" => pos.ctm = Matrix::of(args).then(pos.ctm),
            "BT" => {
                pos.tm = IDENTITY;
                pos.tlm = IDENTITY;
            }
            "Tf" => {
                font = args
                    .first()
                    .and_then(|n| n.as_name().ok())
                    .and_then(|n| decoders.get(n));
            }
            "TL" => pos.leading = num(args.first()),
            "Tm" => {
                pos.tm = Matrix::of(args);
                pos.tlm = pos.tm;
                lines.move_to(pos.y());
            }
            "Td" | "TD" => {
                let (tx, ty) = (num(args.first()), num(args.get(1)));
                if op.operator == "TD" {
                    pos.leading = -ty;
                }
                pos.line_offset(tx, ty);
                lines.move_to(pos.y());
            }
            "T*" => {
                pos.line_offset(0.0, -pos.leading);
                lines.move_to(pos.y());
            }
            "'" => {
                pos.line_offset(0.0, -pos.leading);
                lines.move_to(pos.y());
                show(&mut lines, font, args.first());
            }
            "\"" => {
                pos.line_offset(0.0, -pos.leading);
                lines.move_to(pos.y());
                show(&mut lines, font, args.get(2));
            }
            "Tj" => show(&mut lines, font, args.first()),
            "TJ" => {
                if let Some(Object::Array(items)) = args.first() {
                    for item in items {
                        match item {
                            Object::String(..) => show(&mut lines, font, Some(item)),
                            other if num(Some(other)) < -200.0 => lines.space(),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(lines.out)
}

fn show(lines: &mut Lines, font: Option<&Decoder>, operand: Option<&Object>) {
    if let Some(Object::String(bytes, _)) = operand {
        let text = font.unwrap_or(&Decoder::Raw).decode(bytes);
        lines.out.push_str(&text.replace(['\r', '\n'], " "));
    }
}
