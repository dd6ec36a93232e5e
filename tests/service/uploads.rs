//! Application tests of resumable multipart uploads: parts in and out of
//! order, resent parts, SHA-256 checks, aborts, idle sweeps, encryption
//! part by part, and reading the assembled document back by range.

use quire::ports::{BlobStore, UploadStore};
use quire_testkit::world::*;
use sha2::{Digest, Sha256};

const PART: usize = 128 * 1024;

fn world() -> World {
    spawn_app_with(&[
        ("UPLOAD_PART_BYTES", "131072"),
        ("USAGE_BUDGETS", "requests=100000,stored_bytes=100000000"),
        ("MAX_PROCESS_BYTES", "200000"),
        ("MAX_UPLOAD_BYTES", "2000000"),
    ])
}

fn data(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"Resumable uploads, part by part.\n"[i % 33])
        .collect()
}

fn start(w: &World, size: usize, sha256: Option<&str>) -> Response {
    start_typed(w, size, "text/plain", sha256)
}

fn start_typed(w: &World, size: usize, content_type: &str, sha256: Option<&str>) -> Response {
    let mut body =
        serde_json::json!({ "filename": "big", "content_type": content_type, "size": size });
    if let Some(h) = sha256 {
        body["sha256"] = h.into();
    }
    w.send(
        w.as_admin(Method::Post, "/v1/uploads")
            .with_header("content-type", "application/json")
            .with_body(body.to_string()),
    )
}

fn put(w: &World, id: &str, n: usize, bytes: &[u8]) -> Response {
    w.send(
        w.as_admin(Method::Put, &format!("/v1/uploads/{id}/parts/{n}"))
            .with_header("content-type", "application/octet-stream")
            .with_body(bytes.to_vec()),
    )
}

fn part(all: &[u8], n: usize) -> &[u8] {
    &all[(n - 1) * PART..(n * PART).min(all.len())]
}

fn stored_bytes(w: &World) -> i64 {
    let month = quire::usage::month_of(w.clock.0.get());
    w.app
        .gate
        .totals_of("ten_a", &month)
        .get("stored_bytes")
        .copied()
        .unwrap_or(0)
}

#[test]
fn parts_in_order_become_an_encrypted_document_readable_by_range() {
    let w = world();
    let all = data(300_000);
    let sha = hex::encode(Sha256::digest(&all));
    let created = start(&w, all.len(), Some(&sha));
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let up = created.json_body();
    assert_eq!(
        (up["parts"].as_u64(), up["part_size"].as_u64()),
        (Some(3), Some(PART as u64))
    );
    let id = up["id"].as_str().unwrap().to_string();
    for n in 1..=3 {
        assert_eq!(put(&w, &id, n, part(&all, n)).status, 200);
    }
    let status = w
        .send(w.as_admin(Method::Get, &format!("/v1/uploads/{id}")))
        .json_body();
    assert_eq!(status["parts_received"], serde_json::json!([1, 2, 3]));
    assert_eq!(status["parts_missing"], serde_json::json!([]));
    // Each part went to the store sealed, and full parts are equal in size.
    {
        let mp = w.app.blobs.inner.multipart.borrow();
        let parts = mp.values().next().unwrap();
        assert_eq!(parts[&1].1.len(), parts[&2].1.len(), "R2 wants equal parts");
        assert!(parts[&1].1.starts_with(b"QENC2"));
        assert!(!parts[&1].1.windows(9).any(|x| x == b"Resumable"));
    }
    let done = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    let doc = done.json_body();
    assert_eq!(doc["sha256"], sha.as_str());
    assert_eq!(doc["size_bytes"], 300_000);
    assert_eq!(doc["id"], up["document_id"]);
    let path = format!("/v1/documents/{}/content", doc["id"].as_str().unwrap());
    assert_eq!(w.send(w.as_admin(Method::Get, &path)).body, all);
    // A range across the boundary of parts 1 and 2.
    let r = w.send(
        w.as_admin(Method::Get, &path)
            .with_header("range", &format!("bytes={}-{}", PART - 10, PART + 9)),
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &all[PART - 10..PART + 10]);
    // The upload is over; the budget holds the document's bytes once.
    assert_eq!(
        w.send(w.as_admin(Method::Get, &format!("/v1/uploads/{id}")))
            .status,
        404
    );
    assert_eq!(stored_bytes(&w), 300_000);
    // Deleting the document takes its key header too.
    let del = w.send(w.as_admin(
        Method::Delete,
        &format!("/v1/documents/{}", doc["id"].as_str().unwrap()),
    ));
    assert_eq!(del.status, 204);
    assert!(
        w.app.blobs.inner.objects.borrow().is_empty(),
        "no object or header left"
    );
}

