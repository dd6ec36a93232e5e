//! Scanned pages: the image a page without text draws, taken from the PDF
//! as it is stored rather than by rendering the page, and decoded to grey
//! for OCR: DCT (JPEG), CCITT fax (Group 3 and 4), JBIG2 (with its
//! globals), and raw samples (Flate, LZW… with predictors) in grey, RGB,
//! CMYK, Lab, indexed or separation colour at 1 to 16 bits. JPEG 2000 has
//! no small pure-Rust decoder; such a page is a typed refusal, which the
//! job turns into a warning naming the page.
//!
//! A [`PageImage`] holds the image still encoded (what the file holds),
//! so a hundred scanned pages cost their compressed size until each is
//! decoded, one at a time, under its own budget.

use super::color::{color_of, Color};
use super::inflate::decoded;
use crate::raster::{charge_pixels, fit, Raster};
use crate::{ExtractError, Limits};
use image::{GrayImage, ImageFormat, Luma};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// A scanned page's image, still encoded.
#[derive(Debug, Clone)]
pub struct PageImage {
    /// The page it was drawn on, from 1.
    pub page: u32,
    stream: Stream,
    color: Color,
    /// A JBIG2 image's shared segments (`JBIG2Globals`), decoded.
    globals: Option<Vec<u8>>,
    /// Clockwise quarter turns that stand the image upright as the page
    /// shows it.
    turns: u8,
}

/// How an image drawn with the matrix `a b c d` is turned on the page, in
/// clockwise quarter turns: where its rows run (the unit square's x axis,
/// `(a, b)`), whether right, down, left or up on the page.
pub fn quarter_turns([a, b, ..]: [f32; 4]) -> u8 {
    if a.abs() >= b.abs() {
        if a >= 0.0 {
            0
        } else {
            2
        }
    } else if b < 0.0 {
        1
    } else {
        3
    }
}

/// The image XObject `id` drawn on `page`, ready to decode later; `None`
/// when it is not an image or too small to hold a page of text.
pub fn page_image(doc: &Document, id: ObjectId, page: u32, turns: u8) -> Option<PageImage> {
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let int = |k: &[u8]| stream.dict.get(k).ok().and_then(|o| o.as_i64().ok());
    if int(b"Width")? < 64 || int(b"Height")? < 64 {
        return None;
    }
    let mask = matches!(stream.dict.get(b"ImageMask"), Ok(Object::Boolean(true)));
    let color = if mask {
        Color::Gray
    } else {
        color_of(doc, stream.dict.get(b"ColorSpace").ok())?
    };
    let globals = codec_params(&stream.dict)
        .and_then(|p| p.get(b"JBIG2Globals").ok())
        .and_then(|g| doc.dereference(g).ok())
        .and_then(|(_, g)| g.as_stream().ok())
        .and_then(|g| decoded(g, &Limits::default(), "the JBIG2 globals").ok());
    Some(PageImage {
        page,
        stream: stream.clone(),
        color,
        globals,
        turns,
    })
}

/// The image codecs: filters that end in pixels rather than bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Codec {
    Samples,
    Dct,
    Fax,
    Jbig2,
    Jpx,
}

fn filters(dict: &Dictionary) -> Vec<Vec<u8>> {
    match dict.get(b"Filter") {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_name().ok().map(<[u8]>::to_vec))
            .collect(),
        _ => Vec::new(),
    }
}

fn codec_of(filter: Option<&[u8]>) -> Codec {
    match filter {
        Some(b"DCTDecode" | b"DCT") => Codec::Dct,
        Some(b"CCITTFaxDecode" | b"CCF") => Codec::Fax,
        Some(b"JBIG2Decode") => Codec::Jbig2,
        Some(b"JPXDecode") => Codec::Jpx,
        _ => Codec::Samples,
    }
}

/// The decode parameters of the last filter (the codec's).
fn codec_params(dict: &Dictionary) -> Option<&Dictionary> {
    match dict.get(b"DecodeParms").ok()? {
        Object::Dictionary(d) => Some(d),
        Object::Array(a) => a.last()?.as_dict().ok(),
        _ => None,
    }
}

impl PageImage {
    fn int(&self, key: &[u8], default: i64) -> i64 {
        self.stream
            .dict
            .get(key)
            .ok()
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(default)
    }

