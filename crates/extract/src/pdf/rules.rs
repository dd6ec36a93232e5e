//! Ruling lines: what a page strokes or fills as a horizontal or vertical
//! line (a stroked segment, a thin filled rectangle, a stroked rectangle's
//! edges), in page space, kept to find the grids that frame tables
//! ([`super::grid`]). Curves, slanted lines and filled areas (cell
//! shading, backgrounds) are not rules.

use super::matrix::{num, Matrix};
use lopdf::Object;

/// Most rules one page keeps: a page of hatching or a chart draws
/// millions of strokes, and grids are found among pairs of them.
pub const MAX_RULES: usize = 4_000;

/// Thicker than this (points) a filled rectangle is an area, not a line.
const THICKNESS: f32 = 3.0;

/// Shorter than this (points) a stroke is a tick or a dot, not a rule.
const SHORTEST: f32 = 4.0;

/// One ruling line, in page space (points, y up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// At height `y`, from `x0` to `x1` (`x0 < x1`).
    Across { y: f32, x0: f32, x1: f32 },
    /// At `x`, from `y0` up to `y1` (`y0 < y1`).
    Down { x: f32, y0: f32, y1: f32 },
}

type Point = (f32, f32);

/// Whether strokes and fills are white (on white paper, invisible: the
/// borders of a layout table drawn in white are no rules). Saved and
/// restored with the graphics state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ink {
    stroke_white: bool,
    fill_white: bool,
}

/// A colour operator's operands as white: gray or RGB all at 1, CMYK all
/// at 0. A pattern or an unknown space is not white.
fn white(args: &[Object]) -> bool {
    let v: Vec<f32> = args.iter().filter_map(|o| o.as_float().ok()).collect();
    if v.len() != args.len() {
        return false;
    }
    match v.len() {
        1 | 3 => v.iter().all(|c| *c >= 0.99),
        4 => v.iter().all(|c| *c <= 0.01),
        _ => false,
    }
}

/// The path under construction and the rules painted so far.
#[derive(Default)]
pub struct Paths {
    pub ink: Ink,
    /// The current path's subpaths: each point, and whether a straight
    /// line (not a curve) reached it.
    subpaths: Vec<Vec<(Point, bool)>>,
    points: usize,
    pub rules: Vec<Rule>,
}

fn at(ctm: Matrix, x: f32, y: f32) -> Point {
    let [a, b, c, d, e, f] = ctm.0;
    (x * a + y * c + e, x * b + y * d + f)
}

impl Paths {
    /// A path-construction operator (`m l c v y h re`).
    pub fn build(&mut self, operator: &str, args: &[Object], ctm: Matrix) {
        let n = |i: usize| num(args.get(i));
        // A path of more points than a page keeps rules adds nothing.
        if self.points > 4 * MAX_RULES {
            return;
        }
        self.points += 1;
        let subs = &mut self.subpaths;
        let start = subs.last().and_then(|s| s.first()).map(|p| p.0);
        let mut to = |p: Point, straight: bool| match subs.last_mut() {
            Some(sub) => sub.push((p, straight)),
            None => subs.push(vec![(p, false)]),
        };
        match operator {
            "m" => subs.push(vec![(at(ctm, n(0), n(1)), false)]),
            "l" => to(at(ctm, n(0), n(1)), true),
            "c" => to(at(ctm, n(4), n(5)), false),
            "v" | "y" => to(at(ctm, n(2), n(3)), false),
            "h" => {
                if let Some(start) = start {
                    to(start, true);
                }
            }
            "re" => {
                let (x, y, w, h) = (n(0), n(1), n(2), n(3));
                let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
                let sub = corners
                    .iter()
                    .enumerate()
                    .map(|(i, &(px, py))| (at(ctm, px, py), i > 0))
                    .collect();
                subs.push(sub);
            }
            _ => {}
        }
    }

    /// A colour operator (`G g RG rg K k SC sc SCN scn CS cs`).
    pub fn color(&mut self, operator: &str, args: &[Object]) {
        let white = !operator.ends_with(['S', 's']) && white(args);
        if operator.starts_with(char::is_uppercase) {
            self.ink.stroke_white = white;
        } else {
            self.ink.fill_white = white;
        }
    }

