//! PowerPoint 97–2003 (`.ppt`): one page per slide. The stream "PowerPoint
//! Document" is a tree of records (8-byte headers; version 0xF marks a
//! container). A slide's placeholder text sits in the document's slide
//! list (`SlideListWithText`, one `SlidePersistAtom` per slide, each text
//! after a `TextHeaderAtom` saying title or body); other text boxes sit in
//! the slide's own container. Masters and notes are left out, like
//! template text in PPTX.

use super::{u16_at, u32_at, utf16le, Container};
use crate::model::{Element, Kind};
use crate::{ExtractError, Extraction, Limits};

const DOCUMENT: u16 = 0x03E8;
const SLIDE: u16 = 0x03EE;
const NOTES: u16 = 0x03F0;
const MAIN_MASTER: u16 = 0x03F8;
const SLIDE_LIST: u16 = 0x0FF0;
const SLIDE_PERSIST: u16 = 0x03F3;
const TEXT_HEADER: u16 = 0x0F9F;
const TEXT_CHARS: u16 = 0x0FA0;
const TEXT_BYTES: u16 = 0x0FA8;
const CRYPT_SESSION: u16 = 0x2F14;

/// How deep containers may nest before the file is refused.
const MAX_NESTING: u32 = 64;

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut c = Container::open(bytes, "PowerPoint presentation")?;
    if c.exists("EncryptedSummary") {
        return Err(ExtractError::Encrypted);
    }
    let stream = c.require("PowerPoint Document", limits)?;
    let mut deck = Deck::default();
    deck.walk(&stream, 0, Place::Outside)?;
    let pages = deck.slide_count().max(1);
    if pages > limits.max_pages {
        return Err(ExtractError::TooLarge(format!(
            "more than {} slides",
            limits.max_pages
        )));
    }
    // Slide-list text first met per slide, then each slide's own boxes;
    // a stable sort by page keeps that order within a slide.
    deck.elements.sort_by_key(|e| e.page.unwrap_or(1));
    Ok(Extraction {
        elements: deck.elements,
        pages,
        warnings: Vec::new(),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Place {
    Outside,
    /// The slide list of slides (instance 0), not of masters or notes.
    SlideList,
    Slide,
    /// Masters and notes: not read.
    Skipped,
}

#[derive(Default)]
struct Deck {
    elements: Vec<Element>,
    /// Slides met in the slide list, and slide containers met.
    listed: u32,
    containers: u32,
    /// Whether the next text is a title (from the last TextHeaderAtom).
    title: bool,
}

impl Deck {
    fn slide_count(&self) -> u32 {
        self.listed.max(self.containers)
    }

    fn walk(&mut self, b: &[u8], depth: u32, place: Place) -> Result<(), ExtractError> {
        if depth > MAX_NESTING {
            return Err(ExtractError::Malformed(
                "PowerPoint records nest too deeply".into(),
            ));
        }
        let mut at = 0;
        while let (Some(head), Some(kind), Some(len)) =
            (u16_at(b, at), u16_at(b, at + 2), u32_at(b, at + 4))
        {
            let body = b.get(at + 8..).unwrap_or(&[]);
            let body = &body[..(len as usize).min(body.len())];
            at += 8 + body.len();
            let (container, instance) = (head & 0xF == 0xF, head >> 4);
            match kind {
                CRYPT_SESSION => return Err(ExtractError::Encrypted),
                SLIDE_PERSIST if place == Place::SlideList => self.listed += 1,
                TEXT_HEADER => {
                    let t = u32_at(body, 0).unwrap_or(1);
                    // Title (0) and centred title (6).
                    self.title = t == 0 || t == 6;
                }
                TEXT_CHARS => self.text(&utf16le(body), place),
                TEXT_BYTES => {
                    let text: String = body.iter().map(|&c| char::from(c)).collect();
                    self.text(&text, place);
                }
                _ if container => {
                    let inner = match (kind, place) {
                        (SLIDE, _) => {
                            self.containers += 1;
                            Place::Slide
                        }
                        (NOTES | MAIN_MASTER, _) => Place::Skipped,
                        (SLIDE_LIST, Place::Outside) if instance == 0 => Place::SlideList,
                        (SLIDE_LIST, _) => Place::Skipped,
                        (DOCUMENT, _) => Place::Outside,
                        (_, p) => p,
                    };
                    self.walk(body, depth + 1, inner)?;
                    if kind == SLIDE {
                        self.title = false;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn text(&mut self, text: &str, place: Place) {
        let page = match place {
            Place::SlideList => self.listed,
            Place::Slide => self.containers,
            Place::Outside | Place::Skipped => return,
        };
        let title = std::mem::take(&mut self.title);
        for line in text.split(['\r', '\u{0B}']) {
            let line = line.trim();
            if line.is_empty() || line == "*" {
                continue;
            }
            let kind = if title {
                Kind::Heading { level: 2 }
            } else {
                Kind::Paragraph
            };
            self.elements
                .push(Element::new(kind, line.to_string()).on_page(page.max(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, head: u16, body: &[u8]) -> Vec<u8> {
        let mut out = head.to_le_bytes().to_vec();
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn chars(s: &str) -> Vec<u8> {
        record(
            TEXT_CHARS,
            0,
            &s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn slide_list_text_and_slide_boxes_land_on_their_slides() {
        let mut list = record(SLIDE_PERSIST, 0, &[0; 20]);
        list.extend(record(TEXT_HEADER, 0, &0u32.to_le_bytes()));
        list.extend(chars("Quarterly review"));
        list.extend(record(TEXT_HEADER, 0, &1u32.to_le_bytes()));
        list.extend(chars("Revenue up\rCosts down"));
        list.extend(record(SLIDE_PERSIST, 0, &[0; 20]));
        list.extend(record(TEXT_BYTES, 0, b"Second slide"));
        let mut doc = record(SLIDE_LIST, 0xF, &list);
        doc.extend(record(
            MAIN_MASTER,
            0xF,
            &chars("Click to edit Master title style"),
        ));
        let mut stream = record(DOCUMENT, 0xF, &doc);
        stream.extend(record(SLIDE, 0xF, &chars("A text box")));
        stream.extend(record(SLIDE, 0xF, &[]));
        let mut deck = Deck::default();
        deck.walk(&stream, 0, Place::Outside).unwrap();
        deck.elements.sort_by_key(|e| e.page.unwrap_or(1));
        let got: Vec<(u32, &str, bool)> = deck
            .elements
            .iter()
            .map(|e| {
                (
                    e.page.unwrap(),
                    e.text.as_str(),
                    matches!(e.kind, Kind::Heading { .. }),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "Quarterly review", true),
                (1, "Revenue up", false),
                (1, "Costs down", false),
                (1, "A text box", false),
                (2, "Second slide", false),
            ]
        );
        assert_eq!(deck.slide_count(), 2);
    }
}
