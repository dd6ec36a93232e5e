//! Turns a page's content stream into lines of text. Text-showing operators
//! (`Tj`, `TJ`, `'`, `"`) are decoded by the current font; where each run
//! lands on the page (text matrix × CTM) and how wide the previous run was
//! (the font's glyph widths) decide line breaks and word spaces, so text
//! placed glyph by glyph reads as words.

mod forms;

use forms::{deref_dict, run_form, Scope};

use super::content::{for_each_piece, page_content, PageError};
use super::fonts::{Font, FontCache};
use super::line::TextLine;
use super::matrix::{num, Matrix, IDENTITY};
use super::rules::{Ink, Paths, Rule};
use crate::{ExtractError, Limits};
use lopdf::content::Operation;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeMap;
use std::rc::Rc;

/// How deeply form XObjects may nest (they may also refer to themselves).
const MAX_FORM_DEPTH: u32 = 8;

/// Most lines of text one page may hold: a content stream of millions of
/// runs each on its own line would otherwise hold a line record each.
const MAX_LINES: usize = 50_000;

/// Graphics and text state, and where the last run of text ended.
struct State<'f> {
    /// Fonts and form XObjects of the content stream being walked.
    scope: Scope<'f>,
    ctm: Matrix,
    stack: Vec<(Matrix, Ink)>,
    tm: Matrix,
    tlm: Matrix,
    leading: f32,
    font: Option<Rc<Font<'f>>>,
    size: f32,
    /// (x where the last run ended, its baseline y, its font height), on the page.
    last: Option<(f32, f32, f32)>,
    /// The last run's text, where it started and how wide it was: the
    /// same run drawn again on top of it, less than half its width away
    /// (fake bold, shadows), is not text twice.
    shown: Option<(String, f32, f32, f32)>,
    /// The page's lines of text so far, the last one open.
    lines: Vec<TextLine>,
    /// The image XObject drawn over the largest area so far, and the
    /// matrix it was drawn with (one kept, however many are drawn).
    images: Vec<(ObjectId, [f32; 4])>,
    /// The document's fonts, built once each.
    cache: &'f FontCache<'f>,
    /// The path being built, and the page's ruling lines.
    paths: Paths,
}

