#!/usr/bin/env python3
"""Extraction quality report: every corpus file that a reference extractor
can read is extracted by Quire (natively, crates/extract/examples/extract.rs) and by the
reference (pdftotext for PDF, pandoc for the formats it reads, catdoc,
catppt and xls2csv for legacy Office), and the two texts are compared by
word-level F1 (multiset of lower-cased words). The legacy workbook fixture
of the extract crate's tests is scored too (the corpus has no .xls).

PDF headings are scored against the documents' own outlines (bookmarks):
for each corpus PDF with one, the outline titles that stand as a line of
the pages at hand are the expected headings; recall is the share of them
Quire returns as heading elements, precision the share of Quire's
headings that are outline titles (pypdf reads the outlines; skipped
without it).

PDF tables are scored by their captions: in each corpus PDF, every table
captioned "Table N:" or "Table N." at the start of a line of the text
layer is expected; recall is the share of them with a table element on
the caption's page (captions sit above or below their table). The cells
themselves are not scored: the corpus has no reference grid.

Usage: python3 scripts/quality.py [--verbose]   (npm run bench:quality)
Needs poppler-utils, pandoc and catdoc (Debian packages); missing tools are
skipped.
"""
import collections, os, re, shutil, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "example-docs")
OURS = os.path.join(ROOT, "target", "release", "examples", "extract")

LEGACY = {".doc": ["catdoc", "-w", "-d", "utf-8"], ".ppt": ["catppt", "-d", "utf-8"],
          ".xls": ["xls2csv", "-d", "utf-8"]}
PANDOC = {".docx": "docx", ".odt": "odt", ".epub": "epub", ".html": "html", ".htm": "html",
          ".rtf": "rtf", ".md": "markdown", ".rst": "rst", ".org": "org", ".csv": "csv"}

def words(text):
    return collections.Counter(re.findall(r"\w+", text.lower()))

def f1(ours, ref):
    a, b = words(ours), words(ref)
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if common == 0:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)

def reference(path):
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".pdf" and shutil.which("pdftotext"):
            return "pdftotext", subprocess.run(["pdftotext", path, "-"], capture_output=True, timeout=60).stdout.decode("utf-8", "replace")
        if ext in LEGACY and shutil.which(LEGACY[ext][0]) and open(path, "rb").read(4) == b"\xd0\xcf\x11\xe0":
            out = subprocess.run(LEGACY[ext] + [path], capture_output=True, timeout=60)
            if out.returncode == 0:
                return LEGACY[ext][0], out.stdout.decode("utf-8", "replace")
        if ext in PANDOC and shutil.which("pandoc"):
            out = subprocess.run(["pandoc", "-f", PANDOC[ext], "-t", "plain", "--wrap=none", path],
                                 capture_output=True, timeout=60)
            if out.returncode == 0:
                return "pandoc", out.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        pass
    return None, None

def main():
    verbose = "--verbose" in sys.argv
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "quire-extract", "--example", "extract"], cwd=ROOT, check=True)
    per_format = collections.defaultdict(list)
    paths = [os.path.join(d, n) for d, _, files in os.walk(CORPUS) for n in sorted(files)]
    paths.append(os.path.join(ROOT, "crates", "extract", "tests", "fixtures", "budget.xls"))
    for path in paths:
        name = os.path.basename(path)
        tool, ref = reference(path)
        if ref is None or not ref.strip():
            continue
        out = subprocess.run([OURS, path], capture_output=True, timeout=120)
        ours = out.stdout.decode("utf-8", "replace") if out.returncode == 0 else ""
        score = f1(ours, ref)
        ext = os.path.splitext(name)[1].lower().lstrip(".")
        per_format[(ext, tool)].append((score, name))
        if verbose:
            print(f"{score:5.3f}  {name}")
    print("| format | reference | files | mean F1 | min F1 (file) |")
    print("|---|---|---|---|---|")
    for (ext, tool), scores in sorted(per_format.items()):
        mean = sum(s for s, _ in scores) / len(scores)
        worst = min(scores)
        print(f"| {ext} | {tool} | {len(scores)} | {mean:.3f} | {worst[0]:.3f} ({worst[1]}) |")
    if shutil.which("pdftotext"):
        headings_report()
        tables_report()