    /// Whether `/Decode` swaps dark and light (`[1 0]`).
    fn inverted(&self) -> bool {
        match self.stream.dict.get(b"Decode") {
            Ok(Object::Array(d)) => match (d.first(), d.get(1)) {
                (Some(a), Some(b)) => a.as_float().unwrap_or(0.0) > b.as_float().unwrap_or(1.0),
                _ => false,
            },
            _ => false,
        }
    }

    /// The image in grey, scaled for the OCR engine, under `limits`.
    pub fn raster(&self, limits: &Limits) -> Result<Raster, ExtractError> {
        let mut filters = filters(&self.stream.dict);
        let codec = codec_of(filters.last().map(Vec::as_slice));
        if codec != Codec::Samples {
            filters.pop();
        }
        // The filters before the codec turn bytes into bytes.
        let mut outer = self.stream.dict.clone();
        outer.set(
            "Filter",
            Object::Array(filters.into_iter().map(Object::Name).collect()),
        );
        if codec != Codec::Samples {
            outer.remove(b"DecodeParms");
        }
        let data = decoded(
            &Stream::new(outer, self.stream.content.clone()),
            limits,
            "the page's image",
        )?;
        let mut gray = match codec {
            Codec::Samples => self.samples(&data, limits)?,
            Codec::Dct => crate::raster::decode_gray(ImageFormat::Jpeg, &data, limits)?,
            Codec::Fax => self.fax(&data, limits)?,
            Codec::Jbig2 => self.jbig2(&data, limits)?,
            Codec::Jpx => super::jpx::gray(&data, limits)?,
        };
        if self.inverted() && !matches!(self.color, Color::Indexed { .. }) {
            image::imageops::invert(&mut gray);
        }
        let gray = match self.turns {
            1 => image::imageops::rotate90(&gray),
            2 => image::imageops::rotate180(&gray),
            3 => image::imageops::rotate270(&gray),
            _ => gray,
        };
        Ok(fit(gray))
    }

    /// The image's size, checked against the pixel cap and charged.
    fn canvas(&self, limits: &Limits) -> Result<GrayImage, ExtractError> {
        let (w, h) = (self.int(b"Width", 0), self.int(b"Height", 0));
        let (w, h) = (
            u32::try_from(w).unwrap_or(0).max(1),
            u32::try_from(h).unwrap_or(0).max(1),
        );
        charge_pixels(w, h, limits)?;
        Ok(GrayImage::from_pixel(w, h, Luma([255])))
    }

    /// Raw samples, row by row, each row padded to a whole byte.
    fn samples(&self, data: &[u8], limits: &Limits) -> Result<GrayImage, ExtractError> {
        let mut img = self.canvas(limits)?;
        let bits = match self.int(b"BitsPerComponent", 1) {
            b @ (1 | 2 | 4 | 8 | 16) => b as usize,
            other => {
                return Err(ExtractError::Malformed(format!(
                    "the page's image has {other} bits per component"
                )))
            }
        };
        let n = self.color.components();
        let width = img.width() as usize;
        let stride = (width * n * bits).div_ceil(8);
        let max = (1u32 << bits.min(8)) - 1;
        let indexed = matches!(self.color, Color::Indexed { .. });
        let mut pixel = vec![0u8; n];
        for (y, row) in data.chunks(stride).take(img.height() as usize).enumerate() {
            for x in 0..width {
                for (k, c) in pixel.iter_mut().enumerate() {
                    let v = sample(row, (x * n + k) * bits, bits);
                    // Indices stay indices; intensities scale to 0..=255.
                    *c = if indexed {
                        v
                    } else {
                        (u32::from(v) * 255 / max) as u8
                    };
                }
                img.put_pixel(x as u32, y as u32, Luma([self.color.gray(&pixel)]));
            }
        }
        Ok(img)
    }

