//! Structure read from corpus PDFs: tables by the alignment of their
//! cells, headings by their type.

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
