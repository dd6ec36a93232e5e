//! Signatures searched for through the whole of a document too large to
//! scan in one piece: fed in order, a part at a time, with the few bytes
//! before each part kept so that a signature across two parts is found;
//! or part by part in any order, with each part's edges kept to check the
//! joins afterwards. The EICAR test string in anything; active content in
//! a PDF.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Bytes kept on each side of a part: the longest signature, less one.
/// (Only the last part may be shorter, so joins of two parts suffice.)
pub const EDGE: usize = super::EICAR.len() - 1;

/// The hit of the EICAR test string; other hits are report flags.
pub const EICAR_HIT: &str = "eicar";

/// What a signature found means: [`EICAR_HIT`] or a flag.
pub type Hit = &'static str;

/// The signatures that matter for content declared as a PDF or not.
fn signatures(pdf: bool) -> Vec<(&'static [u8], Hit)> {
    let mut out: Vec<(&'static [u8], Hit)> = vec![(super::EICAR, EICAR_HIT)];
    if pdf {
        out.extend(super::PDF_MARKERS);
    }
    out
}

/// Searches `bytes` for the signatures.
pub fn hits_in(bytes: &[u8], pdf: bool) -> BTreeSet<Hit> {
    signatures(pdf)
        .into_iter()
        .filter(|(needle, _)| super::find(bytes, needle))
        .map(|(_, hit)| hit)
        .collect()
}

/// A whole stream searched in order.
#[derive(Debug)]
pub struct MarkerScan {
    pdf: bool,
    carry: Vec<u8>,
    hits: BTreeSet<Hit>,
}

impl MarkerScan {
    pub fn new(pdf: bool) -> MarkerScan {
        MarkerScan {
            pdf,
            carry: Vec::new(),
            hits: BTreeSet::new(),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        // The join: the carried bytes and the start of this chunk.
        let mut join = std::mem::take(&mut self.carry);
        join.extend_from_slice(&chunk[..chunk.len().min(EDGE)]);
        self.hits.extend(hits_in(&join, self.pdf));
        self.hits.extend(hits_in(chunk, self.pdf));
        let keep = join.len().min(EDGE);
        self.carry = if chunk.len() >= EDGE {
            chunk[chunk.len() - EDGE..].to_vec()
        } else {
            join[join.len() - keep..].to_vec()
        };
    }

    pub fn hits(&self) -> &BTreeSet<Hit> {
        &self.hits
    }

    /// The hits, as [`super::scan_large`] takes them.
    pub fn names(&self) -> Vec<String> {
        self.hits.iter().map(|h| h.to_string()).collect()
    }
}

/// Where a part's signatures are found when parts arrive in any order:
/// the part itself is searched on arrival, and its edges kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartMarks {
    pub hits: Vec<String>,
    /// Its first and last [`EDGE`] bytes.
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl PartMarks {
    pub fn of(part: &[u8], pdf: bool) -> PartMarks {
        PartMarks {
            hits: hits_in(part, pdf).iter().map(|h| h.to_string()).collect(),
            head: part[..part.len().min(EDGE)].to_vec(),
            tail: part[part.len().saturating_sub(EDGE)..].to_vec(),
        }
    }
}

/// All the hits of parts given in order, the joins included.
pub fn join_parts(parts: &[PartMarks], pdf: bool) -> Vec<String> {
    let mut hits: BTreeSet<String> = parts.iter().flat_map(|p| p.hits.iter().cloned()).collect();
    for pair in parts.windows(2) {
        let mut join = pair[0].tail.clone();
        join.extend_from_slice(&pair[1].head);
        hits.extend(hits_in(&join, pdf).iter().map(|h| h.to_string()));
    }
    hits.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document_with(marker: &[u8], at: usize, len: usize) -> Vec<u8> {
        let mut doc = vec![b'.'; len];
        doc[..8].copy_from_slice(b"%PDF-1.7");
        doc[at..at + marker.len()].copy_from_slice(marker);
        doc
    }

    #[test]
    fn a_signature_is_found_wherever_the_parts_split_it() {
        let doc = document_with(super::super::EICAR, 1000, 4096);
        for part in [1usize, 7, 67, 68, 69, 500, 1003, 1010, 4096] {
            let mut scan = MarkerScan::new(true);
            doc.chunks(part).for_each(|c| scan.feed(c));
            assert!(scan.hits().contains(EICAR_HIT), "parts of {part}");
            // Joins of two suffice when no part but the last is shorter
            // than EDGE, as with upload parts (5 MiB and more).
            if part < EDGE {
                continue;
            }
            let marks: Vec<PartMarks> = doc.chunks(part).map(|c| PartMarks::of(c, true)).collect();
            assert!(
                join_parts(&marks, true).contains(&EICAR_HIT.to_string()),
                "marks of {part}"
            );
        }
    }

    #[test]
    fn pdf_markers_count_only_in_a_pdf() {
        let doc = document_with(b"/OpenAction << /S /Launch >>", 3000, 5000);
        let marks: Vec<PartMarks> = doc.chunks(3010).map(|c| PartMarks::of(c, true)).collect();
        assert_eq!(join_parts(&marks, true), vec!["pdf_launch"]);
        let mut text = MarkerScan::new(false);
        text.feed(&doc);
        assert!(text.hits().is_empty(), "a text may mention /Launch");
        let mut clean = MarkerScan::new(true);
        vec![b'x'; 10_000].chunks(999).for_each(|c| clean.feed(c));
        assert!(clean.hits().is_empty());
    }
}
