//! Media types: which ones Quire accepts, which file extensions imply
//! which, and the aliases clients send. Shared by the upload rules and by
//! extractors of containers (ZIP members, e-mail attachments), which type
//! their members by name.

/// Media types accepted by default: every format the processing engine
/// targets, whether or not its extractor has landed yet.
pub const DEFAULT_MEDIA_TYPES: &[&str] = &[
    "text/plain",
    "text/markdown",
    "text/html",
    "text/csv",
    "text/tab-separated-values",
    "text/x-rst",
    "text/org",
    "text/xml",
    "application/xml",
    "application/json",
    "application/x-ndjson",
    "application/yaml",
    "message/rfc822",
    "application/pdf",
    "application/rtf",
    "application/epub+zip",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/msword",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-excel",
    "application/vnd.ms-outlook",
    // Read by OCR in the jobs worker.
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/webp",
];

/// Media types by file extension, used when the client sends no useful
/// `Content-Type` (none, or `application/octet-stream`).
const BY_EXTENSION: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("markdown", "text/markdown"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("rst", "text/x-rst"),
    ("org", "text/org"),
    ("xml", "application/xml"),
    ("json", "application/json"),
    ("ndjson", "application/x-ndjson"),
    ("jsonl", "application/x-ndjson"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("eml", "message/rfc822"),
    ("pdf", "application/pdf"),
    ("rtf", "application/rtf"),
    ("epub", "application/epub+zip"),
    ("zip", "application/zip"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("doc", "application/msword"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("xls", "application/vnd.ms-excel"),
    ("msg", "application/vnd.ms-outlook"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("webp", "image/webp"),
];

/// Aliases clients commonly send, mapped to the canonical type.
const ALIASES: &[(&str, &str)] = &[
    ("text/x-markdown", "text/markdown"),
    ("application/x-yaml", "application/yaml"),
    ("text/yaml", "application/yaml"),
    ("text/x-yaml", "application/yaml"),
    ("application/jsonl", "application/x-ndjson"),
    ("application/ndjson", "application/x-ndjson"),
    ("text/rtf", "application/rtf"),
    ("application/x-zip-compressed", "application/zip"),
    ("image/jpg", "image/jpeg"),
    ("image/pjpeg", "image/jpeg"),
    ("image/x-ms-bmp", "image/bmp"),
    ("image/x-bmp", "image/bmp"),
];

/// The media type a filename's extension implies, if it is one we know.
pub fn media_type_for_filename(filename: &str) -> Option<&'static str> {
    let ext = extension(filename)?;
    BY_EXTENSION
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, t)| *t)
}

/// The canonical name of a media type clients may spell otherwise.
pub fn canonical(ct: &str) -> String {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == ct)
        .map_or(ct, |(_, c)| c)
        .to_string()
}

fn extension(filename: &str) -> Option<String> {
    filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
}
