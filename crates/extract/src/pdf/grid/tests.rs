use super::super::testpdf::one_page;
use crate::model::Kind;
use crate::Limits;

/// The tables of a one-page PDF drawn by `content` (Helvetica, whose
/// glyphs the reader takes as half an em wide: no widths are given).
fn tables(content: &str) -> Vec<Vec<Vec<String>>> {
    let res = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>";
    let pdf = one_page(res, content.as_bytes(), vec![]);
    let (ex, _) = super::super::extract(&pdf, &Limits::default()).unwrap();
    ex.elements
        .into_iter()
        .filter_map(|e| match e.kind {
            Kind::Table { rows } => Some(rows),
            _ => None,
        })
        .collect()
}

fn rows(r: &[&[&str]]) -> Vec<Vec<String>> {
    r.iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Column edges 72, 172, 272, 372; row edges 700, 680, 650, 630.
/// The header's "Results" spans the last two columns (no rule down
/// at 272 above 680).
const RULES: &str = "0.5 w 72 630 300 70 re S 72 680 m 372 680 l S \
    72 650 m 372 650 l S 172 630 m 172 700 l S 272 630 m 272 680 l S ";

#[test]
fn a_ruled_grid_parts_cells_closer_than_an_em_keeps_spans_and_wrapped_lines() {
    // "Low vision" (10 glyphs, 50 pt) ends at 168, "98.3%" starts at
    // 176: 8 pt apart at 10 pt, one stretch of text to the eye of the
    // alignment finder; the rule down at 172 parts them. The rest is
    // drawn column by column, the last cell on two lines.
    let text = "BT /F1 10 Tf 76 686 Td (Group) Tj ET \
        BT /F1 10 Tf 200 686 Td (Results) Tj ET \
        BT /F1 10 Tf 118 668 Td (Low vision) Tj 58 0 Td (98.3%) Tj ET \
        BT /F1 10 Tf 76 636 Td (Mobility) Tj ET \
        BT /F1 10 Tf 176 636 Td (95.4%) Tj ET \
        BT /F1 10 Tf 276 668 Td (1716 sec) Tj 0 -12 Td (n=3) Tj ET \
        BT /F1 10 Tf 276 636 Td (1416 sec) Tj ET";
    assert_eq!(
        tables(&format!("{RULES}{text}")),
        vec![rows(&[
            &["Group", "Results", ""],
            &["Low vision", "98.3%", "1716 sec n=3"],
            &["Mobility", "95.4%", "1416 sec"],
        ])]
    );
}

#[test]
fn a_grid_ruled_down_its_columns_but_not_between_rows_is_a_row_per_line() {
    let rules = "72 700 m 372 700 l S 72 684 m 372 684 l S 72 620 m 372 620 l S \
        72 620 m 72 700 l S 172 620 m 172 700 l S 272 620 m 272 700 l S 372 620 m 372 700 l S ";
    let mut text = String::from(
        "BT /F1 10 Tf 76 688 Td (Year) Tj 100 0 Td (Sales) Tj 100 0 Td (Staff) Tj ET ",
    );
    for (i, y) in [670, 656, 642, 628].iter().enumerate() {
        text.push_str(&format!(
            "BT /F1 10 Tf 76 {y} Td (20{:02}) Tj 100 0 Td ({}) Tj 100 0 Td ({}) Tj ET ",
            20 + i,
            100 * (i + 1),
            3 + i
        ));
    }
    assert_eq!(
        tables(&format!("{rules}{text}")),
        vec![rows(&[
            &["Year", "Sales", "Staff"],
            &["2020", "100", "3"],
            &["2021", "200", "4"],
            &["2022", "300", "5"],
            &["2023", "400", "6"],
        ])]
    );
}

#[test]
fn prose_in_ruled_columns_and_a_layout_grid_drawn_in_white_are_not_tables() {
    // An article's two columns in a frame, a rule between them, under
    // a running header.
    let mut prose = String::from(
        "72 600 m 540 600 l S 72 720 m 540 720 l S 72 740 m 540 740 l S \
         72 600 m 72 740 l S 540 600 m 540 740 l S 306 600 m 306 740 l S \
         BT /F1 9 Tf 76 726 Td (Journal of Things) Tj 234 0 Td (Page 3) Tj ET ",
    );
    // Each column drawn down the page, then the next.
    let line = "words set in a column of prose that fills";
    for x in [76, 310] {
        for i in 0..6 {
            let y = 706 - 14 * i;
            prose.push_str(&format!("BT /F1 9 Tf {x} {y} Td ({line}) Tj ET "));
        }
    }
    assert!(tables(&prose).is_empty());
    // The grid of the first test in white: a layout table's borders.
    let cells = "BT /F1 10 Tf 76 686 Td (Group) Tj ET BT /F1 10 Tf 200 686 Td (Results) Tj ET \
        BT /F1 10 Tf 76 636 Td (Mobility) Tj ET BT /F1 10 Tf 176 636 Td (95.4%) Tj ET";
    assert_eq!(tables(&format!("{RULES}{cells}")).len(), 1);
    assert!(tables(&format!("1 G {RULES}0 G {cells}")).is_empty());
}

#[test]
fn rules_of_figures_that_cross_a_page_wide_rule_make_no_grid() {
    // A footer rule across the page, and a figure's box open at the
    // top standing across it; text in all four places.
    let rules = "24 60 m 590 60 l S 100 20 m 100 140 l S 200 20 m 200 140 l S \
        100 20 m 200 20 l S ";
    let text = "BT /F1 10 Tf 30 100 Td (Text) Tj ET BT /F1 10 Tf 120 100 Td (Inside) Tj ET \
        BT /F1 10 Tf 30 40 Td (Page 1) Tj ET BT /F1 10 Tf 120 40 Td (Caption) Tj ET";
    assert!(tables(&format!("{rules}{text}")).is_empty());
}

#[test]
fn a_page_of_thousands_of_boxes_and_lines_is_read_within_its_bounds() {
    // Hostile: 3,000 small stroked boxes in touching rows and columns (far
    // more rules than a page keeps), crossed by lines of text. The page
    // reads, with at most the grids a page keeps, each a well-formed table.
    let mut content = String::new();
    for i in 0..3_000 {
        let (x, y) = (20 + (i % 60) * 9, 20 + (i / 60) * 14);
        content.push_str(&format!("{x} {y} 9 14 re S "));
    }
    for i in 0..50 {
        let y = 24 + i * 14;
        content.push_str(&format!(
            "BT /F1 6 Tf 22 {y} Td (a b c d e f g h i j k l m) Tj ET "
        ));
    }
    let found = tables(&content);
    assert!(found.len() <= 64);
    for rows in &found {
        assert!(rows.len() >= 2 && rows.iter().all(|r| r.len() == rows[0].len()));
    }
}
