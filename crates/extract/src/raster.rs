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

/// Decodes an image (the first frame of an animation or a multi-page
/// TIFF) to grey, scaled to at most [`OCR_PIXELS`].
pub fn decode(media_type: &str, bytes: &[u8], limits: &Limits) -> Result<Raster, ExtractError> {
    let format = FORMATS
        .iter()
        .find(|(t, _)| *t == media_type)
        .map(|(_, f)| *f)
        .ok_or_else(|| ExtractError::Unsupported(media_type.to_string()))?;
    Ok(fit(decode_gray(format, bytes, limits)?))
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
