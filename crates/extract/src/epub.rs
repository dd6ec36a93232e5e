//! EPUB: the OPF package's spine, in reading order, each XHTML document
//! read by the HTML extractor. Each spine document counts as a page.

use super::model::{Element, Kind};
use super::ooxml::{walk, Ev};
use super::zipped::Archive;
use super::{html, ExtractError, Extraction, Limits};

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut zip = Archive::open(bytes, limits)?;
    let (base, manifest, spine) = package(&mut zip)?;
    let mut elements = Vec::new();
    let mut warnings = Vec::new();
    let mut page = 0;
    for idref in &spine {
        let Some((_, href)) = manifest.iter().find(|(id, _)| id == idref) else {
            continue;
        };
        let href = href.split('#').next().unwrap_or(href);
        let path = if base.is_empty() {
            href.to_string()
        } else {
            format!("{base}/{href}")
        };
        let doc = match zip.read(&path)? {
            Some(d) => Some(d),
            None => zip.read(&percent_encoding::percent_decode_str(&path).decode_utf8_lossy())?,
        };
        let Some(doc) = doc else {
            warnings.push(format!("spine item {path} is missing"));
            continue;
        };
        page += 1;
        if page > limits.max_pages {
            return Err(ExtractError::TooLarge(format!(
                "more than {} chapters",
                limits.max_pages
            )));
        }
        let (els, _) = html::extract(&doc)?;
        if page > 1 {
            elements.push(Element::new(Kind::PageBreak, "").on_page(page));
        }
        // Chapter files' <title> is usually the book title again: drop it.
        elements.extend(
            els.into_iter()
                .filter(|e| e.kind != Kind::Title)
                .map(|e| e.on_page(page)),
        );
    }
    Ok(Extraction {
        elements,
        pages: page.max(1),
        warnings,
    })
}

/// Id → href pairs of the manifest.
type Manifest = Vec<(String, String)>;

/// The package document's directory, manifest and spine (idrefs in
/// reading order), found through `META-INF/container.xml`.
fn package(zip: &mut Archive) -> Result<(String, Manifest, Vec<String>), ExtractError> {
    let container = zip.require("META-INF/container.xml")?;
    let mut opf_path = None;
    walk(&container, |ev| {
        if let Ev::Start("rootfile", a) = ev {
            opf_path = opf_path
                .take()
                .or_else(|| a.get("full-path").map(str::to_string));
        }
    })?;
    let opf_path = opf_path.ok_or_else(|| ExtractError::Malformed("no rootfile".into()))?;
    let opf = zip.require(&opf_path)?;
    let base = opf_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let (mut manifest, mut spine) = (Manifest::new(), Vec::<String>::new());
    walk(&opf, |ev| match ev {
        Ev::Start("item", a) => {
            if let (Some(id), Some(href)) = (a.get("id"), a.get("href")) {
                manifest.push((id.to_string(), href.to_string()));
            }
        }
        Ev::Start("itemref", a) => spine.extend(a.get("idref").map(str::to_string)),
        _ => {}
    })?;
    Ok((base.to_string(), manifest, spine))
}
