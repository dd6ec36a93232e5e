//! `stats`: counts, a language guess and reading time.

use super::text::{sentences, words};
use crate::extract::model::{Element, Kind};
use serde::Serialize;

/// Frequent function words per language; the language whose words make up
/// the largest share of the text wins, if that share is meaningful.
const LANGUAGES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "of", "to", "is", "in", "that", "it", "for", "with", "are", "this",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "de", "que", "y", "en", "los", "las", "por", "con", "para", "una",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "de", "des", "et", "est", "un", "une", "du", "que", "pour",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "mit", "ein", "eine", "den", "zu", "auf",
        ],
    ),
    (
        "it",
        &[
            "il", "di", "che", "e", "la", "per", "un", "una", "non", "sono", "gli", "della",
        ],
    ),
    (
        "pt",
        &[
            "o", "a", "de", "que", "e", "do", "da", "em", "um", "para", "com", "não",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "van", "is", "dat", "op", "te", "zijn", "niet", "met",
        ],
    ),
];

/// Words per minute of silent reading (a common average).
const WPM: f64 = 230.0;

#[derive(Debug, Serialize, PartialEq)]
pub struct Stats {
    pub pages: u32,
    pub elements: usize,
    pub paragraphs: usize,
    pub headings: usize,
    pub tables: usize,
    pub words: usize,
    pub characters: usize,
    pub sentences: usize,
    /// ISO 639-1 code, or `null` when the text is too short or unclear.
    pub language: Option<&'static str>,
    pub reading_time_minutes: f64,
}

pub fn stats(elements: &[Element], text: &str, pages: u32) -> Stats {
    let word_count = words(text).count();
    let count = |f: fn(&Kind) -> bool| elements.iter().filter(|e| f(&e.kind)).count();
    Stats {
        pages,
        elements: elements.len(),
        paragraphs: count(|k| matches!(k, Kind::Paragraph)),
        headings: count(|k| matches!(k, Kind::Title | Kind::Heading { .. })),
        tables: count(|k| matches!(k, Kind::Table { .. })),
        words: word_count,
        characters: text.chars().count(),
        sentences: sentences(text).len(),
        language: guess_language(text),
        reading_time_minutes: (word_count as f64 / WPM * 10.0).ceil() / 10.0,
    }
}

pub fn guess_language(text: &str) -> Option<&'static str> {
    let sample: Vec<String> = words(text).take(5000).map(str::to_lowercase).collect();
    if sample.len() < 5 {
        return None;
    }
    let mut best: Option<(&'static str, usize)> = None;
    for (code, common) in LANGUAGES {
        let hits = sample
            .iter()
            .filter(|w| common.contains(&w.as_str()))
            .count();
        if best.is_none_or(|(_, b)| hits > b) {
            best = Some((code, hits));
        }
    }
    // At least 5 % of words must be the language's function words.
    best.filter(|(_, hits)| hits * 20 >= sample.len())
        .map(|(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_told_apart() {
        assert_eq!(
            guess_language("The cat is in the garden and it is happy with the sun."),
            Some("en")
        );
        assert_eq!(
            guess_language("El gato está en el jardín y los niños juegan con la pelota."),
            Some("es")
        );
        assert_eq!(
            guess_language("Le chat est dans le jardin et les enfants jouent avec une balle."),
            Some("fr")
        );
        assert_eq!(
            guess_language("Der Hund ist nicht in dem Haus und die Katze auch nicht."),
            Some("de")
        );
        assert_eq!(guess_language("x y"), None);
    }

    #[test]
    fn counts_and_reading_time() {
        let els = vec![
            Element::new(Kind::Title, "T"),
            Element::paragraph("One two. Three four."),
        ];
        let s = stats(&els, "T\n\nOne two. Three four.", 1);
        assert_eq!(
            (s.words, s.sentences, s.paragraphs, s.headings),
            (5, 3, 1, 1)
        );
        assert!(s.reading_time_minutes > 0.0);
    }
}