    /// A painting operator: stroking keeps the path's straight lines
    /// that run across or down; filling keeps the thin shapes of
    /// straight lines (a hairline drawn as a filled box); either way
    /// (and `n`) the path is done.
    pub fn paint(&mut self, operator: &str) {
        let stroked =
            matches!(operator, "S" | "s" | "B" | "B*" | "b" | "b*") && !self.ink.stroke_white;
        let filled =
            matches!(operator, "f" | "F" | "f*" | "B" | "B*" | "b" | "b*") && !self.ink.fill_white;
        let closes = matches!(operator, "s" | "b" | "b*");
        let subpaths = std::mem::take(&mut self.subpaths);
        self.points = 0;
        for mut sub in subpaths {
            // `s`, `b` and `b*` close each subpath before they paint it.
            if let (true, Some(&(start, _))) = (closes, sub.first()) {
                sub.push((start, true));
            }
            if stroked {
                for pair in sub.windows(2).filter(|p| p[1].1) {
                    self.keep(line(pair[0].0, pair[1].0));
                }
            }
            if filled && sub.iter().skip(1).all(|p| p.1) {
                let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
                for &((x, y), _) in &sub {
                    b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                }
                if b[3] - b[1] <= THICKNESS || b[2] - b[0] <= THICKNESS {
                    self.keep(thin(b[0], b[2], b[1], b[3]));
                }
            }
        }
    }

    fn keep(&mut self, rule: Option<Rule>) {
        if let Some(rule) = rule {
            if self.rules.len() < MAX_RULES {
                self.rules.push(rule);
            }
        }
    }
}

/// A straight segment as a rule, if it runs across or down the page.
fn line((ax, ay): Point, (bx, by): Point) -> Option<Rule> {
    let (dx, dy) = ((bx - ax).abs(), (by - ay).abs());
    if !(ax.is_finite() && ay.is_finite() && bx.is_finite() && by.is_finite()) {
        return None;
    }
    if dy <= 0.5 && dx >= SHORTEST {
        Some(Rule::Across {
            y: (ay + by) / 2.0,
            x0: ax.min(bx),
            x1: ax.max(bx),
        })
    } else if dx <= 0.5 && dy >= SHORTEST {
        Some(Rule::Down {
            x: (ax + bx) / 2.0,
            y0: ay.min(by),
            y1: ay.max(by),
        })
    } else {
        None
    }
}

/// A thin filled rectangle as the line it draws.
fn thin(l: f32, r: f32, bottom: f32, top: f32) -> Option<Rule> {
    if r - l >= top - bottom {
        let y = (top + bottom) / 2.0;
        line((l, y), (r, y))
    } else {
        let x = (l + r) / 2.0;
        line((x, bottom), (x, top))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::matrix::IDENTITY;

    fn nums(v: &[f32]) -> Vec<Object> {
        v.iter().map(|x| Object::Real(*x)).collect()
    }

    #[test]
    fn strokes_thin_fills_and_stroked_boxes_are_rules_areas_and_curves_are_not() {
        let mut p = Paths::default();
        p.build("m", &nums(&[10.0, 100.0]), IDENTITY);
        p.build("l", &nums(&[200.0, 100.0]), IDENTITY);
        p.build("c", &nums(&[0.0, 0.0, 5.0, 5.0, 50.0, 50.0]), IDENTITY);
        p.paint("S");
        assert_eq!(
            p.rules,
            vec![Rule::Across {
                y: 100.0,
                x0: 10.0,
                x1: 200.0
            }]
        );
        // A filled shading rectangle is no rule; a filled hairline is.
        p.build("re", &nums(&[10.0, 10.0, 100.0, 40.0]), IDENTITY);
        p.build("re", &nums(&[10.0, 60.0, 0.5, 30.0]), IDENTITY);
        p.paint("f");
        assert_eq!(p.rules.len(), 2);
        assert!(matches!(p.rules[1], Rule::Down { x, .. } if (x - 10.25).abs() < 1e-3));
        // A stroked box is four rules; a discarded path (`n`) none.
        p.build("re", &nums(&[0.0, 0.0, 50.0, 20.0]), IDENTITY);
        p.paint("S");
        assert_eq!(p.rules.len(), 6);
        p.build("re", &nums(&[0.0, 0.0, 50.0, 20.0]), IDENTITY);
        p.paint("n");
        assert_eq!(p.rules.len(), 6);
        // Three sides drawn, closed and stroked by `s`: four rules.
        p.build("m", &nums(&[0.0, 0.0]), IDENTITY);
        for (x, y) in [(50.0, 0.0), (50.0, 20.0), (0.0, 20.0)] {
            p.build("l", &nums(&[x, y]), IDENTITY);
        }
        p.paint("s");
        assert_eq!(p.rules.len(), 10);
    }

    #[test]
    fn a_page_of_hatching_keeps_a_bounded_number_of_rules() {
        let mut p = Paths::default();
        for i in 0..(3 * MAX_RULES) {
            let y = i as f32;
            p.build("m", &nums(&[0.0, y]), IDENTITY);
            p.build("l", &nums(&[100.0, y]), IDENTITY);
            p.paint("S");
        }
        assert_eq!(p.rules.len(), MAX_RULES);
    }
}
