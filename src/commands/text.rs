//! Text utilities shared by the commands: words, sentences, stopwords.

/// Words: runs of alphanumeric characters (apostrophes inside kept).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(['\'', '’']))
        .filter(|w| !w.is_empty())
}

/// Sentences, split after `.`, `!`, `?` (or a line break) followed by
/// whitespace, keeping common abbreviations and decimals together.
pub fn sentences(text: &str) -> Vec<&str> {
    const ABBREV: &[&str] = &[
        "mr", "mrs", "ms", "dr", "prof", "e.g", "i.e", "etc", "vs", "inc", "st", "no", "fig",
    ];
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let next = chars.get(k + 1).map(|&(_, n)| n);
        let boundary = match c {
            '\n' => next == Some('\n') || next.is_none(),
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        if !boundary {
            continue;
        }
        if c == '.' {
            let before = &text[start..i];
            let last_word = before
                .rsplit(|ch: char| ch.is_whitespace())
                .next()
                .unwrap_or("");
            if ABBREV.contains(&last_word.to_lowercase().as_str()) || last_word.len() == 1 {
                continue;
            }
        }
        let end = i + c.len_utf8();
        let s = text[start..end].trim();
        if !s.is_empty() {
            out.push(s);
        }
        start = end;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Common English function words, for keywords and summaries (sorted).
pub const STOPWORDS_EN: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "must",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "two",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "use",
    "used",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

pub fn is_stopword(word: &str) -> bool {
    STOPWORDS_EN.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS_EN.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stopword("the") && !is_stopword("quire"));
    }

    #[test]
    fn sentences_split_on_terminal_punctuation_not_abbreviations() {
        let s = sentences(
            "Dr. Smith paid $3.50 today. Was it fair? Yes! See e.g. the notes.\n\nNew block",
        );
        assert_eq!(
            s,
            vec![
                "Dr. Smith paid $3.50 today.",
                "Was it fair?",
                "Yes!",
                "See e.g. the notes.",
                "New block"
            ]
        );
    }

    #[test]
    fn words_skip_punctuation() {
        let w: Vec<&str> = words("It's a well-known 'fact', 42 times.").collect();
        assert_eq!(w, vec!["It's", "a", "well", "known", "fact", "42", "times"]);
    }
}
