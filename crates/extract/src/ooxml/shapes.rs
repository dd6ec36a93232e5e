//! Where a slide's shapes are: each shape's `xfrm` (offset and extent in
//! EMUs) taken through the transforms of the groups around it, and, for a
//! placeholder that has none of its own, the box of the placeholder it
//! inherits from on the slide's layout or master. Boxes come out in
//! points from the slide's top-left corner.

use super::{walk, Attrs, Ev};
use crate::ExtractError;

/// EMUs per point.
const EMU_PER_POINT: f64 = 12_700.0;

/// A box in EMUs: x, y, width, height.
type Emu = [f64; 4];

/// A group's mapping of its children's coordinates onto its own.
#[derive(Clone, Copy)]
struct Group {
    off: (f64, f64),
    ext: (f64, f64),
    ch_off: (f64, f64),
    ch_ext: (f64, f64),
}

impl Group {
    fn map(&self, [x, y, w, h]: Emu) -> Emu {
        let scale = |ext: f64, ch: f64| if ch > 0.0 { ext / ch } else { 1.0 };
        let (sx, sy) = (
            scale(self.ext.0, self.ch_ext.0),
            scale(self.ext.1, self.ch_ext.1),
        );
        [
            self.off.0 + (x - self.ch_off.0) * sx,
            self.off.1 + (y - self.ch_off.1) * sy,
            w * sx,
            h * sy,
        ]
    }
}

/// The `xfrm` being read.
#[derive(Default)]
struct Xfrm {
    off: Option<(f64, f64)>,
    ext: Option<(f64, f64)>,
    ch_off: Option<(f64, f64)>,
    ch_ext: Option<(f64, f64)>,
}

/// Follows a slide's (or layout's) shape tree.
#[derive(Default)]
pub struct Geometry {
    groups: Vec<Group>,
    in_group_props: bool,
    in_xfrm: bool,
    xfrm: Xfrm,
    /// The current shape's box on the slide, when it has an `xfrm`.
    shape: Option<Emu>,
}

impl Geometry {
    pub fn start(&mut self, name: &str, a: &Attrs) {
        let pair = |x: &str, y: &str| -> Option<(f64, f64)> {
            Some((a.get(x)?.parse().ok()?, a.get(y)?.parse().ok()?))
        };
        match name {
            "sp" | "pic" | "graphicFrame" | "cxnSp" => self.shape = None,
            "grpSpPr" => {
                self.in_group_props = true;
                self.xfrm = Xfrm::default();
            }
            "xfrm" => {
                self.in_xfrm = true;
                if !self.in_group_props {
                    self.xfrm = Xfrm::default();
                }
            }
            "off" if self.in_xfrm => self.xfrm.off = pair("x", "y"),
            "ext" if self.in_xfrm => self.xfrm.ext = pair("cx", "cy"),
            "chOff" if self.in_xfrm => self.xfrm.ch_off = pair("x", "y"),
            "chExt" if self.in_xfrm => self.xfrm.ch_ext = pair("cx", "cy"),
            _ => {}
        }
    }

    pub fn end(&mut self, name: &str) {
        match name {
            "xfrm" => {
                self.in_xfrm = false;
                if let (false, Some(off), Some(ext)) =
                    (self.in_group_props, self.xfrm.off, self.xfrm.ext)
                {
                    let local = [off.0, off.1, ext.0, ext.1];
                    self.shape = Some(self.groups.iter().rev().fold(local, |b, g| g.map(b)));
                }
            }
            "grpSpPr" => {
                self.in_group_props = false;
                let x = &self.xfrm;
                let zero = (0.0, 0.0);
                self.groups.push(Group {
                    off: x.off.unwrap_or(zero),
                    ext: x.ext.unwrap_or(zero),
                    ch_off: x.ch_off.unwrap_or(zero),
                    ch_ext: x.ch_ext.unwrap_or(zero),
                });
            }
            "grpSp" | "spTree" => {
                self.groups.pop();
            }
            _ => {}
        }
    }

