//! Form XObjects: the resources a form draws with, over those of the
//! content that draws it, and running a form (or noting an image) at `Do`.

use super::{walk, State, MAX_FORM_DEPTH};
use crate::pdf::fonts::{Font, FontCache};
use crate::pdf::inflate::decoded;
use crate::pdf::matrix::Matrix;
use crate::{ExtractError, Limits};
use lopdf::{Dictionary, Document, Object};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The named resources a content stream can use.
#[derive(Clone, Default)]
pub(super) struct Scope<'a> {
    pub(super) fonts: BTreeMap<Vec<u8>, Rc<Font<'a>>>,
    pub(super) xobjects: Option<&'a Dictionary>,
}

pub(super) fn deref_dict<'a>(doc: &'a Document, o: Option<&'a Object>) -> Option<&'a Dictionary> {
    doc.dereference(o?).ok()?.1.as_dict().ok()
}

/// A form XObject's scope: its own resources over the enclosing ones.
fn form_scope<'a>(
    doc: &'a Document,
    resources: Option<&'a Dictionary>,
    outer: &Scope<'a>,
    cache: &FontCache<'a>,
    limits: &Limits,
) -> Result<Scope<'a>, ExtractError> {
    let mut scope = outer.clone();
    let Some(res) = resources else {
        return Ok(scope);
    };
    if let Some(fonts) = deref_dict(doc, res.get(b"Font").ok()) {
        for (name, f) in fonts.iter() {
            if let Some(dict) = deref_dict(doc, Some(f)) {
                scope
                    .fonts
                    .insert(name.clone(), cache.font(doc, dict, limits)?);
            }
        }
    }
    if let Some(x) = deref_dict(doc, res.get(b"XObject").ok()) {
        scope.xobjects = Some(x);
    }
    Ok(scope)
}

/// Draws an XObject (`Do`): runs a form with its matrix and resources,
/// notes an image and the area it covers.
pub(super) fn run_form<'a>(
    doc: &'a Document,
    name: &[u8],
    st: &mut State<'a>,
    depth: u32,
    limits: &Limits,
) -> Result<(), ExtractError> {
    if depth >= MAX_FORM_DEPTH {
        return Ok(());
    }
    let Some(entry) = st.scope.xobjects.and_then(|x| x.get(name).ok()) else {
        return Ok(());
    };
    let Some(stream) = doc
        .dereference(entry)
        .ok()
        .and_then(|(_, o)| o.as_stream().ok())
    else {
        return Ok(());
    };
    match stream.dict.get(b"Subtype").and_then(Object::as_name).ok() {
        Some(b"Form") => {}
        Some(b"Image") => {
            if let Object::Reference(id) = entry {
                let [a, b, c, d, ..] = st.ctm.0;
                let area = |[a, b, c, d]: [f32; 4]| (a * d - b * c).abs();
                if st
                    .images
                    .first()
                    .is_none_or(|(_, m)| area([a, b, c, d]) > area(*m))
                {
                    st.images = vec![(*id, [a, b, c, d])];
                }
            }
            return Ok(());
        }
        _ => return Ok(()),
    }
    // Every run counts, and decodes its stream again under the budget: a
    // form drawn a million times costs what a million forms would.
    limits.take_form_run()?;
    let data = match decoded(stream, limits, "a form XObject") {
        Ok(d) => d,
        Err(e @ ExtractError::TooLarge(_)) => return Err(e),
        Err(_) => stream.content.clone(),
    };
    let resources = deref_dict(doc, stream.dict.get(b"Resources").ok());
    let saved_scope = std::mem::take(&mut st.scope);
    st.scope = form_scope(doc, resources, &saved_scope, st.cache, limits)?;
    let (saved_ctm, saved_ink) = (st.ctm, st.paths.ink);
    if let Ok(Object::Array(m)) = stream.dict.get(b"Matrix") {
        st.ctm = Matrix::of(m).then(st.ctm);
    }
    let walked = walk(doc, &data, st, depth + 1, limits);
    (st.ctm, st.paths.ink) = (saved_ctm, saved_ink);
    st.scope = saved_scope;
    walked
}