def norm(text):
    import unicodedata
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower()))

def outline_titles(path):
    try:
        import pypdf
        reader = pypdf.PdfReader(path)
        def flat(items):
            for x in items:
                if isinstance(x, list):
                    yield from flat(x)
                else:
                    yield x.title
        return [t for t in flat(reader.outline) if t and t.strip()]
    except Exception:
        return []

def corpus_pdfs():
    """(name, path) of every corpus PDF, in order."""
    for d, _, files in os.walk(CORPUS):
        for n in sorted(files):
            if n.endswith(".pdf"):
                yield n, os.path.join(d, n)

def our_elements(path):
    """Quire's elements of a file (empty when it fails)."""
    import json
    out = subprocess.run([OURS, path, "--json"], capture_output=True, timeout=120)
    return json.loads(out.stdout or b"[]") if out.returncode == 0 else []

def headings_report():
    """Heading recall and precision against each PDF's outline."""
    rows = []
    for n, path in corpus_pdfs():
        titles = {norm(t) for t in outline_titles(path)}
        if not titles:
            continue
        # A title is on the pages when it stands as a line (or lines
        # in a row: titles wrap) of the text layer.
        text = subprocess.run(["pdftotext", path, "-"], capture_output=True).stdout.decode("utf-8", "replace")
        lines = [norm(l) for l in text.splitlines() if norm(l)]
        runs = {" ".join(lines[i:i + k]) for k in (1, 2, 3) for i in range(len(lines))}
        present = {t for t in titles if t in runs}
        elements = our_elements(path)
        ours = [norm(e["text"]) for e in elements if e.get("type") in ("heading", "title")]
        found = sum(1 for t in present if t in ours)
        right = sum(1 for h in ours if h in titles)
        rows.append((n, len(present), found, len(ours), right))
    if not rows:
        return
    print("\nPDF headings against each document's outline (the titles standing as lines on its pages):\n")
    print("| file | outline titles on the pages | found as headings | Quire headings | of them outline titles |")
    print("|---|---|---|---|---|")
    for n, present, found, ours, right in rows:
        print(f"| {n} | {present} | {found} | {ours} | {right} |")
    present = sum(r[1] for r in rows); found = sum(r[2] for r in rows)
    ours = sum(r[3] for r in rows); right = sum(r[4] for r in rows)
    print(f"| all | {present} | {found} (recall {found / max(1, present):.2f}) | {ours} | {right} (precision {right / max(1, ours):.2f}) |")

def tables_report():
    """Captioned tables found as table elements on their page."""
    rows = []
    for n, path in corpus_pdfs():
        out = subprocess.run(["pdftotext", path, "-"], capture_output=True)
        pages = out.stdout.decode("utf-8", "replace").split("\f")
        captions = {}
        for number, text in enumerate(pages, 1):
            for m in re.finditer(r"(?m)^Table (\d+)[:.]", text):
                captions.setdefault(m.group(1), number)
        if not captions:
            continue
        elements = our_elements(path)
        on = {e.get("page", 1) for e in elements if e.get("type") == "table"}
        found = sum(1 for page in captions.values() if page in on)
        tables = sum(1 for e in elements if e.get("type") == "table")
        rows.append((n, len(captions), found, tables))
    if not rows:
        return
    print("\nPDF tables against their captions (\"Table N:\" lines of the text layer):\n")
    print("| file | captioned tables | with a table element on their page | table elements |")
    print("|---|---|---|---|")
    for n, captioned, found, tables in rows:
        print(f"| {n} | {captioned} | {found} | {tables} |")
    captioned = sum(r[1] for r in rows); found = sum(r[2] for r in rows)
    print(f"| all | {captioned} | {found} (recall {found / max(1, captioned):.2f}) | {sum(r[3] for r in rows)} |")

if __name__ == "__main__":
    main()