#[test]
fn an_upload_takes_media_type_by_the_name_documents_report_it_by() {
    let w = world();
    let send = |body: serde_json::Value| {
        w.send(
            w.as_admin(Method::Post, "/v1/uploads")
                .with_header("content-type", "application/json")
                .with_body(body.to_string()),
        )
    };
    let made = send(serde_json::json!({"media_type": "text/csv", "size": 10}));
    assert_eq!(made.status, 201);
    let upload = made.json_body();
    assert_eq!(upload["media_type"], "text/csv");
    // Both names at once is ambiguous, and refused.
    let both = send(
        serde_json::json!({"media_type": "text/csv", "content_type": "text/plain", "size": 10}),
    );
    assert_eq!(both.status, 422);
}

#[test]
fn parts_out_of_order_and_resent_still_hash_right() {
    let w = world();
    let all = data(2 * PART + 5);
    let sha = hex::encode(Sha256::digest(&all));
    let id = start(&w, all.len(), Some(&sha)).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(put(&w, &id, 3, part(&all, 3)).status, 200);
    assert_eq!(put(&w, &id, 1, part(&all, 1)).status, 200);
    // A retry of part 1 (the first answer was lost): replaces it.
    assert_eq!(put(&w, &id, 1, part(&all, 1)).status, 200);
    let early = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_problem(&early, 409, "upload_incomplete");
    assert_eq!(put(&w, &id, 2, part(&all, 2)).status, 200);
    let done = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(done.json_body()["sha256"], sha.as_str());
}

#[test]
fn bad_parts_and_a_wrong_digest_are_refused_and_nothing_is_kept() {
    let w = world();
    let all = data(PART + 100);
    let wrong = hex::encode(Sha256::digest(b"something else"));
    let id = start(&w, all.len(), Some(&wrong)).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stored_bytes(&w), all.len() as i64, "charged on start");
    assert_problem(&put(&w, &id, 1, &all[..100]), 422, "invalid_part_size");
    assert_problem(&put(&w, &id, 3, &all[..100]), 422, "invalid_part_number");
    assert_problem(&put(&w, &id, 0, &all[..100]), 422, "invalid_part_number");
    put(&w, &id, 1, part(&all, 1));
    put(&w, &id, 2, part(&all, 2));
    let done = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_problem(&done, 422, "sha256_mismatch");
    assert!(
        w.app.blobs.inner.objects.borrow().is_empty(),
        "object and header gone"
    );
    assert!(w.app.meta.documents.borrow().is_empty());
    assert_eq!(stored_bytes(&w), 0, "charge given back");

    for body in [
        r#"{"size": 0}"#,
        r#"{"size": 6000000000}"#,
        r#"{"size": 10, "sha256": "xyz"}"#,
        r#"{"size": 10, "colour": "red"}"#,
    ] {
        let r = w.send(
            w.as_admin(Method::Post, "/v1/uploads")
                .with_header("content-type", "application/json")
                .with_body(body),
        );
        assert_eq!(r.status, 422, "{body}");
    }
    let exe = w.send(
        w.as_admin(Method::Post, "/v1/uploads")
            .with_header("content-type", "application/json")
            .with_body(r#"{"size": 10, "content_type": "application/x-msdownload"}"#),
    );
    assert_eq!(exe.status, 415);
}

