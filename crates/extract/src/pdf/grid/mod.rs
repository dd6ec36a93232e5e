//! Tables drawn as grids of ruling lines ([`super::rules`]). Rules that
//! touch make one figure; a figure with two columns and two rows or more
//! is a grid, its column edges where rules run down (and its outer
//! sides), its row edges where rules run across. Two neighbouring slots
//! without a rule between them are one cell (a spanned header, a cell of
//! two lines): its text goes in its top-left slot, the others stay
//! empty, as in a Markdown table. A line of text belongs to the grid
//! it stands in; its words go to the cells they fall in, cut where a
//! column edge crosses a gap between them, so cells set closer than an
//! em (which the alignment finder of [`super::tables`] cannot part) are
//! parted by their rules, in whatever order the page drew them.

use super::line::TextLine;
use super::rules::Rule;
use std::collections::BTreeMap;

/// Coordinates closer than this (points) are one edge.
const TOL: f32 = 2.0;

/// Most pairs of rules (one across, one down) a page's grids are sought
/// among: a full grid of five hundred rules each way (a table's is tens).
/// With the document's operator budget, this bounds the work a hostile
/// document's rules can cost.
const MAX_CROSSINGS: usize = 250_000;

/// Most grids one page keeps (each is held against every line).
const MAX_GRIDS: usize = 64;

/// Most slots (rows × columns) a grid may have.
const MAX_SLOTS: usize = 20_000;

/// Fewest of a grid's slot sides that rules draw (see `ruled_share`).
const MIN_RULED: f32 = 0.6;

/// A cell of more words is prose in a frame (columns of an article
/// parted by a rule), not a table's cell.
const MAX_CELL_WORDS: usize = 150;

/// Lines of more words than this, on average, are prose set in ruled
/// columns, not rows of a table.
const ROW_WORDS: usize = 6;

/// A grid of rules on a page.
pub struct Grid {
    /// Left, bottom, right, top.
    pub area: [f32; 4],
    /// Column edges, left to right.
    xs: Vec<f32>,
    /// Row edges, top to bottom.
    ys: Vec<f32>,
    rules: Vec<Rule>,
}

fn bounds(rule: &Rule) -> [f32; 4] {
    match *rule {
        Rule::Across { y, x0, x1 } => [x0, y, x1, y],
        Rule::Down { x, y0, y1 } => [x, y0, x, y1],
    }
}

fn widen(a: &mut [f32; 4], b: &[f32; 4]) {
    a[0] = a[0].min(b[0]);
    a[1] = a[1].min(b[1]);
    a[2] = a[2].max(b[2]);
    a[3] = a[3].max(b[3]);
}

/// Sorted values with those closer than [`TOL`] to the previous one kept once.
fn edges(mut v: Vec<f32>) -> Vec<f32> {
    v.sort_by(f32::total_cmp);
    v.dedup_by(|b, a| *b - *a <= TOL);
    v
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The grids a page's rules draw. Figures are the rules that cross or
/// touch one another (a rule across meeting a rule down), so a page's
/// frame and the table inside it are two figures.
pub fn grids(rules: &[Rule]) -> Vec<Grid> {
    let mut across: Vec<(f32, f32, f32, usize)> = Vec::new();
    let mut down: Vec<(f32, f32, f32, usize)> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match *r {
            Rule::Across { y, x0, x1 } => across.push((y, x0, x1, i)),
            Rule::Down { x, y0, y1 } => down.push((x, y0, y1, i)),
        }
    }
    across.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut parent: Vec<usize> = (0..rules.len()).collect();
    let mut budget = MAX_CROSSINGS;
    'downs: for &(x, y0, y1, d) in &down {
        let from = across.partition_point(|a| a.0 < y0 - TOL);
        for &(_, x0, x1, a) in across[from..].iter().take_while(|a| a.0 <= y1 + TOL) {
            if budget == 0 {
                break 'downs;
            }
            budget -= 1;
            if x >= x0 - TOL && x <= x1 + TOL {
                let (ra, rd) = (root(&mut parent, a), root(&mut parent, d));
                parent[ra] = rd;
            }
        }
    }
    let mut figures: BTreeMap<usize, ([f32; 4], Vec<Rule>)> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        let b = bounds(rule);
        let figure = figures
            .entry(root(&mut parent, i))
            .or_insert_with(|| (b, Vec::new()));
        widen(&mut figure.0, &b);
        figure.1.push(*rule);
    }
    figures
        .into_values()
        .filter_map(|(area, rules)| grid(area, rules))
        .take(MAX_GRIDS)
        .collect()
}

fn grid(area: [f32; 4], rules: Vec<Rule>) -> Option<Grid> {
    let mut xs = vec![area[0], area[2]];
    let mut ys = vec![area[1], area[3]];
    for r in &rules {
        match *r {
            Rule::Across { y, .. } => ys.push(y),
            Rule::Down { x, .. } => xs.push(x),
        }
    }
    let xs = edges(xs);
    let mut ys = edges(ys);
    ys.reverse();
    let slots = (xs.len().saturating_sub(1)) * (ys.len().saturating_sub(1));
    (xs.len() >= 3 && ys.len() >= 3 && slots <= MAX_SLOTS).then_some(Grid {
        area,
        xs,
        ys,
        rules,
    })
}

/// Spans covered by rules along each column edge and each row edge.
type Spans = (Vec<Vec<(f32, f32)>>, Vec<Vec<(f32, f32)>>);

