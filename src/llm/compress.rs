//! Prompt compression: what of a document goes into a prompt. Pure.
//!
//! 1. Whitespace is normalised.
//! 2. Boilerplate is removed: short lines repeated three or more times
//!    (running headers and footers) and bare page numbers.
//! 3. Repeated paragraphs are kept once.
//! 4. If the text still exceeds the token budget, it is cut into chunks of
//!    about [`CHUNK_TOKENS`], each scored for relevance (to the question for
//!    `ask`, to the document's own salient terms otherwise, with a bonus
//!    for the opening), and the best chunks are kept, in document order,
//!    until the budget is spent.

use std::collections::{HashMap, HashSet};

/// Target size of a chunk, in tokens.
pub const CHUNK_TOKENS: u32 = 200;

/// Estimated tokens of a text: about four characters per token for
/// English-like text (the usual rule for BPE tokenisers), at least one per
/// word-like run. Used when a provider reports no usage, and for budgets.
pub fn estimate_tokens(text: &str) -> u32 {
    let chars = text.chars().count() as u32;
    let words = text.split_whitespace().count() as u32;
    chars.div_ceil(4).max(words)
}

/// The text sent, with what compression did to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Compressed {
    pub text: String,
    /// The chunks kept, in order (numbered from 1 in the prompt for `ask`).
    pub chunks: Vec<String>,
    pub original_tokens: u32,
    pub tokens: u32,
}

impl Compressed {
    /// Tokens sent over tokens of the original text (1.0: nothing removed).
    pub fn ratio(&self) -> f64 {
        if self.original_tokens == 0 {
            1.0
        } else {
            f64::from(self.tokens) / f64::from(self.original_tokens)
        }
    }
}

