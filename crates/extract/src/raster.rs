//! Images as the OCR engine takes them: decoded (PNG, JPEG, GIF, BMP,
//! TIFF, WebP) to 8-bit grey, under a pixel cap and the document's budget
//! (a few KB of PNG can declare a gigapixel canvas), and scaled down to
//! at most [`OCR_PIXELS`]: about a 300 dpi letter page, where Tesseract
//! reads best, and what a Worker's 128 MB holds with the engine's copies.

use crate::{ExtractError, Limits};
use image::{GrayImage, ImageFormat, ImageReader};
use std::io::Cursor;

/// Most pixels an image may have (one byte each while decoded, charged to
/// the budget, whose per-stream cap of 32 MiB binds first).
pub const MAX_PIXELS: u64 = 80_000_000;

/// Most pixels handed to the engine; larger images are scaled down.
pub const OCR_PIXELS: u64 = 9_000_000;

/// The media types read by OCR, and each one's decoder.
const FORMATS: [(&str, ImageFormat); 7] = [
    ("image/png", ImageFormat::Png),
    ("image/jpeg", ImageFormat::Jpeg),
    ("image/gif", ImageFormat::Gif),
    ("image/bmp", ImageFormat::Bmp),
    ("image/tiff", ImageFormat::Tiff),
    ("image/webp", ImageFormat::WebP),
    ("image/x-ms-bmp", ImageFormat::Bmp),
];

/// Whether a media type is an image Quire reads by OCR.
pub fn is_image(media_type: &str) -> bool {
    FORMATS.iter().any(|(t, _)| *t == media_type)
}

/// Grey pixels, one byte each, row by row.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub gray: Vec<u8>,
}

impl Raster {
    /// The part `[left, top, right, bottom)` (clipped to the image), set
    /// in a white border `pad` pixels wide (an engine reads text that
    /// touches the edge badly).
    pub fn crop(&self, [x0, y0, x1, y1]: [u32; 4], pad: u32) -> Raster {
        let whole = self.gray.len() >= self.width as usize * self.height as usize;
        let (x1, y1) = if whole {
            (x1.min(self.width), y1.min(self.height))
        } else {
            (0, 0)
        };
        let (x0, y0) = (x0.min(x1), y0.min(y1));
        let (w, h) = (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad);
        let mut gray = vec![255u8; w as usize * h as usize];
        for y in y0..y1 {
            let from = (y * self.width + x0) as usize;
            let to = ((y - y0 + pad) * w + pad) as usize;
            gray[to..to + (x1 - x0) as usize]
                .copy_from_slice(&self.gray[from..from + (x1 - x0) as usize]);
        }
        Raster {
            width: w,
            height: h,
            gray,
        }
    }
}

/// Decodes an image (the first frame of an animation, the first page of
/// a multi-page TIFF) to grey, scaled to at most [`OCR_PIXELS`].
pub fn decode(media_type: &str, bytes: &[u8], limits: &Limits) -> Result<Raster, ExtractError> {
    let format = FORMATS
        .iter()
        .find(|(t, _)| *t == media_type)
        .map(|(_, f)| *f)
        .ok_or_else(|| ExtractError::Unsupported(media_type.to_string()))?;
    Ok(fit(decode_gray(format, bytes, limits)?))
}

/// Most pages of a TIFF looked for (its directories are a linked list a
/// hostile file can make endless).
const MAX_TIFF_PAGES: usize = 10_000;

/// How many pages an image has: a TIFF's image directories (classic
/// TIFF; a BigTIFF counts as one page), one for any other image.
pub fn page_count(media_type: &str, bytes: &[u8]) -> usize {
    match media_type {
        "image/tiff" => tiff_directories(bytes).len().max(1),
        _ => 1,
    }
}

/// Page `index` (from 0) of an image, decoded as [`decode`] does: a later
/// page of a TIFF is read by pointing a copy's header at its directory.
pub fn decode_page(
    media_type: &str,
    bytes: &[u8],
    index: usize,
    limits: &Limits,
) -> Result<Raster, ExtractError> {
    if index == 0 {
        return decode(media_type, bytes, limits);
    }
    let Some(&at) = tiff_directories(bytes).get(index) else {
        return Err(ExtractError::Malformed(format!(
            "the image has no page {}",
            index + 1
        )));
    };
    let mut copy = bytes.to_vec();
    let offset = match &bytes[..2] {
        b"II" => at.to_le_bytes(),
        _ => at.to_be_bytes(),
    };
    copy[4..8].copy_from_slice(&offset);
    decode(media_type, &copy, limits)
}

/// The offsets of a classic TIFF's image directories, in order; empty for
/// anything else. A directory out of the file or met twice ends the list.
fn tiff_directories(bytes: &[u8]) -> Vec<u32> {
    let little = match bytes.get(..4) {
        Some(b"II\x2a\x00") => true,
        Some(b"MM\x00\x2a") => false,
        _ => return Vec::new(),
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let mut found = Vec::new();
    let mut next = u32_at(4).unwrap_or(0);
    while next != 0 && found.len() < MAX_TIFF_PAGES && !found.contains(&next) {
        let at = next as usize;
        let Some(entries) = u16_at(at) else { break };
        found.push(next);
        next = u32_at(at + 2 + 12 * usize::from(entries)).unwrap_or(0);
    }
    found
}

/// Decodes an image of a known format to grey, under the pixel cap and
/// the budget (a byte per pixel).
pub(crate) fn decode_gray(
    format: ImageFormat,
    bytes: &[u8],
    limits: &Limits,
) -> Result<GrayImage, ExtractError> {
    // The decoders' own limits (dimensions, allocations) are a size
    // refusal like ours; anything else is a broken file.
    let malformed = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ExtractError::TooLarge(format!("the image: {e}")),
        _ => ExtractError::Malformed(format!("the image: {e}")),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(malformed)?;
    let pixels = charge_pixels(width, height, limits)?;
    let mut caps = image::Limits::default();
    caps.max_image_width = Some(width);
    caps.max_image_height = Some(height);
    caps.max_alloc = Some(pixels * 8 + 64 * 1024 * 1024);
    reader.limits(caps);
    Ok(reader.decode().map_err(malformed)?.into_luma8())
}

/// Refuses a canvas past [`MAX_PIXELS`] and charges its pixels to the
/// budget, before anything is allocated for it.
pub(crate) fn charge_pixels(width: u32, height: u32, limits: &Limits) -> Result<u64, ExtractError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(ExtractError::TooLarge(format!(
            "the image has {pixels} pixels; at most {MAX_PIXELS} are read"
        )));
    }
    limits.take_inflated(pixels, "the image's pixels")?;
    Ok(pixels)
}

