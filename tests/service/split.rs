//! Large PDFs read in parts: page ranges as queue messages of their own,
//! at most a few of one job at once, merged in page order into the same
//! result a whole read gives.

use quire_testkit::world::*;

/// A PDF of `n` pages, each saying "page N says", its pages in one flat
/// page tree, with a classic cross-reference table.
fn pdf(n: usize) -> Vec<u8> {
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
        font,
    ];
    for i in 0..n {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let content = format!("BT /F1 10 Tf 72 700 Td (page {} says hello.) Tj ET", i + 1);
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

fn world(split_min_bytes: &str) -> World {
    spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "10000000"),
        (
            "USAGE_BUDGETS",
            "requests=1000,stored_bytes=100000000,pages=1000",
        ),
        ("SPLIT_MIN_BYTES", split_min_bytes),
        ("SPLIT_PAGES", "10"),
        ("SPLIT_IN_FLIGHT", "2"),
    ])
}

fn extract_text(w: &World, pdf: &[u8]) -> (String, Value) {
    let doc = w.upload_id("application/pdf", pdf);
    let job = w.job_id(&doc);
    w.drain_queue();
    let status = w.job(&job);
    assert_eq!(status["status"], "succeeded", "{status}");
    let result = result_of(w, &job, "extract");
    (job, result)
}

#[test]
fn a_large_pdf_read_in_parts_gives_what_a_whole_read_gives() {
    let pdf = pdf(35);
    let split = world("1000");
    let (job, parted) = extract_text(&split, &pdf);
    // 35 pages in parts of 10: four part messages, two at a time, and the
    // job's own message twice (planned, then woken by the last part).
    let sent = split.app.queue.sent.borrow();
    let parts: Vec<u32> = sent.iter().filter_map(|m| m.part).collect();
    assert_eq!(parts, vec![0, 1, 2, 3], "{sent:?}");
    assert_eq!(
        sent.iter()
            .filter(|m| m.part.is_none() && m.job_id == job)
            .count(),
        2
    );
    drop(sent);
    // What the parts read is the job's: they fetched the file by range.
    let used = &split.job(&job)["resources"];
    assert!(
        used["bytes_read"].as_u64().unwrap() >= pdf.len() as u64 / 2,
        "{used}"
    );
    let whole = world("100000000");
    let (_, read_whole) = extract_text(&whole, &pdf);
    assert_eq!(parted, read_whole);
    let text = parted.to_string();
    assert!(
        text.contains("page 1 says") && text.contains("page 35 says"),
        "{text}"
    );
}

#[test]
fn no_more_than_the_in_flight_parts_of_one_job_are_queued_at_once() {
    let w = world("1000");
    let doc = w.upload_id("application/pdf", &pdf(60));
    let job = w.job_id(&doc);
    assert_eq!(w.deliver(&job), Disposition::Ack);
    let queued: Vec<u32> = w
        .app
        .queue
        .sent
        .borrow()
        .iter()
        .filter_map(|m| m.part)
        .collect();
    assert_eq!(queued, vec![0, 1]);
    // Parked, not ended: the job runs while its parts are read.
    assert_eq!(w.job(&job)["status"], "running");
    assert_eq!(w.deliver_part(&job, 0), Disposition::Ack);
    let queued: Vec<u32> = w
        .app
        .queue
        .sent
        .borrow()
        .iter()
        .filter_map(|m| m.part)
        .collect();
    assert_eq!(queued, vec![0, 1, 2]);
    // A duplicate delivery of a finished part changes nothing.
    assert_eq!(w.deliver_part(&job, 0), Disposition::Ack);
    assert_eq!(w.app.queue.sent.borrow().len(), 4);
    let progress = w.job(&job)["progress"].as_u64().unwrap();
    assert!(progress > 10, "{progress}");
}

#[test]
fn a_part_whose_storage_fails_is_retried_alone() {
    let w = world("1000");
    let doc = w.upload_id("application/pdf", &pdf(25));
    let job = w.job_id(&doc);
    w.deliver(&job);
    w.app.blobs.inner.faults.fail_next(1);
    assert!(matches!(w.deliver_part(&job, 0), Disposition::Retry { .. }));
    w.drain_queue();
    assert_eq!(w.job(&job)["status"], "succeeded");
    let text = result_of(&w, &job, "extract").to_string();
    assert!(
        text.contains("page 25 says") && !text.contains("pages_unread"),
        "{text}"
    );
}

#[test]
fn a_large_document_other_than_a_pdf_is_still_refused() {
    let w = spawn_app_with(&[
        ("MAX_UPLOAD_BYTES", "10000000"),
        (
            "USAGE_BUDGETS",
            "requests=1000,stored_bytes=100000000,pages=1000",
        ),
        ("MAX_PROCESS_BYTES", "1000"),
    ]);
    let doc = w.upload_id("text/plain", &vec![b'a'; 2000]);
    assert_problem(&w.create_job(&doc), 422, "document_too_large");
}

#[test]
fn deleting_the_document_removes_what_the_parts_of_a_cancelled_job_read() {
    let w = world("1000");
    let doc = w.upload_id("application/pdf", &pdf(25));
    let job = w.job_id(&doc);
    w.deliver(&job);
    assert_eq!(w.deliver_part(&job, 0), Disposition::Ack);
    let parts = || {
        let objects = w.app.blobs.inner.objects.borrow();
        objects.keys().filter(|k| k.contains("/parts/")).count()
    };
    assert_eq!(parts(), 1, "part 0's reading is stored until the merge");
    let cancel = w.send(w.as_admin(Method::Post, &format!("/v1/jobs/{job}/cancel")));
    assert!(
        cancel.status < 300,
        "{}",
        String::from_utf8_lossy(&cancel.body)
    );
    w.drain_queue();
    assert_eq!(parts(), 1, "a cancelled job never merges its parts");
    let gone = w.send(w.as_admin(Method::Delete, &format!("/v1/documents/{doc}")));
    assert_eq!(gone.status, 204);
    assert_eq!(parts(), 0, "the document's text is gone with it");
}

#[test]
fn a_part_that_ends_after_its_document_was_deleted_leaves_no_reading_behind() {
    let w = world("1000");
    let doc = w.upload_id("application/pdf", &pdf(25));
    let job = w.job_id(&doc);
    w.deliver(&job);
    // The document's deletion removes its rows (the job's among them)
    // just as the part stores its reading, after deleting the part
    // readings it found (none yet).
    let jobs = w.app.meta.jobs.clone();
    let deleted = job.clone();
    *w.app.blobs.inner.after_put.borrow_mut() = Some((
        "/parts/".into(),
        Box::new(move || {
            jobs.borrow_mut().remove(&deleted);
        }),
    ));
    assert_eq!(w.deliver_part(&job, 0), Disposition::Ack);
    let objects = w.app.blobs.inner.objects.borrow();
    assert!(
        objects.keys().all(|k| !k.contains("/parts/")),
        "the document's text stays in storage: {:?}",
        objects.keys().collect::<Vec<_>>()
    );
}
