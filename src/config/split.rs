//! When a job reads its document in parts: PDFs larger than
//! `SPLIT_MIN_BYTES` are read as ranges of `SPLIT_PAGES` pages, each a
//! queue message of its own, at most `SPLIT_IN_FLIGHT` of one job at once
//! (so one tenant's large document does not fill the queue), then merged
//! in page order (`jobs::runner::parts`).

use super::error::ConfigError;
use super::read::whole;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// PDFs larger than this are read in parts.
    pub min_bytes: u64,
    /// Pages per part.
    pub pages: u32,
    /// A job's parts on the queue at once.
    pub in_flight: u32,
    /// The largest document read whole (any format; PDFs that cannot be
    /// read in parts, such as encrypted ones, too).
    pub max_whole_bytes: u64,
}

impl Default for Split {
    fn default() -> Split {
        Split {
            // What a whole read cannot take: below it a whole read is
            // faster (no queue hand-offs between parts; bench:split).
            min_bytes: 25 * 1024 * 1024,
            pages: 50,
            in_flight: 4,
            max_whole_bytes: 25 * 1024 * 1024,
        }
    }
}

impl Split {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Split, ConfigError> {
        let d = Split::default();
        let pages = whole(get, "SPLIT_PAGES", u64::from(d.pages))?;
        if !(1..=500).contains(&pages) {
            return Err(ConfigError::Invalid(
                "SPLIT_PAGES",
                "between 1 and 500 pages per part".into(),
            ));
        }
        let max_whole_bytes = whole(get, "MAX_PROCESS_BYTES", d.max_whole_bytes)?;
        Ok(Split {
            // Never above what a whole read takes: a PDF between the two
            // could be read neither way.
            min_bytes: whole(get, "SPLIT_MIN_BYTES", max_whole_bytes)?.min(max_whole_bytes),
            pages: pages as u32,
            in_flight: whole(get, "SPLIT_IN_FLIGHT", u64::from(d.in_flight))?.clamp(1, 100) as u32,
            max_whole_bytes,
        })
    }

    /// Whether a job reads a document of this type and size in parts.
    pub fn applies(&self, media_type: &str, size_bytes: u64) -> bool {
        media_type == "application/pdf" && size_bytes > self.min_bytes
    }

    /// Whether a job may take a document of this type and size: read
    /// whole within `MAX_PROCESS_BYTES`, or a PDF read in parts.
    pub fn admits(&self, media_type: &str, size_bytes: u64) -> bool {
        size_bytes <= self.max_whole_bytes || media_type == "application/pdf"
    }

    /// Page ranges of `pages` pages in parts.
    pub fn ranges(&self, pages: u32) -> Vec<(u32, u32)> {
        let size = self.pages.max(1);
        (0..pages.max(1).div_ceil(size))
            .map(|i| (i * size + 1, ((i + 1) * size).min(pages.max(1))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_page_once_in_order() {
        let s = Split {
            pages: 50,
            ..Split::default()
        };
        assert_eq!(s.ranges(120), vec![(1, 50), (51, 100), (101, 120)]);
        assert_eq!(s.ranges(50), vec![(1, 50)]);
        assert_eq!(s.ranges(0), vec![(1, 1)]);
    }

    #[test]
    fn large_pdfs_are_admitted_and_other_large_formats_are_not() {
        let s = Split::default();
        assert_eq!(s.min_bytes, s.max_whole_bytes);
        assert!(s.admits("application/pdf", 4 * 1024 * 1024 * 1024));
        assert!(!s.admits("text/plain", 26 * 1024 * 1024));
        assert!(s.admits("text/plain", 1024));
        // A split size above the whole-read cap is brought down to it.
        let env = |k: &str| match k {
            "SPLIT_MIN_BYTES" => Some("900000000".to_string()),
            "MAX_PROCESS_BYTES" => Some("1000".to_string()),
            _ => None,
        };
        let s = Split::from_lookup(&env).unwrap();
        assert_eq!((s.min_bytes, s.max_whole_bytes), (1000, 1000));
    }
}