#[test]
fn aborted_and_abandoned_uploads_leave_nothing_and_give_the_bytes_back() {
    let w = world();
    let all = data(PART + 1);
    let id = start(&w, all.len(), None).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    put(&w, &id, 1, part(&all, 1));
    // Another tenant cannot see it.
    let other = w.send(
        Request::new(Method::Get, &format!("/v1/uploads/{id}"))
            .with_header("authorization", &format!("Bearer {OTHER_TENANT}")),
    );
    assert_problem(&other, 404, "not_found");
    assert_eq!(
        w.send(w.as_admin(Method::Delete, &format!("/v1/uploads/{id}")))
            .status,
        204
    );
    assert_eq!(
        w.send(w.as_admin(Method::Get, &format!("/v1/uploads/{id}")))
            .status,
        404
    );
    assert!(w.app.blobs.inner.multipart.borrow().is_empty());
    assert!(
        w.app.blobs.inner.objects.borrow().is_empty(),
        "key header gone"
    );
    assert_eq!(stored_bytes(&w), 0);

    // Abandoned: the sweep aborts it after a day without a part.
    let id = start(&w, all.len(), None).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    put(&w, &id, 1, part(&all, 1));
    let early = block_on(w.app.sweep(w.clock.0.get() + 3_600_000));
    assert_eq!(early.uploads_aborted, 0);
    // Its key header is not an orphan while the upload lives.
    assert_eq!(early.orphans_deleted, 0);
    let later = block_on(w.app.sweep(w.clock.0.get() + 25 * 3_600_000));
    assert_eq!(later.uploads_aborted, 1);
    assert_eq!(
        w.send(w.as_admin(Method::Get, &format!("/v1/uploads/{id}")))
            .status,
        404
    );
    assert_eq!(stored_bytes(&w), 0);
}

#[test]
fn documents_too_large_to_process_are_refused_at_job_creation() {
    let w = world();
    let all = data(2 * PART);
    let id = start(&w, all.len(), None).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    put(&w, &id, 1, part(&all, 1));
    put(&w, &id, 2, part(&all, 2));
    let doc = w
        .send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")))
        .json_body();
    let job = w.create_job(doc["id"].as_str().unwrap());
    assert_problem(&job, 422, "document_too_large");
}

fn stream_upload(w: &World, declared: u64, data: Vec<u8>) -> Response {
    stream_typed(w, declared, data, "text/plain")
}

fn stream_typed(w: &World, declared: u64, data: Vec<u8>, content_type: &str) -> Response {
    let source = std::rc::Rc::new(quire_testkit::VecSource::new(data, 50_000));
    w.send(
        w.as_admin(Method::Post, "/v1/documents")
            .with_header("content-type", content_type)
            .with_header("x-filename", "streamed.txt")
            .with_stream(declared, source),
    )
}

#[test]
fn a_streamed_upload_goes_to_storage_a_part_at_a_time() {
    let w = world();
    let all = data(3 * PART + 777);
    let resp = stream_upload(&w, all.len() as u64, all.clone());
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let doc = resp.json_body();
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(&all)).as_str());
    assert_eq!(doc["size_bytes"], all.len());
    assert_eq!(doc["filename"], "streamed.txt");
    let id = doc["id"].as_str().unwrap();
    // Stored as sealed parts, assembled: no multipart upload left over.
    assert!(w.app.blobs.inner.multipart.borrow().is_empty());
    let key = format!("tenants/ten_a/documents/{id}/original");
    let raw = w.app.blobs.inner.objects.borrow()[&key].clone();
    assert!(raw.starts_with(b"QENC2"));
    let back = w.send(w.as_admin(Method::Get, &format!("/v1/documents/{id}/content")));
    assert_eq!(back.body, all);
    assert_eq!(stored_bytes(&w), all.len() as i64);
}

