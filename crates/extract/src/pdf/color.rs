//! The colour spaces of scanned page images, reduced to grey: device,
//! calibrated, ICC-based (by their component count), Lab (its lightness),
//! separation (a tint of ink) and indexed ones.

use super::inflate::decoded;
use crate::Limits;
use lopdf::{Document, Object};

/// How an image's samples make a colour.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Color {
    Gray,
    Rgb,
    Cmyk,
    /// CIE L*a*b*: the lightness is the grey.
    Lab,
    /// One tint of an ink: 1 is full ink, dark.
    Tint,
    /// One index per pixel into `lookup`, colours of the base space.
    Indexed {
        base: Box<Color>,
        lookup: Vec<u8>,
    },
}

impl Color {
    pub(super) fn components(&self) -> usize {
        match self {
            Color::Gray | Color::Tint | Color::Indexed { .. } => 1,
            Color::Rgb | Color::Lab => 3,
            Color::Cmyk => 4,
        }
    }

    /// The grey of one pixel's components, each scaled to 0..=255.
    pub(super) fn gray(&self, c: &[u8]) -> u8 {
        let at = |i: usize| u32::from(c.get(i).copied().unwrap_or(0));
        match self {
            Color::Gray | Color::Lab => at(0) as u8,
            Color::Tint => 255 - at(0) as u8,
            Color::Rgb => ((299 * at(0) + 587 * at(1) + 114 * at(2)) / 1000) as u8,
            Color::Cmyk => {
                let ink = (30 * at(0) + 59 * at(1) + 11 * at(2)) / 100 + at(3);
                255 - ink.min(255) as u8
            }
            Color::Indexed { base, lookup } => {
                let n = base.components();
                let from = at(0) as usize * n;
                lookup.get(from..from + n).map_or(0, |rgb| base.gray(rgb))
            }
        }
    }
}

fn resolve<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map_or(o, |(_, o)| o)
}

/// The colour space an image names; `None` for one Quire does not read.
pub(super) fn color_of(doc: &Document, space: Option<&Object>) -> Option<Color> {
    let Some(space) = space.map(|s| resolve(doc, s)) else {
        return Some(Color::Gray); // JPEG 2000 and masks may name none
    };
    let name = match space {
        Object::Name(n) => n.as_slice(),
        Object::Array(a) => a.first().and_then(|o| o.as_name().ok())?,
        _ => return None,
    };
    let arg = |i: usize| match space {
        Object::Array(a) => a.get(i).map(|o| resolve(doc, o)),
        _ => None,
    };
    Some(match name {
        b"DeviceGray" | b"G" | b"CalGray" => Color::Gray,
        b"DeviceRGB" | b"RGB" | b"CalRGB" => Color::Rgb,
        b"DeviceCMYK" | b"CMYK" => Color::Cmyk,
        b"Lab" => Color::Lab,
        b"Separation" => Color::Tint,
        b"ICCBased" => {
            let n = arg(1)?
                .as_stream()
                .ok()?
                .dict
                .get(b"N")
                .ok()?
                .as_i64()
                .ok()?;
            match n {
                1 => Color::Gray,
                3 => Color::Rgb,
                4 => Color::Cmyk,
                _ => return None,
            }
        }
        b"Indexed" | b"I" => indexed(doc, arg(1)?, arg(3)?)?,
        _ => return None,
    })
}

/// An indexed space over `base` with the colour table `table`. The base
/// may not itself be indexed (a hostile file may make it refer back to
/// this very space, without end); the table holds at most 256 colours of
/// 4 components, and is inflated no further.
fn indexed(doc: &Document, base: &Object, table: &Object) -> Option<Color> {
    let base_name = match base {
        Object::Array(a) => a.first().and_then(|o| o.as_name().ok()),
        _ => None,
    };
    if matches!(base_name, Some(b"Indexed" | b"I")) {
        return None;
    }
    let base = color_of(doc, Some(base))?;
    let lookup = match table {
        Object::String(s, _) => s.clone(),
        Object::Stream(s) => {
            let limits = Limits {
                max_stream_bytes: 256 * 4,
                ..Limits::default()
            };
            decoded(s, &limits, "an indexed colour table").ok()?
        }
        _ => return None,
    };
    Some(Color::Indexed {
        base: Box::new(base),
        lookup,
    })
}