/// Whether a rule's span covers `v`.
fn covers(spans: &[(f32, f32)], v: f32) -> bool {
    spans.iter().any(|&(a, b)| v >= a - TOL && v <= b + TOL)
}

/// Where `v` falls among `edges` (ascending or descending): the slot
/// between two neighbours.
fn slot(edges: &[f32], v: f32) -> Option<usize> {
    edges.windows(2).position(|w| {
        let (lo, hi) = (w[0].min(w[1]), w[0].max(w[1]));
        v >= lo && v <= hi
    })
}

impl Grid {
    /// Whether a line stands in the grid (its middle inside the area).
    pub fn holds(&self, line: &TextLine) -> bool {
        let (x, y) = (
            (line.left + line.right) / 2.0,
            line.baseline + 0.3 * line.size,
        );
        x >= self.area[0] && x <= self.area[2] && y >= self.area[1] && y <= self.area[3]
    }

    /// The spans the rules cover along each column edge and each row edge.
    fn spans(&self) -> Spans {
        let mut at_x: Vec<Vec<(f32, f32)>> = vec![Vec::new(); self.xs.len()];
        let mut at_y: Vec<Vec<(f32, f32)>> = vec![Vec::new(); self.ys.len()];
        for r in &self.rules {
            let (edges, at, span, spans) = match *r {
                Rule::Across { y, x0, x1 } => (&self.ys, y, (x0, x1), &mut at_y),
                Rule::Down { x, y0, y1 } => (&self.xs, x, (y0, y1), &mut at_x),
            };
            if let Some(k) = edges.iter().position(|e| (e - at).abs() <= TOL) {
                spans[k].push(span);
            }
        }
        (at_x, at_y)
    }

    /// The share of its slots' sides that rules draw: a table's grid
    /// rules most of them (all but where cells span, or an open side);
    /// rules of a page's figures that happen to cross a page-wide rule
    /// draw few.
    fn ruled_share(&self, (at_x, at_y): &Spans) -> f32 {
        let slots = (self.ys.len() - 1) * (self.xs.len() - 1);
        let ruled: usize = self
            .slots()
            .map(|(r, c, mid_x, mid_y)| {
                [
                    covers(&at_x[c], mid_y),
                    covers(&at_x[c + 1], mid_y),
                    covers(&at_y[r], mid_x),
                    covers(&at_y[r + 1], mid_x),
                ]
                .iter()
                .filter(|b| **b)
                .count()
            })
            .sum();
        ruled as f32 / (4 * slots) as f32
    }

    /// Each slot, row by row: its row, its column and its middle.
    fn slots(&self) -> impl Iterator<Item = (usize, usize, f32, f32)> + '_ {
        let mids = |e: &[f32]| -> Vec<f32> { e.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect() };
        let (xs, ys) = (mids(&self.xs), mids(&self.ys));
        ys.into_iter().enumerate().flat_map(move |(r, mid_y)| {
            xs.clone()
                .into_iter()
                .enumerate()
                .map(move |(c, mid_x)| (r, c, mid_x, mid_y))
        })
    }

    /// Whether rules run across most of the grid's top and its bottom
    /// (a table's frame, or a ruled table's top and bottom rules), not
    /// only down past them.
    fn closed(&self, at_y: &[Vec<(f32, f32)>]) -> bool {
        let (left, right) = (self.xs[0], self.xs[self.xs.len() - 1]);
        let ruled = |spans: &[(f32, f32)]| {
            let mut spans: Vec<(f32, f32)> = spans
                .iter()
                .map(|&(a, b)| (a.max(left), b.min(right)))
                .collect();
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (mut length, mut reach) = (0.0, left);
            for (a, b) in spans {
                length += (b - a.max(reach)).max(0.0);
                reach = reach.max(b);
            }
            length >= 0.8 * (right - left)
        };
        ruled(&at_y[0]) && ruled(&at_y[at_y.len() - 1])
    }

    /// Each cell's area (left, bottom, right, top), a spanned cell whole;
    /// none when the rules do not make a table (as [`Grid::rows`] says).
    pub fn cell_areas(&self) -> Vec<[f32; 4]> {
        let spans = self.spans();
        if self.ruled_share(&spans) < MIN_RULED || !self.closed(&spans.1) {
            return Vec::new();
        }
        let cols = self.xs.len() - 1;
        let mut areas: BTreeMap<usize, [f32; 4]> = BTreeMap::new();
        for (i, owner) in self.cells(&spans).into_iter().enumerate() {
            let (r, c) = (i / cols, i % cols);
            let slot = [self.xs[c], self.ys[r + 1], self.xs[c + 1], self.ys[r]];
            areas
                .entry(owner)
                .and_modify(|a| widen(a, &slot))
                .or_insert(slot);
        }
        areas.into_values().collect()
    }

    /// Each slot's cell: the top-left slot of the ruled cell it is part
    /// of (a slot without a rule on its left joins its left neighbour's
    /// cell, else one without a rule above joins the cell above).
    fn cells(&self, (at_x, at_y): &Spans) -> Vec<usize> {
        let (rows, cols) = (self.ys.len() - 1, self.xs.len() - 1);
        let mut owner: Vec<usize> = (0..rows * cols).collect();
        for (r, c, mid_x, mid_y) in self.slots() {
            let i = r * cols + c;
            if c > 0 && !covers(&at_x[c], mid_y) {
                owner[i] = owner[i - 1];
            } else if r > 0 && !covers(&at_y[r], mid_x) {
                owner[i] = owner[i - cols];
            }
        }
        owner
    }
}

mod text;

#[cfg(test)]
mod tests;
