//! `keywords`: RAKE (Rapid Automatic Keyword Extraction). Candidate phrases
//! are runs of words between stopwords and punctuation; a word scores its
//! degree (co-occurrence within phrases) over its frequency; a phrase
//! scores the sum of its words.

use super::text::is_stopword;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Serialize, PartialEq)]
pub struct Keyword {
    pub phrase: String,
    pub score: f64,
    pub occurrences: usize,
}

const MAX_PHRASE_WORDS: usize = 4;

fn phrases(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let flush = |cur: &mut Vec<String>, out: &mut Vec<Vec<String>>| {
        if !cur.is_empty() && cur.len() <= MAX_PHRASE_WORDS {
            out.push(std::mem::take(cur));
        }
        cur.clear();
    };
    for token in text.split_inclusive(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-')) {
        let word: String = token
            .trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
            .trim_matches(['\'', '-'])
            .to_lowercase();
        let ends_phrase = token.ends_with(|c: char| ".,;:!?()[]{}\"\n\t|/".contains(c));
        if word.is_empty()
            || is_stopword(&word)
            || word.chars().all(|c| c.is_ascii_digit())
            || word.chars().count() < 2
        {
            flush(&mut cur, &mut out);
        } else {
            cur.push(word);
        }
        if ends_phrase {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

pub fn keywords(text: &str, max: usize) -> Vec<Keyword> {
    let phrases = phrases(text);
    let mut freq: HashMap<&str, f64> = HashMap::new();
    let mut degree: HashMap<&str, f64> = HashMap::new();
    for p in &phrases {
        for w in p {
            *freq.entry(w).or_default() += 1.0;
            *degree.entry(w).or_default() += p.len() as f64;
        }
    }
    let mut scored: HashMap<String, (f64, usize)> = HashMap::new();
    for p in &phrases {
        let score: f64 = p
            .iter()
            .map(|w| degree[w.as_str()] / freq[w.as_str()])
            .sum();
        let entry = scored.entry(p.join(" ")).or_insert((score, 0));
        entry.1 += 1;
    }
    let mut list: Vec<Keyword> = scored
        .into_iter()
        .map(|(phrase, (score, occurrences))| Keyword {
            phrase,
            // Repeated phrases matter more; log keeps one from dominating.
            score: (score * (1.0 + (occurrences as f64).ln()) * 100.0).round() / 100.0,
            occurrences,
        })
        .collect();
    list.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.phrase.cmp(&b.phrase))
    });
    list.truncate(max);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiword_phrases_outrank_single_words() {
        let text = "Compatibility of systems of linear constraints over the set of natural numbers. \
                    Criteria of compatibility of a system of linear Diophantine equations are given.";
        let kws = keywords(text, 3);
        assert_eq!(kws[0].phrase, "linear diophantine equations");
        assert!(kws.iter().any(|k| k.phrase == "linear constraints"));
    }

    #[test]
    fn empty_text_has_no_keywords() {
        assert!(keywords("", 5).is_empty());
        assert!(keywords("the and of 123", 5).is_empty());
    }
}
