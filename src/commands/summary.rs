//! `summarize_extractive`: picks the most representative sentences. Each
//! sentence scores the mean normalised frequency of its content words,
//! with a small bonus for coming early; the best are returned in document
//! order. No model, no network: also the fallback when LLMs are down.

use super::text::{is_stopword, sentences, words};
use std::collections::HashMap;

pub fn summarize(text: &str, max_sentences: usize) -> Vec<String> {
    let sents = sentences(text);
    let mut freq: HashMap<String, f64> = HashMap::new();
    for w in words(text) {
        let w = w.to_lowercase();
        if !is_stopword(&w) && w.chars().count() > 2 {
            *freq.entry(w).or_default() += 1.0;
        }
    }
    let top = freq.values().copied().fold(0.0, f64::max);
    if top == 0.0 {
        return sents
            .iter()
            .take(max_sentences)
            .map(|s| s.to_string())
            .collect();
    }
    let n = sents.len().max(1) as f64;
    let mut scored: Vec<(usize, f64)> = sents
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let content: Vec<f64> = words(s)
                .filter_map(|w| freq.get(&w.to_lowercase()).map(|f| f / top))
                .collect();
            let base = if content.len() < 3 {
                0.0 // fragments and headings make poor summaries
            } else {
                content.iter().sum::<f64>() / (content.len() as f64).sqrt()
            };
            (i, base * (1.0 + 0.3 * (1.0 - i as f64 / n)))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut chosen: Vec<usize> = scored.iter().take(max_sentences).map(|(i, _)| *i).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| sents[i].to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_central_sentences_are_chosen_in_order() {
        let text = "Quire extracts text from documents. The weather was nice. \
                    Quire turns documents into text and structure for applications. \
                    Lunch was late. Applications send documents to Quire over HTTPS.";
        let s = summarize(text, 2);
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|x| x.contains("Quire")), "{s:?}");
        assert!(text.find(&s[0]).unwrap() < text.find(&s[1]).unwrap());
    }

    #[test]
    fn short_texts_come_back_whole() {
        assert_eq!(summarize("Only one.", 3), vec!["Only one."]);
    }
}
