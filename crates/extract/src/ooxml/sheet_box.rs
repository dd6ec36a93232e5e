//! Where a worksheet's cells stand on the sheet, as Excel lays it out at
//! 100 %: column widths (`<col width>`, in characters of the default
//! font's digit, Calibri 11's 7 px unless the sheet says otherwise) and
//! row heights (`<row ht>`, points), hidden ones taking no room, the
//! sheet's defaults (`<sheetFormatPr>`) for the rest. A table's box is
//! the used range's: points from the top-left corner of cell A1.

use super::Attrs;

/// Excel's default digit width (Calibri 11), pixels.
const DIGIT_PX: f32 = 7.0;
/// Excel's default column width, characters.
const DEFAULT_WIDTH: f32 = 8.43;
/// Excel's default row height, points.
const DEFAULT_HEIGHT: f32 = 15.0;
/// Most column ranges one sheet keeps (beyond, the default width).
const MAX_COLS: usize = 2_000;
/// Most row heights one sheet keeps (beyond, the default height).
const MAX_ROWS: usize = 100_000;

#[derive(Default)]
pub(super) struct SheetBox {
    default_width: Option<f32>,
    default_height: Option<f32>,
    /// First and last column (zero-based), width in characters (0 hidden).
    cols: Vec<(usize, usize, f32)>,
    /// Row (zero-based) and its height in points (0 hidden).
    rows: Vec<(usize, f32)>,
    /// First column, first row, last column, last row holding text.
    used: Option<[usize; 4]>,
}

fn number(a: &Attrs, key: &str) -> Option<f32> {
    a.get(key)?
        .trim()
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

fn hidden(a: &Attrs) -> bool {
    matches!(a.get("hidden"), Some("1" | "true"))
}

impl SheetBox {
    /// `<sheetFormatPr>`: the sheet's default width and height.
    pub fn format(&mut self, a: &Attrs) {
        self.default_width = number(a, "defaultColWidth");
        self.default_height = number(a, "defaultRowHeight");
    }

    /// `<col min max width hidden>` (one-based, inclusive).
    pub fn col(&mut self, a: &Attrs) {
        let at = |k| a.get(k).and_then(|v| v.trim().parse::<usize>().ok());
        let (Some(min), Some(max)) = (at("min"), at("max")) else {
            return;
        };
        let width = if hidden(a) {
            0.0
        } else {
            number(a, "width").unwrap_or(DEFAULT_WIDTH)
        };
        if min >= 1 && max >= min && self.cols.len() < MAX_COLS {
            self.cols.push((min - 1, max - 1, width));
        }
    }

    /// `<row r ht hidden>` (one-based `r`): a height of its own.
    pub fn row(&mut self, row: usize, a: &Attrs) {
        let height = if hidden(a) {
            Some(0.0)
        } else {
            number(a, "ht")
        };
        if let Some(h) = height.filter(|_| self.rows.len() < MAX_ROWS) {
            self.rows.push((row, h));
        }
    }

    /// A cell with text at `(col, row)`, zero-based.
    pub fn cell(&mut self, col: usize, row: usize) {
        let u = self.used.get_or_insert([col, row, col, row]);
        *u = [u[0].min(col), u[1].min(row), u[2].max(col), u[3].max(row)];
    }

    fn width(&self, col: usize) -> f32 {
        let chars = self
            .cols
            .iter()
            .rev()
            .find(|(min, max, _)| (*min..=*max).contains(&col))
            .map_or(self.default_width.unwrap_or(DEFAULT_WIDTH), |c| c.2);
        if chars == 0.0 {
            return 0.0;
        }
        // Excel's rule: the characters' pixels plus 5 px of padding,
        // truncated; 96 px to 72 pt.
        (chars * DIGIT_PX + 5.0).trunc() * 0.75
    }

    /// Left edge of column `col`.
    fn x(&self, col: usize) -> f32 {
        (0..col).map(|c| self.width(c)).fold(0.0, |a, w| a + w)
    }

    /// Top edge of row `row`: the default height per row, corrected by the
    /// rows above that have one of their own.
    fn y(&self, row: usize) -> f32 {
        let default = self.default_height.unwrap_or(DEFAULT_HEIGHT);
        let mut custom: Vec<(usize, f32)> =
            self.rows.iter().copied().filter(|r| r.0 < row).collect();
        custom.sort_by_key(|r| r.0);
        custom.dedup_by_key(|r| r.0);
        row as f32 * default + custom.iter().map(|(_, h)| h - default).sum::<f32>()
    }

    /// The used range's box: left, top, right, bottom in points from A1's
    /// top-left corner (y down).
    pub fn bbox(&self) -> Option<[f32; 4]> {
        let [c0, r0, c1, r1] = self.used?;
        let tenth = |v: f32| (v * 10.0).round() / 10.0;
        Some([
            tenth(self.x(c0)),
            tenth(self.y(r0)),
            tenth(self.x(c1 + 1)),
            tenth(self.y(r1 + 1)),
        ])
    }
}
