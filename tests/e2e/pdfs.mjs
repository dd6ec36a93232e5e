// Hand-built PDFs for tests and benchmarks: a few objects with a classic
// cross-reference table, streams Flate-packed.
import { deflateSync } from "node:zlib";

/** A PDF of the given objects (object 1 the catalog), classic xref table. */
export function pdfOf(objects) {
  const parts = [Buffer.from("%PDF-1.5\n")];
  let length = parts[0].length;
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from("\nendobj\n")]);
    parts.push(obj);
    length += obj.length;
  });
  let tail = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) tail += `${String(o).padStart(10, "0")} 00000 n \n`;
  tail += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}

export function stream(dict, data) {
  const packed = deflateSync(data, { level: 9 });
  return Buffer.concat([
    Buffer.from(`<< ${dict} /Filter /FlateDecode /Length ${packed.length} >>\nstream\n`),
    packed,
    Buffer.from("\nendstream"),
  ]);
}

export function onePage(resources, content, more = []) {
  return pdfOf([
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources ${resources} /Contents 4 0 R >>`),
    stream("", content),
    ...more,
  ]);
}

/**
 * A PDF of `pages` pages, each saying "page N says hello." and carrying
 * `filler` bytes of text that does not compress (so the file has weight),
 * its pages in one flat page tree, streams stored as they are.
 */
export function manyPages(pages, filler = 0) {
  const kids = Array.from({ length: pages }, (_, i) => `${4 + 2 * i} 0 R`).join(" ");
  const objects = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from(`<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`),
    Buffer.from("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
  ];
  let seed = 0x2545f491;
  for (let i = 0; i < pages; i++) {
    objects.push(Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`));
    let noise = "";
    while (noise.length < filler) {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      noise += (seed >>> 0).toString(16).padStart(8, "0") + " ";
    }
    const content = Buffer.from(`BT /F1 10 Tf 72 700 Td (page ${i + 1} says hello.) Tj ET\n% ${noise}\n`);
    objects.push(Buffer.concat([Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from("\nendstream")]));
  }
  return pdfOf(objects);
}