/// A grey image as the engine takes it: scaled down to at most
/// [`OCR_PIXELS`].
pub(crate) fn fit(mut gray: GrayImage) -> Raster {
    let pixels = u64::from(gray.width()) * u64::from(gray.height());
    if pixels > OCR_PIXELS {
        let scale = (OCR_PIXELS as f64 / pixels as f64).sqrt();
        let (w, h) = (
            ((f64::from(gray.width()) * scale) as u32).max(1),
            ((f64::from(gray.height()) * scale) as u32).max(1),
        );
        gray = image::imageops::resize(&gray, w, h, image::imageops::FilterType::Triangle);
    }
    Raster {
        width: gray.width(),
        height: gray.height(),
        gray: gray.into_raw(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TIFF of grey pages, each one flat shade, written by the `tiff`
    /// crate (through `image`'s encoder, one page per call, then chained).
    fn tiff_pages(shades: &[u8]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut encoder = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for &shade in shades {
            let pixels = vec![shade; 40 * 30];
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(40, 30, &pixels)
                .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn every_page_of_a_multi_page_tiff_decodes() {
        let tiff = tiff_pages(&[10, 120, 250]);
        assert_eq!(page_count("image/tiff", &tiff), 3);
        for (i, shade) in [10u8, 120, 250].into_iter().enumerate() {
            let r = decode_page("image/tiff", &tiff, i, &Limits::default()).unwrap();
            assert_eq!((r.width, r.height), (40, 30));
            assert!(r.gray.iter().all(|g| *g == shade), "page {i}");
        }
        assert!(decode_page("image/tiff", &tiff, 3, &Limits::default()).is_err());
    }

    #[test]
    fn a_tiff_whose_directories_loop_counts_each_once() {
        let mut tiff = tiff_pages(&[10, 20]);
        let dirs = tiff_directories(&tiff);
        // The second directory's "next" points back at the first.
        let entries = u16::from_le_bytes([tiff[dirs[1] as usize], tiff[dirs[1] as usize + 1]]);
        let next = dirs[1] as usize + 2 + 12 * usize::from(entries);
        tiff[next..next + 4].copy_from_slice(&dirs[0].to_le_bytes());
        assert_eq!(page_count("image/tiff", &tiff), 2);
        assert_eq!(page_count("image/png", &tiff), 1);
        assert_eq!(page_count("image/tiff", b"II\x2a\x00\xff\xff\xff\x7f"), 1);
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(width, height, image::Rgba([255, 0, 0, 255]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_decode_to_grey() {
        let r = decode("image/png", &png(3, 2), &Limits::default()).unwrap();
        assert_eq!((r.width, r.height, r.gray.len()), (3, 2, 6));
        // Pure red is dark grey.
        assert!(r.gray.iter().all(|g| (50..=60).contains(g)), "{:?}", r.gray);
    }

    #[test]
    fn large_images_are_scaled_down_for_the_engine() {
        // Uncompressed, so the test spends no time compressing 12 M pixels.
        let img = image::GrayImage::from_pixel(4000, 3000, image::Luma([200]));
        let mut bmp = Cursor::new(Vec::new());
        img.write_to(&mut bmp, ImageFormat::Bmp).unwrap();
        let r = decode("image/bmp", bmp.get_ref(), &Limits::default()).unwrap();
        let pixels = u64::from(r.width) * u64::from(r.height);
        assert!(
            pixels <= OCR_PIXELS && pixels > OCR_PIXELS * 9 / 10,
            "{pixels}"
        );
        assert_eq!(r.width * 3 / 4, r.height);
    }

    /// The CRC-32 PNG chunks carry.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_canvas_past_the_pixel_cap_is_refused_before_it_is_allocated() {
        // A valid PNG header declaring 100 000 × 100 000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            decode("image/png", &bomb, &Limits::default()),
            Err(ExtractError::TooLarge(_))
        ));
    }

    #[test]
    fn a_grey_png_claiming_a_huge_canvas_is_too_large_not_malformed() {
        let img = image::GrayImage::from_pixel(1, 1, image::Luma([200]));
        let mut bomb = Cursor::new(Vec::new());
        img.write_to(&mut bomb, ImageFormat::Png).unwrap();
        let mut bomb = bomb.into_inner();
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            decode("image/png", &bomb, &Limits::default()),
            Err(ExtractError::TooLarge(_))
        ));
    }

    #[test]
    fn broken_images_are_malformed() {
        assert!(matches!(
            decode("image/jpeg", b"\xFF\xD8\xFF garbage", &Limits::default()),
            Err(ExtractError::Malformed(_))
        ));
    }
}
