//! Hand-built PDFs for the PDF tests.

/// A PDF of the given objects (numbered from 1, object 1 the catalog),
/// with a classic cross-reference table.
pub fn pdf_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    let trailer = format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend(trailer.bytes());
    out
}

pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    let packed = e.finish().unwrap();
    let mut out = format!(
        "<< {dict} /Filter /FlateDecode /Length {} >>\nstream\n",
        packed.len()
    )
    .into_bytes();
    out.extend(packed);
    out.extend_from_slice(b"\nendstream");
    out
}

/// Catalog, pages, one page (resources `res`), its content, then `more`.
pub fn one_page(res: &str, content: &[u8], more: Vec<Vec<u8>>) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {res} /Contents 4 0 R >>").into_bytes(),
        stream("", content),
    ];
    objects.extend(more);
    pdf_of(&objects)
}

/// A document of `n` pages, each saying "page N says" and `filler` bytes
/// of text, its pages in one flat page tree.
pub fn pages(n: usize, filler: usize) -> Vec<u8> {
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
        font.as_bytes().to_vec(),
    ];
    let mut seed = 0x2545_f491_u32;
    for i in 0..n {
        // Text that does not compress away, so pages have weight.
        let words: String = (0..filler / 9)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                format!("{seed:08x} ")
            })
            .collect();
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let content = format!(
            "BT /F1 10 Tf 72 700 Td (page {} says) Tj 0 -14 Td (final {}) Tj ET % {words}",
            i + 1,
            i + 1
        );
        objects.push(stream("", content.as_bytes()));
    }
    pdf_of(&objects)
}