    /// CCITT Group 3 or 4, as `/DecodeParms` describe it.
    fn fax(&self, data: &[u8], limits: &Limits) -> Result<GrayImage, ExtractError> {
        use hayro_ccitt::{DecodeSettings, DecoderContext, EncodingMode};
        let mut img = self.canvas(limits)?;
        let p = codec_params(&self.stream.dict);
        let int = |k: &[u8], d: i64| {
            p.and_then(|p| p.get(k).ok())
                .and_then(|o| o.as_i64().ok())
                .unwrap_or(d)
        };
        let flag = |k: &[u8], d: bool| {
            p.and_then(|p| p.get(k).ok())
                .and_then(|o| o.as_bool().ok())
                .unwrap_or(d)
        };
        let k = int(b"K", 0);
        let settings = DecodeSettings {
            columns: img.width(),
            rows: img.height(),
            end_of_block: flag(b"EndOfBlock", true),
            end_of_line: flag(b"EndOfLine", false),
            rows_are_byte_aligned: flag(b"EncodedByteAlign", false),
            encoding: match k {
                k if k < 0 => EncodingMode::Group4,
                0 => EncodingMode::Group3_1D,
                _ => EncodingMode::Group3_2D,
            },
            strict: false,
        };
        // Black pixels are 0 unless BlackIs1; the colour space reads them.
        let black = if flag(b"BlackIs1", false) { 255 } else { 0 };
        let mut rows = FaxRows {
            img: &mut img,
            y: 0,
            black,
        };
        let mut ctx = DecoderContext::new(settings);
        // A damaged stream keeps the rows read before the damage.
        let _ = hayro_ccitt::decode(data, &mut rows, &mut ctx);
        Ok(img)
    }

    /// JBIG2, with the document's shared segments.
    fn jbig2(&self, data: &[u8], limits: &Limits) -> Result<GrayImage, ExtractError> {
        use hayro_jbig2::{DecodeSettings, Globals, Page};
        let bad = |e: hayro_jbig2::DecodeError| {
            ExtractError::Malformed(format!("the page's JBIG2 image: {e:?}"))
        };
        let settings = DecodeSettings::default();
        let globals = match &self.globals {
            Some(g) => Some(Globals::new(g, &settings).map_err(bad)?),
            None => None,
        };
        let page = Page::new_embedded(data, globals.as_ref(), &settings).map_err(bad)?;
        charge_pixels(page.width(), page.height(), limits)?;
        let mut img = GrayImage::from_pixel(page.width().max(1), page.height().max(1), Luma([255]));
        let mut sink = Jbig2Pixels {
            img: &mut img,
            x: 0,
            y: 0,
        };
        page.decode(&mut sink).map_err(bad)?;
        Ok(img)
    }
}

/// Sample `bits` wide at bit offset `at` of `row` (16-bit samples keep
/// their high byte); 0 past the row's end.
fn sample(row: &[u8], at: usize, bits: usize) -> u8 {
    match bits {
        8 => row.get(at / 8).copied().unwrap_or(0),
        16 => row.get(at / 8).copied().unwrap_or(0),
        _ => {
            let byte = row.get(at / 8).copied().unwrap_or(0);
            let shift = 8 - bits - at % 8;
            (byte >> shift) & ((1u8 << bits) - 1)
        }
    }
}

struct FaxRows<'i> {
    img: &'i mut GrayImage,
    y: u32,
    black: u8,
}

impl hayro_ccitt::Decoder for FaxRows<'_> {
    fn push_row(&mut self, changes: &[u32]) {
        if self.y >= self.img.height() {
            return;
        }
        let width = self.img.width();
        let white = 255 - self.black;
        let mut x = 0;
        let mut color = white;
        for &at in changes.iter().chain(std::iter::once(&width)) {
            for px in x..at.min(width) {
                self.img.put_pixel(px, self.y, Luma([color]));
            }
            x = at.min(width);
            color = 255 - color;
        }
        self.y += 1;
    }
}

struct Jbig2Pixels<'i> {
    img: &'i mut GrayImage,
    x: u32,
    y: u32,
}