fn normalise(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn is_page_number(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    let l = l.trim_start_matches("page").trim();
    !l.is_empty()
        && l.len() <= 12
        && l.split([' ', '/'])
            .filter(|p| !p.is_empty() && *p != "of")
            .all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Paragraphs after normalisation, boilerplate removal and de-duplication.
fn paragraphs(text: &str) -> Vec<String> {
    let lines = normalise(text);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in lines.iter().filter(|l| !l.is_empty() && l.len() < 80) {
        *counts.entry(l.as_str()).or_default() += 1;
    }
    let mut paras: Vec<String> = Vec::new();
    let mut current = String::new();
    for l in &lines {
        let boiler = is_page_number(l) || counts.get(l.as_str()).is_some_and(|n| *n >= 3);
        if l.is_empty() {
            if !current.is_empty() {
                paras.push(std::mem::take(&mut current));
            }
        } else if !boiler {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(l);
        }
    }
    if !current.is_empty() {
        paras.push(current);
    }
    let mut seen = HashSet::new();
    paras.retain(|p| seen.insert(p.to_lowercase()));
    paras
}

fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
        .collect()
}

/// Groups paragraphs into chunks of about [`CHUNK_TOKENS`].
fn chunks_of(paras: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for p in paras {
        if !cur.is_empty() && estimate_tokens(&cur) + estimate_tokens(p) > CHUNK_TOKENS {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push_str("\n\n");
        }
        cur.push_str(p);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Scores chunks by the summed inverse document frequency of the query
/// terms they contain (or of each chunk's own terms, weighted by how often
/// the document uses them, when there is no query).
fn scores(chunks: &[String], query: Option<&str>) -> Vec<f64> {
    let chunk_terms: Vec<HashSet<String>> = chunks
        .iter()
        .map(|c| terms(c).into_iter().collect())
        .collect();
    let n = chunks.len() as f64;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for set in &chunk_terms {
        for t in set {
            *df.entry(t.as_str()).or_default() += 1.0;
        }
    }
    let idf = |t: &str| ((n + 1.0) / (df.get(t).copied().unwrap_or(0.0) + 0.5)).ln();
    let query_terms: Option<HashSet<String>> = query.map(|q| terms(q).into_iter().collect());
    chunk_terms
        .iter()
        .enumerate()
        .map(|(i, set)| {
            let base: f64 = match &query_terms {
                Some(q) => q.iter().filter(|t| set.contains(*t)).map(|t| idf(t)).sum(),
                // Salience: terms used in several chunks but not everywhere.
                None => {
                    set.iter()
                        .map(|t| {
                            let d = df.get(t.as_str()).copied().unwrap_or(0.0);
                            if d > 1.0 {
                                idf(t)
                            } else {
                                0.0
                            }
                        })
                        .sum::<f64>()
                        / (set.len().max(1) as f64).sqrt()
                }
            };
            // The opening states what a document is about.
            let opening = if query_terms.is_none() && i == 0 {
                1.5
            } else {
                1.0
            };
            base * opening
        })
        .collect()
}

/// Compresses `text` to at most `budget` tokens (see the module comment).
/// With `optimise` off only whitespace is normalised (the naive baseline).
pub fn compress(text: &str, budget: u32, query: Option<&str>, optimise: bool) -> Compressed {
    let original_tokens = estimate_tokens(text);
    if !optimise {
        let text = normalise(text).join("\n");
        return Compressed {
            tokens: estimate_tokens(&text),
            chunks: vec![text.clone()],
            text,
            original_tokens,
        };
    }
    let chunks = chunks_of(&paragraphs(text));
    let total: u32 = chunks.iter().map(|c| estimate_tokens(c)).sum();
    let kept: Vec<String> = if total <= budget {
        chunks
    } else {
        let s = scores(&chunks, query);
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        order.sort_by(|a, b| s[*b].total_cmp(&s[*a]).then(a.cmp(b)));
        let mut chosen = Vec::new();
        let mut used = 0;
        for i in order {
            let t = estimate_tokens(&chunks[i]);
            if used + t <= budget {
                used += t;
                chosen.push(i);
            }
        }
        chosen.sort_unstable();
        chosen.into_iter().map(|i| chunks[i].clone()).collect()
    };
    let text = kept.join("\n\n");
    Compressed {
        tokens: estimate_tokens(&text),
        chunks: kept,
        text,
        original_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_estimates_follow_length() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("a b c d e"), 5);
        assert_eq!(estimate_tokens(&"x".repeat(400)), 100);
    }

    #[test]
    fn boilerplate_whitespace_and_repeats_are_removed() {
        let page = |n: u32| {
            format!("ACME Corp — Confidential\n\nBody   of page {n} with  content.\n\nPage {n} of 3\n\n")
        };
        let text = format!(
            "{}{}{}Body of page 1 with content.",
            page(1),
            page(2),
            page(3)
        );
        let c = compress(&text, 10_000, None, true);
        assert!(!c.text.contains("Confidential"), "{}", c.text);
        assert!(!c.text.contains("Page 2 of 3"));
        assert_eq!(
            c.text.matches("Body of page 1").count(),
            1,
            "repeat kept once"
        );
        assert!(c.text.contains("Body of page 3 with content."));
        assert!(c.ratio() < 1.0);
    }

    #[test]
    fn over_budget_keeps_the_chunks_relevant_to_the_question_in_order() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("Paragraph {i} talks about shipping schedules and warehouse logistics in general terms, repeated filler words to take space.\n\n"));
        }
        text.push_str("The warranty period for the turbine is five years from installation.\n\n");
        for i in 40..60 {
            text.push_str(&format!("Paragraph {i} talks about shipping schedules and warehouse logistics in general terms, repeated filler words to take space.\n\n"));
        }
        let c = compress(&text, 300, Some("How long is the turbine warranty?"), true);
        assert!(c.tokens <= 300);
        assert!(
            c.text.contains("warranty period for the turbine"),
            "{}",
            c.text
        );
        assert!(c.ratio() < 0.25);
        let naive = compress(&text, 300, None, false);
        assert_eq!(naive.tokens, naive.original_tokens.min(naive.tokens));
        assert!(naive.tokens > 300, "the baseline does not cut");
    }

    #[test]
    fn page_numbers_are_recognised() {
        for l in ["3", "Page 3", "page 3 of 10", "3 / 10"] {
            assert!(is_page_number(l), "{l}");
        }
        for l in ["Page three", "3 apples", "Pages"] {
            assert!(!is_page_number(l), "{l}");
        }
    }
}