impl State<'_> {
    fn line_offset(&mut self, tx: f32, ty: f32) {
        self.tlm = Matrix::translate(tx, ty).then(self.tlm);
        self.tm = self.tlm;
    }

    /// Shows a string: a new line or a space as its position demands,
    /// then the text, then advance the text matrix by its width.
    fn show(&mut self, bytes: &[u8]) {
        let Some(font) = self.font.clone() else {
            return;
        };
        let m = self.tm.then(self.ctm);
        let (x, y) = (m.0[4], m.0[5]);
        let height = (self.size * m.0[3].hypot(m.0[2])).abs().max(1.0);
        let text = font.decoder.decode(bytes);
        let overprint = self.shown.as_ref().is_some_and(|(t, sx, sy, width)| {
            let near = (0.2 * height).min(0.5 * width);
            *t == text && (x - sx).abs() < near && (y - sy).abs() < 0.2 * height
        });
        if overprint {
            self.advance(&font, bytes, y, height);
            return;
        }
        let new_line = match self.last {
            Some((end_x, last_y, last_h)) => {
                let (h, big) = (height.min(last_h), height.max(last_h));
                let dy = (y - last_y).abs();
                // A superscript or subscript (or the text after one): a
                // smaller run raised or lowered by under 0.6 of the larger
                // size, right where the last run ended, stays on its line.
                let script =
                    h < 0.85 * big && dy < 0.6 * big && x >= end_x - 0.5 * h && x - end_x < 3.0 * h;
                if dy > 0.5 * h && !script {
                    true
                } else {
                    if x - end_x > 0.15 * h || x < end_x - 2.0 * h {
                        self.space();
                    }
                    if let Some(line) = self.lines.last_mut().filter(|_| x - end_x > 0.15 * h) {
                        line.gap(end_x, x);
                        // A gap of an em or more may separate table cells.
                        if x - end_x > h {
                            line.split();
                        }
                    }
                    false
                }
            }
            None => true,
        };
        if new_line || self.lines.is_empty() {
            self.lines.push(TextLine::at(x, y));
        }
        let end_x = self.advance(&font, bytes, y, height);
        let line = self.lines.last_mut().expect("a line was pushed");
        line.add(
            &text.replace(['\r', '\n'], " "),
            (x, end_x),
            height,
            font.bold,
        );
        self.shown = (!text.trim().is_empty()).then_some((text, x, y, (end_x - x).abs()));
    }

    /// A word space in the current line (never two, never leading).
    fn space(&mut self) {
        if let Some(line) = self.lines.last_mut() {
            if !line.text.is_empty() && !line.text.ends_with(' ') {
                line.text.push(' ');
            }
        }
    }

    /// The text-showing operators: `'` and `"` (next line, then show),
    /// `Tj`, and `TJ` with its adjustments.
    fn show_operator(&mut self, operator: &str, args: &[Object]) {
        match operator {
            "'" | "\"" => {
                self.line_offset(0.0, -self.leading);
                let operand = if operator == "'" {
                    args.first()
                } else {
                    args.get(2)
                };
                if let Some(Object::String(bytes, _)) = operand {
                    self.show(bytes);
                }
            }
            "Tj" => {
                if let Some(Object::String(bytes, _)) = args.first() {
                    self.show(bytes);
                }
            }
            "TJ" => {
                if let Some(Object::Array(items)) = args.first() {
                    for item in items {
                        match item {
                            Object::String(bytes, _) => self.show(bytes),
                            other => {
                                // Adjustments are in thousandths of text space.
                                let adj = -num(Some(other)) * self.size / 1000.0;
                                self.tm = Matrix::translate(adj, 0.0).then(self.tm);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Moves the text matrix past a run's glyphs; returns where it ends.
    fn advance(&mut self, font: &Font, bytes: &[u8], y: f32, height: f32) -> f32 {
        let advance: f32 = bytes
            .chunks(font.code_bytes)
            .map(|c| {
                font.widths
                    .width(c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
            })
            .sum::<f32>()
            * self.size
            / 1000.0;
        self.tm = Matrix::translate(advance, 0.0).then(self.tm);
        let end = self.tm.then(self.ctm);
        self.last = Some((end.0[4], y, height));
        end.0[4]
    }
}

/// What a page shows: its lines of text, and the images it draws (with
/// the scale and rotation of each: the CTM's `a b c d`).
#[derive(Default)]
pub struct PageText {
    pub lines: Vec<TextLine>,
    pub images: Vec<(ObjectId, [f32; 4])>,
    pub rules: Vec<Rule>,
}

/// The text of one page, and its images.
pub fn page_text<'a>(
    doc: &'a Document,
    page_id: ObjectId,
    cache: &'a FontCache<'a>,
    limits: &Limits,
) -> Result<PageText, PageError> {
    let dicts: BTreeMap<Vec<u8>, &Dictionary> = doc.get_page_fonts(page_id)?;
    // The page's own /Resources, direct or by reference, else the nearest
    // ancestor's (inherited whole, not merged).
    let (direct, inherited) = doc.get_page_resources(page_id)?;
    let resources = direct.or_else(|| inherited.iter().find_map(|id| doc.get_dictionary(*id).ok()));
    let mut fonts = BTreeMap::new();
    for (name, dict) in &dicts {
        fonts.insert(name.clone(), cache.font(doc, dict, limits)?);
    }
    let scope = Scope {
        fonts,
        xobjects: resources.and_then(|r| deref_dict(doc, r.get(b"XObject").ok())),
    };
    let content = page_content(doc, page_id, limits)?;
    let mut st = State {
        scope,
        ctm: IDENTITY,
        stack: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        leading: 0.0,
        font: None,
        size: 1.0,
        last: None,
        shown: None,
        lines: Vec::new(),
        images: Vec::new(),
        cache,
        paths: Paths::default(),
    };
    walk(doc, &content, &mut st, 0, limits)?;
    Ok(PageText {
        lines: st.lines,
        images: st.images,
        rules: st.paths.rules,
    })
}

/// Walks a content stream's operators, piece by piece.
fn walk<'a>(
    doc: &'a Document,
    content: &[u8],
    st: &mut State<'a>,
    depth: u32,
    limits: &Limits,
) -> Result<(), ExtractError> {
    for_each_piece(content, limits, |ops| {
        ops.iter()
            .try_for_each(|op| apply(doc, op, st, depth, limits))
    })
}

/// Applies one operator to the state.
fn apply<'a>(
    doc: &'a Document,
    op: &Operation,
    st: &mut State<'a>,
    depth: u32,
    limits: &Limits,
) -> Result<(), ExtractError> {
    let args = &op.operands;
    match op.operator.as_str() {
        "Do" => {
            if let Some(name) = args.first().and_then(|n| n.as_name().ok()) {
                run_form(doc, name, st, depth, limits)?;
            }
        }
        "q" => st.stack.push((st.ctm, st.paths.ink)),
        "Q" => (st.ctm, st.paths.ink) = st.stack.pop().unwrap_or((IDENTITY, Ink::default())),
        "cm" => st.ctm = Matrix::of(args).then(st.ctm),
        "BT" => {
            st.tm = IDENTITY;
            st.tlm = IDENTITY;
        }
        "Tf" => {
            st.font = args
                .first()
                .and_then(|n| n.as_name().ok())
                .and_then(|n| st.scope.fonts.get(n).cloned());
            st.size = num(args.get(1));
        }
        "TL" => st.leading = num(args.first()),
        "Tm" => {
            st.tm = Matrix::of(args);
            st.tlm = st.tm;
        }
        "Td" | "TD" => {
            let (tx, ty) = (num(args.first()), num(args.get(1)));
            if op.operator == "TD" {
                st.leading = -ty;
            }
            st.line_offset(tx, ty);
        }
        "T*" => st.line_offset(0.0, -st.leading),
        "m" | "l" | "c" | "v" | "y" | "h" | "re" => st.paths.build(&op.operator, args, st.ctm),
        "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "n" => {
            st.paths.paint(&op.operator)
        }
        "G" | "g" | "RG" | "rg" | "K" | "k" | "SC" | "sc" | "SCN" | "scn" | "CS" | "cs" => {
            st.paths.color(&op.operator, args)
        }
        "'" | "\"" | "Tj" | "TJ" => {
            st.show_operator(&op.operator, args);
            if st.lines.len() > MAX_LINES {
                return Err(ExtractError::TooLarge(format!(
                    "a page with more than {MAX_LINES} lines of text"
                )));
            }
        }
        _ => {}
    }
    Ok(())
}
