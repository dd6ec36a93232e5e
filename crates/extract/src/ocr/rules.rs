//! Ruling lines in a page image: long straight runs of ink across or
//! down, a few pixels thick, as a scanned or photographed table's grid
//! draws them. They are handed to the PDF grid finder ([`crate::pdf::grid`])
//! in its units: y up, scaled so that a line of text is about ten units
//! high (points, at a common text size), so its tolerances hold.
//! Straight means straight: a page scanned askew by more than a pixel
//! across a rule's length breaks it into pieces, and no grid is found.

use crate::pdf::Rule;
use crate::raster::Raster;

/// Darker than this (0 black … 255 white) a pixel is ink: black and dark
/// rules; light cell shading is not.
pub(super) const INK: u8 = 128;

/// A run of ink at least this many text heights long may be a rule
/// (glyph strokes are shorter than one).
const RUN_HEIGHTS: f32 = 2.5;

/// Ink runs merge across a break of at most this many pixels (a rule
/// printed or scanned with a speck missing).
const BREAK: usize = 1;

/// Thicker than this share of a text height, a run of ink is an area (a
/// black bar, a filled box), not a rule.
const THICKEST: f32 = 0.4;

/// A rule's ends reach this many pixels further, so rules that meet in
/// the image (their ends a pixel or two apart after thresholding) cross.
const REACH: f32 = 2.0;

/// Most rules one page keeps (as for a PDF page).
const MAX_RULES: usize = crate::pdf::MAX_RULES;

/// One run being followed from row to row (or column to column).
struct Stroke {
    from: usize,
    to: usize,
    first: usize,
    last: usize,
}

/// The rules of `image`, whose text lines are `text_px` pixels high, in
/// the grid finder's units (`scale` units a pixel, y up).
pub fn rules(image: &Raster, text_px: f32, scale: f32) -> Vec<Rule> {
    let (w, h) = (image.width as usize, image.height as usize);
    if w == 0 || h == 0 || image.gray.len() < w * h {
        return Vec::new();
    }
    let shortest = (RUN_HEIGHTS * text_px).max(20.0) as usize;
    let thickest = (THICKEST * text_px).max(2.0) as usize;
    let ink = |x: usize, y: usize| image.gray[y * w + x] < INK;
    let mut out = Vec::new();
    for (y0, x0, y1, x1) in strokes(h, w, shortest, thickest, |row, i| ink(i, row)) {
        let y = -((y0 + y1) as f32 / 2.0) * scale;
        let (a, b) = ((x0 as f32 - REACH) * scale, (x1 as f32 + REACH) * scale);
        out.push(Rule::Across { y, x0: a, x1: b });
        if out.len() >= MAX_RULES {
            return out;
        }
    }
    for (x0, y0, x1, y1) in strokes(w, h, shortest, thickest, ink) {
        let x = (x0 + x1) as f32 / 2.0 * scale;
        let (bottom, top) = (-(y1 as f32 + REACH) * scale, -(y0 as f32 - REACH) * scale);
        out.push(Rule::Down {
            x,
            y0: bottom,
            y1: top,
        });
        if out.len() >= MAX_RULES {
            break;
        }
    }
    out
}

/// Straight strokes along one axis: `lanes` lanes (rows, for rules
/// across) of `len` pixels, `ink(lane, i)` saying whether pixel `i` of a
/// lane is ink. Each stroke: first lane, start, last lane, end.
fn strokes(
    lanes: usize,
    len: usize,
    shortest: usize,
    thickest: usize,
    ink: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize, usize, usize)> {
    let mut done = Vec::new();
    let mut open: Vec<Stroke> = Vec::new();
    for lane in 0..lanes {
        let runs = runs(len, shortest, |i| ink(lane, i));
        let mut next = Vec::with_capacity(runs.len());
        for (from, to) in runs {
            // The stroke of the lane before that this run continues.
            let k = open.iter().position(|s| overlap(s, from, to));
            match k {
                Some(k) => {
                    let mut s = open.swap_remove(k);
                    (s.from, s.to, s.last) = (s.from.min(from), s.to.max(to), lane);
                    next.push(s);
                }
                None => next.push(Stroke {
                    from,
                    to,
                    first: lane,
                    last: lane,
                }),
            }
        }
        done.extend(open.drain(..).filter(|s| s.last - s.first < thickest));
        open = next;
        if done.len() > MAX_RULES {
            break;
        }
    }
    done.extend(open.into_iter().filter(|s| s.last - s.first < thickest));
    done.into_iter()
        .map(|s| (s.first, s.from, s.last, s.to))
        .collect()
}

/// Whether a run overlaps most of a stroke (or the stroke most of it).
fn overlap(s: &Stroke, from: usize, to: usize) -> bool {
    let common = s.to.min(to).saturating_sub(s.from.max(from));
    let shorter = (s.to - s.from).min(to - from).max(1);
    common * 5 >= shorter * 4
}

/// The runs of ink of one lane at least `shortest` long, breaks of up to
/// [`BREAK`] pixels bridged: start and end (exclusive).
fn runs(len: usize, shortest: usize, ink: impl Fn(usize) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    for i in 0..len {
        if ink(i) {
            if start.is_none() || i > end + BREAK {
                if let Some(s) = start.filter(|s| end - s >= shortest) {
                    out.push((s, end));
                }
                start = Some(i);
            }
            end = i + 1;
        }
    }
    if let Some(s) = start.filter(|s| end - s >= shortest) {
        out.push((s, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with black boxes drawn in it.
    fn page(w: u32, h: u32, boxes: &[(u32, u32, u32, u32)]) -> Raster {
        let mut gray = vec![255u8; (w * h) as usize];
        for &(x0, y0, x1, y1) in boxes {
            for y in y0..y1 {
                for x in x0..x1 {
                    gray[(y * w + x) as usize] = 0;
                }
            }
        }
        Raster {
            width: w,
            height: h,
            gray,
        }
    }

    #[test]
    fn long_thin_runs_are_rules_across_and_down() {
        // A 2-px line across at y 50..52 from x 10 to 190, one down at x 100.
        let img = page(200, 200, &[(10, 50, 190, 52), (100, 20, 102, 180)]);
        let rules = rules(&img, 20.0, 1.0);
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert!(rules.iter().any(|r| matches!(*r,
            Rule::Across { y, x0, x1 } if y == -50.5 && x0 == 8.0 && x1 == 192.0)));
        assert!(rules.iter().any(|r| matches!(*r,
            Rule::Down { x, y0, y1 } if x == 100.5 && y0 == -182.0 && y1 == -18.0)));
    }

    #[test]
    fn glyph_strokes_and_filled_areas_are_not_rules() {
        // A short stroke (under 2.5 text heights) and a thick black bar.
        let img = page(300, 200, &[(10, 10, 40, 12), (10, 100, 290, 130)]);
        assert!(rules(&img, 20.0, 1.0).is_empty());
    }

    #[test]
    fn a_speck_missing_from_a_rule_does_not_break_it() {
        let mut img = page(200, 100, &[(10, 50, 190, 51)]);
        img.gray[50 * 200 + 100] = 255;
        let found = rules(&img, 10.0, 1.0);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