#[test]
fn a_streamed_body_shorter_or_longer_than_declared_leaves_nothing() {
    let w = world();
    let all = data(2 * PART + 10);
    let short = stream_upload(&w, all.len() as u64 + 5, all.clone());
    assert_problem(&short, 422, "body_too_short");
    let long = stream_upload(&w, all.len() as u64 - 5, all.clone());
    assert_problem(&long, 422, "body_too_long");
    assert!(w.app.blobs.inner.multipart.borrow().is_empty(), "aborted");
    assert!(
        w.app.blobs.inner.objects.borrow().is_empty(),
        "no object, no key header"
    );
    assert!(w.app.meta.documents.borrow().is_empty());
    assert_eq!(stored_bytes(&w), 0, "charges given back");
    // The size limit still holds, before anything is read.
    let big = stream_upload(&w, 300_000_000, Vec::new());
    assert_problem(&big, 413, "payload_too_large");
    // And the scan: an executable in the first part is refused.
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend(data(PART + 10));
    let refused = stream_upload(&w, exe.len() as u64, exe);
    assert_problem(&refused, 415, "content_type_mismatch");
    assert!(w.app.blobs.inner.objects.borrow().is_empty());
    assert_eq!(stored_bytes(&w), 0);
}

#[test]
fn rotating_the_master_key_rewraps_a_multipart_object_through_its_key_header() {
    use quire::crypto::{key_id_of, MasterKeys};
    let mut w = world();
    let all = data(2 * PART + 3);
    let id = start(&w, all.len(), None).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    put(&w, &id, 1, part(&all, 1));
    put(&w, &id, 2, part(&all, 2));
    put(&w, &id, 3, part(&all, 3));
    let doc = w
        .send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")))
        .json_body();
    let doc_id = doc["id"].as_str().unwrap().to_string();
    let hdr = format!("tenants/ten_a/documents/{doc_id}/original.hdr");
    let k1 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let k2 = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    w.app.blobs.keys = MasterKeys::parse(&format!("k2:{k2},k1:{k1}"), None).unwrap();
    let header_key = |w: &World| {
        key_id_of(&w.app.blobs.inner.objects.borrow()[&hdr])
            .unwrap()
            .to_string()
    };
    assert_eq!(header_key(&w), "k1");
    let r = w.send(
        Request::new(Method::Post, "/v1/admin/rewrap")
            .with_header("authorization", &format!("Bearer {OPERATOR}")),
    );
    assert_eq!(r.status, 200);
    assert_eq!(header_key(&w), "k2", "{}", r.json_body());
    // k1 retired: the document still reads, by range and whole.
    w.app.blobs.keys = MasterKeys::parse(&format!("k2:{k2}"), None).unwrap();
    let path = format!("/v1/documents/{doc_id}/content");
    assert_eq!(w.send(w.as_admin(Method::Get, &path)).body, all);
}

#[test]
fn completing_again_after_a_failure_past_assembly_succeeds() {
    let w = world();
    let all = data(PART + 9);
    let id = start(&w, all.len(), None).json_body()["id"]
        .as_str()
        .unwrap()
        .to_string();
    put(&w, &id, 1, part(&all, 1));
    put(&w, &id, 2, part(&all, 2));
    // An earlier completion assembled the object, then failed.
    assert_eq!(w.app.blobs.inner.multipart.borrow().len(), 1);
    let etags: Vec<(u32, String)> = block_on(w.app.meta.list_upload_parts(&id))
        .unwrap()
        .into_iter()
        .map(|p| (p.number, p.etag))
        .collect();
    let upload = block_on(w.app.meta.get_upload("ten_a", &id))
        .unwrap()
        .unwrap();
    block_on(
        w.app
            .blobs
            .finish_multipart(&upload.blob_key, &upload.store_upload_id, &etags),
    )
    .unwrap();
    // The retry finds the multipart upload gone but the object there.
    let done = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    let path = format!(
        "/v1/documents/{}/content",
        done.json_body()["id"].as_str().unwrap()
    );
    assert_eq!(w.send(w.as_admin(Method::Get, &path)).body, all);
}

