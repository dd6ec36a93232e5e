//! A line of text as the page places it: its text, where it starts and
//! ends, its baseline, size and weight, and the segments wide gaps split
//! it into (a table row's cells).

/// Most segments (cells) one line keeps.
const MAX_SEGMENTS: usize = 256;

/// Most gaps one line keeps (a line of thousands of runs keeps the first).
const MAX_GAPS: usize = 4_096;

/// One line of text as the page places it (PDF user space: points, y up).
#[derive(Debug, Clone)]
pub struct TextLine {
    pub text: String,
    pub left: f32,
    pub right: f32,
    pub baseline: f32,
    /// The largest font height on the line.
    pub size: f32,
    bold_chars: usize,
    chars: usize,
    /// Stretches of the line separated by gaps of an em or more (cells,
    /// when the line is a table row): left, right, text.
    pub segments: Vec<(f32, f32, String)>,
    /// Gaps between runs (word spaces and wider): where each starts and
    /// ends, and the offset in `text` of what follows it. A ruled table's
    /// column edge crossing one parts two cells ([`super::grid`]).
    pub gaps: Vec<(f32, f32, usize)>,
}

impl TextLine {
    pub fn at(x: f32, y: f32) -> TextLine {
        TextLine {
            text: String::new(),
            left: x,
            right: x,
            baseline: y,
            size: 0.0,
            bold_chars: 0,
            chars: 0,
            segments: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// The line cut at the gaps `cut(left, right)` chooses: each piece's
    /// left, right and text (untrimmed; the last piece always there).
    pub fn cut(&self, cut: impl Fn(f32, f32) -> bool) -> Vec<(f32, f32, &str)> {
        let mut pieces = Vec::new();
        let (mut from, mut start) = (0, self.left);
        for &(g0, g1, at) in &self.gaps {
            let fits = at > from && at <= self.text.len() && self.text.is_char_boundary(at);
            if fits && cut(g0, g1) {
                pieces.push((start, g0, &self.text[from..at]));
                (from, start) = (at, g1);
            }
        }
        pieces.push((start, self.right, &self.text[from..]));
        pieces
    }

    /// Notes a gap from `x0` to `x1` before the text that follows.
    pub fn gap(&mut self, x0: f32, x1: f32) {
        if self.gaps.len() < MAX_GAPS {
            self.gaps.push((x0, x1, self.text.len()));
        }
    }

    /// Starts a new segment: what follows is past a wide gap.
    pub fn split(&mut self) {
        // A table row has tens of cells; past that, runs join the last.
        if self.segments.len() >= MAX_SEGMENTS {
            return;
        }
        if self.segments.last().is_some_and(|s| !s.2.trim().is_empty()) {
            self.segments.push((f32::MAX, f32::MIN, String::new()));
        }
    }

    /// Adds a run drawn from `x0` to `x1` in a font `size` high.
    pub fn add(&mut self, text: &str, (x0, x1): (f32, f32), size: f32, bold: bool) {
        let spaced = self.text.ends_with(' ');
        self.text.push_str(text);
        if self.segments.is_empty() {
            self.segments.push((f32::MAX, f32::MIN, String::new()));
        }
        let segment = self.segments.last_mut().expect("one segment at least");
        if spaced && !segment.2.is_empty() && !segment.2.ends_with(' ') {
            segment.2.push(' ');
        }
        segment.2.push_str(text);
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        if chars == 0 {
            return;
        }
        segment.0 = segment.0.min(x0.min(x1));
        segment.1 = segment.1.max(x0.max(x1));
        self.left = self.left.min(x0.min(x1));
        self.right = self.right.max(x0.max(x1));
        self.size = self.size.max(size);
        self.chars += chars;
        if bold {
            self.bold_chars += chars;
        }
    }

    /// Most of its letters (three in five) are bold: a word in another
    /// face (a product name, a symbol) does not unbold a heading.
    pub(super) fn bold(&self) -> bool {
        self.bold_chars * 5 >= self.chars * 3 && self.chars > 0
    }
}
