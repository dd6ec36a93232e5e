//! Structure read from corpus PDFs: tables by the alignment of their
//! cells, headings by their type; and tables drawn with ruling lines, from
//! a fixture ReportLab wrote (`fixtures/make_ruled_pdf.py`).

use quire_extract::extract;
use quire_extract::model::Kind;

fn corpus(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../../shared/corpus/example-docs/pdf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_papers_table_comes_back_as_rows_and_cells() {
    let ex = extract("application/pdf", &corpus("multi-column.pdf")).unwrap();
    let tables: Vec<&Vec<Vec<String>>> = ex
        .elements
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Table { rows } => Some(rows),
            _ => None,
        })
        .collect();
    let datasets = tables
        .iter()
        .find(|t| t[0] == ["Dataset", "Train", "Dev", "Test"])
        .unwrap_or_else(|| panic!("no dataset table among {tables:?}"));
    assert!(datasets.contains(&vec![
        "TriviaQA".to_string(),
        "78,785 60,413".to_string(),
        "8,837".to_string(),
        "11,313".to_string()
    ]));
    // Table 5: its header set tighter than an em (one stretch of text),
    // cut where the body's columns part.
    let gold = tables
        .iter()
        .find(|t| t.iter().any(|r| r[0] == "Dist. Sup."))
        .unwrap_or_else(|| panic!("no Table 5 among {tables:?}"));
    assert_eq!(gold[0], ["", "Top-1", "Top-5", "Top-20", "Top-100"]);
    assert_eq!(gold[2], ["Dist. Sup.", "43.9", "65.3", "77.1", "84.4"]);
    // In Markdown, a GFM table.
    assert!(ex
        .markdown()
        .contains("| Dataset | Train | Dev | Test |\n| --- | --- | --- | --- |"));
}

#[test]
fn a_bulleted_list_is_not_a_table() {
    let ex = extract("application/pdf", &corpus("list-item-example.pdf")).unwrap();
    assert!(!ex
        .elements
        .iter()
        .any(|e| matches!(e.kind, Kind::Table { .. })));
}

fn tables_of(pdf: &[u8]) -> Vec<Vec<Vec<String>>> {
    let ex = extract("application/pdf", pdf).unwrap();
    ex.elements
        .into_iter()
        .filter_map(|e| match e.kind {
            Kind::Table { rows } => Some(rows),
            _ => None,
        })
        .collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[test]
fn tables_ruled_by_a_report_generator_come_back_cell_for_cell() {
    let pdf = include_bytes!("fixtures/ruled-tables.pdf");
    let tables = tables_of(pdf);
    assert_eq!(tables.len(), 3, "{tables:?}");
    // Boxed cells 3 pt from their rules; "Results" spans two columns,
    // the first two headers two rows; "Low vision"'s cells wrap.
    assert_eq!(
        tables[0],
        vec![
            row(&["Disability category", "Participants", "Results", ""]),
            row(&["", "", "Accuracy", "Time to complete"]),
            row(&["Blind", "5", "34.5%, n=1", "1199 sec, n=1"]),
            row(&[
                "Low vision",
                "5",
                "98.3% n=2 (97.7%, n=3)",
                "1716 sec, n=3 (1934 sec, n=2)"
            ]),
            row(&["Dexterity", "5", "98.3%, n=4", "1672.1 sec, n=4"]),
        ]
    );
    // Sixty rows over three pages, one table, the repeated header once.
    let months = &tables[1];
    assert_eq!(months.len(), 61);
    assert_eq!(months[0], row(&["Month", "Station", "Reading", "Flag"]));
    assert_eq!(months[1], row(&["2024-01", "ST-100", "12.50", "late"]));
    assert_eq!(months[60], row(&["2024-12", "ST-159", "56.75", "ok"]));
    assert_eq!(months.iter().filter(|r| r[0] == "Month").count(), 1);
    // Ruled down its columns and under its header only: a row per line.
    assert_eq!(
        tables[2],
        vec![
            row(&["Year", "Budget", "Spent", "Staff"]),
            row(&["2019", "1,000", "900", "12"]),
            row(&["2020", "1,250", "1,140", "13"]),
            row(&["2021", "1,500", "1,380", "14"]),
            row(&["2022", "1,750", "1,620", "15"]),
            row(&["2023", "2,000", "1,860", "16"]),
        ]
    );
}
