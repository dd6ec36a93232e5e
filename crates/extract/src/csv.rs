//! CSV and TSV: one table element. The delimiter is detected unless the
//! media type fixes it.

use super::model::Element;
use super::ExtractError;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

pub fn elements(source: &str, delimiter: Option<u8>) -> Result<Vec<Element>, ExtractError> {
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(source));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(source.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ExtractError::Malformed(format!("CSV row {} could not be read: {e}", i + 1))
        })?;
        let mut cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        while cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        if !cells.is_empty() {
            rows.push(cells);
        }
    }
    Ok(if rows.is_empty() {
        Vec::new()
    } else {
        vec![Element::table(rows)]
    })
}

/// Picks the candidate that splits the most sample lines into the same
/// number (> 0) of extra fields; ties go to the earlier candidate (comma).
pub fn detect_delimiter(source: &str) -> u8 {
    let lines: Vec<&str> = source
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let mut best = (b',', 0usize);
    for cand in CANDIDATES {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| count_outside_quotes(l, cand))
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|c| **c == first).count();
        let score = consistent * 1000 + first.min(999);
        if score > best.1 {
            best = (cand, score);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, delim: u8) -> usize {
    let mut in_quotes = false;
    line.bytes()
        .filter(|b| {
            if *b == b'"' {
                in_quotes = !in_quotes;
            }
            !in_quotes && *b == delim
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_win_over_commas_inside_cells() {
        let src = "Lorem, ipsum; dolor sit; amet\nconsectetur; adipiscing; elit\n";
        assert_eq!(detect_delimiter(src), b';');
        assert_eq!(
            elements(src, None).unwrap()[0].text,
            "Lorem, ipsum\tdolor sit\tamet\nconsectetur\tadipiscing\telit"
        );
    }

    #[test]
    fn quoted_cells_keep_their_delimiters_and_newlines() {
        let src = "a,\"b, c\"\n1,\"two\nlines\"\n";
        assert_eq!(
            elements(src, None).unwrap()[0].text,
            "a\tb, c\n1\ttwo\nlines"
        );
    }
}