impl hayro_jbig2::Decoder for Jbig2Pixels<'_> {
    fn push_pixel(&mut self, black: bool) {
        if self.x < self.img.width() && self.y < self.img.height() {
            // JBIG2's 1 is black; PDF reads the filter's output with 0 black.
            self.img
                .put_pixel(self.x, self.y, Luma([if black { 0 } else { 255 }]));
        }
        self.x += 1;
    }

    fn push_pixel_chunk(&mut self, black: bool, chunk_count: u32) {
        for _ in 0..chunk_count * 8 {
            self.push_pixel(black);
        }
    }

    fn next_line(&mut self) {
        self.x = 0;
        self.y += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testpdf::{pdf_of, stream};
    use crate::{extract_with_scans, ExtractError, Limits};

    const W: u32 = 96;
    const H: u32 = 64;

    /// Dark where the test pattern is ink: the left third, and a bar
    /// along the top.
    fn ink(x: u32, y: u32) -> bool {
        x < W / 3 || y < 8
    }

    /// A stream object as stored, unfiltered by this helper.
    fn raw(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\nendstream");
        out
    }

    /// One page, no text, drawing image object 5 (`image`) with `cm`;
    /// `page_extra` goes in the page dictionary.
    fn scanned(image: Vec<u8>, cm: &str, page_extra: &str) -> Vec<u8> {
        pdf_of(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] {page_extra} \
                 /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"
            )
            .into_bytes(),
            stream("", format!("q {cm} cm /Im0 Do Q").as_bytes()),
            image,
        ])
    }

    const UPRIGHT: &str = "612 0 0 792 0 0";

    /// A page drawing image object 5 upright, with object 6 after it.
    fn scanned_with(image: Vec<u8>, sixth: Vec<u8>) -> Vec<u8> {
        pdf_of(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
              /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"
                .to_vec(),
            stream("", format!("q {UPRIGHT} cm /Im0 Do Q").as_bytes()),
            image,
            sixth,
        ])
    }

    /// The page's image as the engine gets it: width, height, grey.
    fn page_raster(pdf: &[u8]) -> Result<(u32, u32, Vec<u8>), ExtractError> {
        let (ex, scans) = extract_with_scans("application/pdf", pdf)?;
        assert_eq!(scans.len(), 1, "{:?}", ex.warnings);
        assert_eq!(scans[0].page, 1);
        let r = scans[0].raster(&Limits::default())?;
        Ok((r.width, r.height, r.gray))
    }

    fn assert_pattern(w: u32, h: u32, gray: &[u8]) {
        assert_eq!((w, h), (W, H));
        for (x, y) in [(2, 30), (40, 2), (40, 30), (90, 60), (31, 40), (33, 40)] {
            let g = gray[(y * W + x) as usize];
            let want_dark = ink(x, y);
            assert!(
                if want_dark { g < 64 } else { g > 192 },
                "pixel ({x}, {y}) is {g}"
            );
        }
    }

    fn samples(bits_per_pixel: u32, pixel: impl Fn(bool) -> Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..H {
            let mut row: Vec<u8> = Vec::new();
            let mut acc = 0u16;
            let mut n = 0;
            for x in 0..W {
                if bits_per_pixel >= 8 {
                    row.extend(pixel(ink(x, y)));
                } else {
                    acc = (acc << bits_per_pixel) | u16::from(pixel(ink(x, y))[0]);
                    n += bits_per_pixel;
                    if n == 8 {
                        row.push(acc as u8);
                        (acc, n) = (0, 0);
                    }
                }
            }
            if n > 0 {
                row.push((acc << (8 - n)) as u8);
            }
            out.extend(row);
        }
        out
    }

    fn dims(extra: &str) -> String {
        format!("/Type /XObject /Subtype /Image /Width {W} /Height {H} {extra}")
    }

    #[test]
    fn grey_rgb_cmyk_and_indexed_samples_decode_to_the_same_page() {
        let cases = [
            (
                "/ColorSpace /DeviceGray /BitsPerComponent 8",
                8,
                samples(8, |k| vec![if k { 0 } else { 255 }]),
            ),
            (
                "/ColorSpace /DeviceRGB /BitsPerComponent 8",
                24,
                samples(24, |k| {
                    if k {
                        vec![10, 0, 40]
                    } else {
                        vec![250, 255, 240]
                    }
                }),
            ),
            (
                "/ColorSpace /DeviceCMYK /BitsPerComponent 8",
                32,
                samples(32, |k| if k { vec![0, 0, 0, 255] } else { vec![0; 4] }),
            ),
            (
                "/ColorSpace [/Indexed /DeviceRGB 1 <FFFFFF000000>] /BitsPerComponent 1",
                1,
                samples(1, |k| vec![u8::from(k)]),
            ),
            (
                "/ImageMask true /BitsPerComponent 1",
                1,
                samples(1, |k| vec![u8::from(!k)]),
            ),
            (
                "/ColorSpace /DeviceGray /BitsPerComponent 1 /Decode [1 0]",
                1,
                samples(1, |k| vec![u8::from(k)]),
            ),
            (
                "/ColorSpace /DeviceGray /BitsPerComponent 4",
                4,
                samples(4, |k| vec![if k { 0 } else { 15 }]),
            ),
        ];
        for (extra, _, data) in cases {
            let pdf = scanned(stream(&dims(extra), &data), UPRIGHT, "");
            let (w, h, gray) = page_raster(&pdf).unwrap_or_else(|e| panic!("{extra}: {e}"));
            assert_pattern(w, h, &gray);
        }
    }

    #[test]
    fn one_bit_samples_behind_a_png_predictor_decode() {
        // PNG "Up" filter on every row: each byte is the difference from
        // the byte above (what img2pdf and Pillow write for 1-bit scans).
        let rows = samples(1, |k| vec![u8::from(!k)]);
        let stride = W.div_ceil(8) as usize;
        let mut filtered = Vec::new();
        for (i, row) in rows.chunks(stride).enumerate() {
            filtered.push(2u8);
            for (j, b) in row.iter().enumerate() {
                let above = if i == 0 {
                    0
                } else {
                    rows[(i - 1) * stride + j]
                };
                filtered.push(b.wrapping_sub(above));
            }
        }
        let extra = format!(
            "/ColorSpace /DeviceGray /BitsPerComponent 1 \
             /DecodeParms << /Predictor 15 /Colors 1 /BitsPerComponent 1 /Columns {W} >>"
        );
        let (w, h, gray) =
            page_raster(&scanned(stream(&dims(&extra), &filtered), UPRIGHT, "")).unwrap();
        assert_pattern(w, h, &gray);
    }

    #[test]
    fn a_jpeg_page_decodes() {
        let img =
            image::GrayImage::from_fn(W, H, |x, y| image::Luma([if ink(x, y) { 0 } else { 255 }]));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let extra = "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode";
        let (w, h, gray) =
            page_raster(&scanned(raw(&dims(extra), jpeg.get_ref()), UPRIGHT, "")).unwrap();
        assert_pattern(w, h, &gray);
    }

    fn group4() -> Vec<u8> {
        use fax::{encoder::Encoder, Color, VecWriter};
        let mut enc = Encoder::new(VecWriter::new());
        for y in 0..H {
            let row = (0..W).map(|x| {
                if ink(x, y) {
                    Color::Black
                } else {
                    Color::White
                }
            });
            enc.encode_line(row, W as u16).unwrap();
        }
        enc.finish().unwrap().finish()
    }

    #[test]
    fn a_group_4_fax_page_decodes() {
        let extra = format!(
            "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode \
             /DecodeParms << /K -1 /Columns {W} /Rows {H} >>"
        );
        let (w, h, gray) =
            page_raster(&scanned(raw(&dims(&extra), &group4()), UPRIGHT, "")).unwrap();
        assert_pattern(w, h, &gray);
        // BlackIs1 with an inverting /Decode is the same page.
        let extra = format!(
            "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode \
             /Decode [1 0] /DecodeParms << /K -1 /Columns {W} /BlackIs1 true >>"
        );
        let (w, h, gray) =
            page_raster(&scanned(raw(&dims(&extra), &group4()), UPRIGHT, "")).unwrap();
        assert_pattern(w, h, &gray);
    }

    #[test]
    fn a_sideways_image_or_a_rotated_page_is_stood_upright() {
        let data = samples(8, |k| vec![if k { 0 } else { 255 }]);
        let extra = "/ColorSpace /DeviceGray /BitsPerComponent 8";
        // The image stored turned a quarter anticlockwise, drawn so the
        // page shows it upright (its rows run down the page).
        let turned =
            image::imageops::rotate270(&image::GrayImage::from_raw(W, H, data.clone()).unwrap());
        let sideways = format!("/Type /XObject /Subtype /Image /Width {H} /Height {W} {extra}");
        let pdf = scanned(stream(&sideways, turned.as_raw()), "0 -792 612 0 0 792", "");
        let (w, h, gray) = page_raster(&pdf).unwrap();
        assert_pattern(w, h, &gray);
        // The same stored image, drawn as is on a page shown turned a
        // quarter clockwise (/Rotate 90).
        let pdf = scanned(
            stream(&sideways, turned.as_raw()),
            "612 0 0 792 0 0",
            "/Rotate 90",
        );
        let (w, h, gray) = page_raster(&pdf).unwrap();
        assert_pattern(w, h, &gray);
    }

    #[test]
    fn pages_that_cannot_be_decoded_are_typed_refusals() {
        // A JP2 signature and nothing after it.
        let jpx = raw(&dims("/Filter /JPXDecode"), b"\x00\x00\x00\x0cjP  ");
        assert!(matches!(
            page_raster(&scanned(jpx, UPRIGHT, "")),
            Err(ExtractError::Malformed(_))
        ));
        let jbig2 = raw(
            &dims("/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode"),
            b"garbage",
        );
        assert!(matches!(
            page_raster(&scanned(jbig2, UPRIGHT, "")),
            Err(ExtractError::Malformed(_))
        ));
        let bits = raw(&dims("/ColorSpace /DeviceGray /BitsPerComponent 7"), b"");
        assert!(matches!(
            page_raster(&scanned(bits, UPRIGHT, "")),
            Err(ExtractError::Malformed(_))
        ));
    }

    #[test]
    fn a_giant_canvas_is_refused_before_it_is_allocated() {
        let huge = stream(
            "/Type /XObject /Subtype /Image /Width 100000 /Height 100000 \
             /ColorSpace /DeviceGray /BitsPerComponent 1",
            b"\x00",
        );
        assert!(matches!(
            page_raster(&scanned(huge, UPRIGHT, "")),
            Err(ExtractError::TooLarge(_))
        ));
    }

    #[test]
    fn a_small_picture_on_a_page_without_text_is_not_a_scan() {
        let logo = stream(
            "/Type /XObject /Subtype /Image /Width 20 /Height 20 /ColorSpace /DeviceGray /BitsPerComponent 8",
            &[0; 400],
        );
        let (ex, scans) =
            extract_with_scans("application/pdf", &scanned(logo, "20 0 0 20 72 700", "")).unwrap();
        assert!(scans.is_empty());
        assert!(
            ex.warnings[0].starts_with("no_text_layer: 1 of 1 pages"),
            "{:?}",
            ex.warnings
        );
    }

    #[test]
    fn scanned_pages_past_the_ocr_cap_are_named_not_read() {
        let pages = crate::MAX_OCR_PAGES + 3;
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 5)).collect();
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                kids.join(" ")
            )
            .into_bytes(),
            stream("", format!("q {UPRIGHT} cm /Im0 Do Q").as_bytes()),
            stream(
                &dims("/ColorSpace /DeviceGray /BitsPerComponent 8"),
                &samples(8, |k| vec![if k { 0 } else { 255 }]),
            ),
        ];
        for _ in 0..pages {
            objects.push(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                  /Resources << /XObject << /Im0 4 0 R >> >> /Contents 3 0 R >>"
                    .to_vec(),
            );
        }
        let (ex, scans) = extract_with_scans("application/pdf", &pdf_of(&objects)).unwrap();
        assert_eq!(scans.len(), crate::MAX_OCR_PAGES);
        assert_eq!(
            scans.last().map(|s| s.page),
            Some(crate::MAX_OCR_PAGES as u32)
        );
        let want = "ocr_skipped: 3 scanned pages were not read (page 41, 42, 43)";
        assert!(
            ex.warnings.iter().any(|w| w.starts_with(want)),
            "{:?}",
            ex.warnings
        );
    }

    #[test]
    fn an_indexed_space_based_on_itself_is_refused_not_followed() {
        // Object 6 is [/Indexed 6 0 R 1 <…>]: its base is itself.
        let image = stream(&dims("/ColorSpace 6 0 R /BitsPerComponent 1"), &[0; 800]);
        let pdf = scanned_with(image, b"[/Indexed 6 0 R 1 <FFFFFF000000>]".to_vec());
        let (ex, scans) = extract_with_scans("application/pdf", &pdf).unwrap();
        assert!(scans.is_empty());
        assert!(
            ex.warnings[0].starts_with("no_text_layer"),
            "{:?}",
            ex.warnings
        );
    }

    #[test]
    fn an_indexed_colour_table_that_inflates_to_megabytes_is_not_inflated() {
        // The table stream packs 8 MiB of zeros; 256 colours need 1 KiB.
        let image = stream(
            &dims("/ColorSpace [/Indexed /DeviceRGB 1 6 0 R] /BitsPerComponent 1"),
            &[0; 800],
        );
        let table = stream("", &vec![0; 8 * 1024 * 1024]);
        let pdf = scanned_with(image, table);
        let (_, scans) = extract_with_scans("application/pdf", &pdf).unwrap();
        assert!(
            scans.is_empty(),
            "the page is not read with a table it cannot hold"
        );
    }
}