    /// The current shape's box in points, when it has its own.
    pub fn shape_box(&self) -> Option<[f32; 4]> {
        self.shape.map(points)
    }
}

/// An EMU box as `[left, top, right, bottom]` in points, to a tenth.
fn points([x, y, w, h]: Emu) -> [f32; 4] {
    let p = |v: f64| ((v / EMU_PER_POINT) * 10.0).round() as f32 / 10.0;
    [p(x), p(y), p(x + w), p(y + h)]
}

/// A placeholder of a layout or master, and its box in points.
pub struct Placeholder {
    kind: String,
    idx: Option<String>,
    bbox: [f32; 4],
}

/// The placeholders of a layout or master that have a box.
pub fn placeholders(xml: &[u8]) -> Result<Vec<Placeholder>, ExtractError> {
    let mut geo = Geometry::default();
    let mut ph: Option<(String, Option<String>)> = None;
    let mut found = Vec::new();
    walk(xml, |ev| match ev {
        Ev::Start(name, a) => {
            if name == "sp" {
                ph = None;
            }
            if name == "ph" {
                let kind = a.get("type").unwrap_or("body").to_string();
                ph = Some((kind, a.get("idx").map(str::to_string)));
            }
            geo.start(name, a);
        }
        Ev::End(name) => {
            geo.end(name);
            if name == "sp" {
                if let (Some((kind, idx)), Some(bbox)) = (ph.take(), geo.shape_box()) {
                    found.push(Placeholder { kind, idx, bbox });
                }
            }
        }
        Ev::Text(_) => {}
    })?;
    Ok(found)
}

/// The box a slide's placeholder inherits: the layout's placeholder of
/// the same index, else of the same type, else the master's of that type
/// (a centred title is a title there, a subtitle a body).
pub fn inherited(
    kind: &str,
    idx: Option<&str>,
    layout: &[Placeholder],
    master: &[Placeholder],
) -> Option<[f32; 4]> {
    let by_idx = idx.and_then(|i| layout.iter().find(|p| p.idx.as_deref() == Some(i)));
    let by_kind = |list: &[Placeholder], k: &str| list.iter().find(|p| p.kind == k).map(|p| p.bbox);
    let general = match kind {
        "ctrTitle" => "title",
        "subTitle" | "obj" => "body",
        other => other,
    };
    by_idx
        .map(|p| p.bbox)
        .or_else(|| by_kind(layout, kind))
        .or_else(|| by_kind(master, kind))
        .or_else(|| by_kind(master, general))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_in_a_scaled_group_lands_where_the_group_puts_it() {
        let xml = br#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree>
            <p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>
            <p:grpSp><p:grpSpPr><a:xfrm><a:off x="127000" y="254000"/><a:ext cx="1270000" cy="1270000"/>
              <a:chOff x="0" y="0"/><a:chExt cx="2540000" cy="2540000"/></a:xfrm></p:grpSpPr>
              <p:sp><p:nvSpPr><p:nvPr><p:ph type="body" idx="3"/></p:nvPr></p:nvSpPr>
                <p:spPr><a:xfrm><a:off x="254000" y="254000"/><a:ext cx="508000" cy="254000"/></a:xfrm></p:spPr></p:sp>
            </p:grpSp></p:spTree></p:cSld></p:sld>"#;
        let found = placeholders(xml).unwrap();
        assert_eq!(found.len(), 1);
        // Half scale: (20 pt, 20 pt) inside becomes (10 + 10, 20 + 10).
        assert_eq!(found[0].bbox, [20.0, 30.0, 40.0, 40.0]);
        assert_eq!(found[0].idx.as_deref(), Some("3"));
        let master = [Placeholder {
            kind: "title".into(),
            idx: None,
            bbox: [1.0, 2.0, 3.0, 4.0],
        }];
        assert_eq!(
            inherited("body", Some("3"), &found, &master),
            Some(found[0].bbox)
        );
        assert_eq!(
            inherited("ctrTitle", None, &found, &master),
            Some([1.0, 2.0, 3.0, 4.0])
        );
        assert_eq!(inherited("dt", None, &found, &master), None);
    }
}