/// A PDF of `len` bytes with `marker` written at `at`.
fn pdf_with(len: usize, at: usize, marker: &[u8]) -> Vec<u8> {
    let mut pdf = data(len);
    pdf[..9].copy_from_slice(b"%PDF-1.7\n");
    pdf[at..at + marker.len()].copy_from_slice(marker);
    pdf
}

const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn resumable(w: &World, content_type: &str, all: &[u8]) -> Response {
    let id = created_id(&start_typed(w, all.len(), content_type, None), 201);
    // Out of order: each part is searched on arrival, the joins at the end.
    for n in [3, 1, 2] {
        assert_eq!(put(w, &id, n, part(all, n)).status, 200);
    }
    w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")))
}

fn nothing_stored(w: &World) -> bool {
    w.app.blobs.inner.objects.borrow().is_empty()
        && w.app.blobs.inner.multipart.borrow().is_empty()
        && w.app.meta.documents.borrow().is_empty()
}

#[test]
fn signatures_past_the_first_part_are_found_in_resumable_uploads() {
    // Script in a PDF, split across the join of parts 1 and 2.
    let script = b"/OpenAction << /S /JavaScript >>";
    let pdf = pdf_with(3 * PART - 100, PART - 20, script);
    let w = world();
    let done = resumable(&w, "application/pdf", &pdf);
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(
        done.json_body()["scan"]["flags"],
        serde_json::json!(["pdf_javascript"])
    );

    // Refused when the deployment refuses it: and nothing is kept.
    let strict = spawn_app_with(&[
        ("UPLOAD_PART_BYTES", "131072"),
        ("USAGE_BUDGETS", "requests=100000,stored_bytes=100000000"),
        ("SCAN_REFUSE", "pdf_javascript"),
    ]);
    let refused = resumable(&strict, "application/pdf", &pdf);
    assert_problem(&refused, 422, "content_refused");
    assert!(nothing_stored(&strict));

    // The EICAR test string deep inside a text, in part 3.
    let mut text = data(3 * PART - 100);
    text[2 * PART + 500..2 * PART + 500 + EICAR.len()].copy_from_slice(EICAR);
    let w = world();
    assert_problem(&resumable(&w, "text/plain", &text), 422, "malware_detected");
    assert!(nothing_stored(&w));
}

#[test]
fn signatures_past_the_first_part_are_found_in_streamed_uploads() {
    let w = world();
    let launch = b"/OpenAction << /S /Launch /F (cmd.exe) >>";
    let pdf = pdf_with(3 * PART + 10, 2 * PART - 7, launch);
    let resp = stream_typed(&w, pdf.len() as u64, pdf, "application/pdf");
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(
        resp.json_body()["scan"]["flags"],
        serde_json::json!(["pdf_launch"])
    );

    let w = world();
    let mut text = data(3 * PART);
    text[PART - 30..PART - 30 + EICAR.len()].copy_from_slice(EICAR);
    let resp = stream_typed(&w, text.len() as u64, text, "text/plain");
    assert_problem(&resp, 422, "malware_detected");
    assert!(nothing_stored(&w));
    // A text that only mentions PDF names is not flagged.
    let w = world();
    let plain = pdf_with(2 * PART, PART + 3, b"/Launch")[9..].to_vec();
    let resp = stream_typed(&w, plain.len() as u64, plain, "text/plain");
    assert_eq!(resp.json_body()["scan"]["flags"], serde_json::json!([]));
}

/// An archive of these members; `noise` bytes of incompressible data are
/// stored first, so that the directory is well past the first part.
fn archive(noise: usize, members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut x: u32 = 7;
    let random: Vec<u8> = (0..noise)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect();
    w.start_file("word/media/image1.bin", stored).unwrap();
    w.write_all(&random).unwrap();
    for (name, data) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

#[test]
fn large_archives_are_scanned_from_their_directory() {
    let office = [
        ("[Content_Types].xml", &b"<Types/>"[..]),
        ("word/document.xml", b"<w:document/>"),
        ("word/vbaProject.bin", b"macro"),
    ];
    let docm = archive(3 * PART, &office);
    assert!(docm.len() > 3 * PART);
    // In parts, out of order: macros found from the directory at the end.
    let w = world();
    let id = created_id(&start_typed(&w, docm.len(), DOCX, None), 201);
    for n in [4, 2, 1, 3] {
        assert_eq!(put(&w, &id, n, part(&docm, n)).status, 200);
    }
    let done = w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    let scan = &done.json_body()["scan"];
    assert_eq!(scan["sniffed_type"], DOCX);
    assert_eq!(scan["flags"], serde_json::json!(["macros"]));

    // A failure to read the directory keeps the upload: completing again
    // finishes it. (At completion, the store's first 4 calls assemble the
    // object and read its first part; the 5th reads its end.)
    let w = world();
    let id = created_id(&start_typed(&w, docm.len(), DOCX, None), 201);
    for n in 1..=4 {
        assert_eq!(put(&w, &id, n, part(&docm, n)).status, 200);
    }
    w.app.blobs.inner.faults.fail_after(4, 1);
    let complete = || w.send(w.as_admin(Method::Post, &format!("/v1/uploads/{id}/complete")));
    assert_problem(&complete(), 503, "storage_unavailable");
    assert_eq!(
        w.send(w.as_admin(Method::Get, &format!("/v1/uploads/{id}")))
            .status,
        200
    );
    let done = complete();
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(
        done.json_body()["scan"]["flags"],
        serde_json::json!(["macros"])
    );

    // In one streamed request: a bomb member is refused, nothing kept.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = archive(2 * PART, &[("zeros.txt", &zeros)]);
    let w = world();
    let resp = stream_typed(&w, bomb.len() as u64, bomb, "application/zip");
    assert_problem(&resp, 422, "zip_bomb");
    assert!(nothing_stored(&w));

    // Declared a document, an archive of something else: 415.
    let plain = archive(2 * PART, &[("notes.txt", b"just notes")]);
    let w = world();
    let resp = stream_typed(&w, plain.len() as u64, plain.clone(), DOCX);
    assert_eq!(resp.status, 415, "{}", String::from_utf8_lossy(&resp.body));
    // An archive inside: flagged, as it is not opened.
    let nested = archive(2 * PART, &[("inner.zip", &plain)]);
    let resp = stream_typed(&w, nested.len() as u64, nested, "application/zip");
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(
        resp.json_body()["scan"]["flags"],
        serde_json::json!(["nested_archive_not_scanned"])
    );
}

#[test]
fn a_streamed_upload_that_outlasts_the_start_of_a_tenant_move_is_refused_not_written_to_the_shard_left(
) {
    let w = world();
    seed_tenant(&w, "ten_a");
    // The request was let in before the freeze; the move begins while the
    // body is still arriving (after its first piece).
    let tenants = w.app.meta.tenants.clone();
    let all = data(3 * PART + 5);
    let source = std::rc::Rc::new(
        quire_testkit::VecSource::new(all.clone(), 50_000).meanwhile(move || {
            tenants
                .borrow_mut()
                .get_mut("ten_a")
                .unwrap()
                .moving_since_ms = Some(1);
        }),
    );
    let resp = w.send(
        w.as_admin(Method::Post, "/v1/documents")
            .with_header("content-type", "text/plain")
            .with_stream(all.len() as u64, source),
    );
    assert_problem(&resp, 503, "tenant_moving");
    // No row on the shard being left, no object, the charge given back.
    assert!(w.app.meta.documents.borrow().is_empty());
    assert!(w
        .app
        .blobs
        .inner
        .objects
        .borrow()
        .keys()
        .all(|k| !k.contains("/documents/")));
    assert_eq!(stored_bytes(&w), 0);
    // Once the move is over, the same upload goes through.
    w.app
        .meta
        .tenants
        .borrow_mut()
        .get_mut("ten_a")
        .unwrap()
        .moving_since_ms = None;
    let resp = stream_upload(&w, all.len() as u64, all);
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
}
