//! Calling a Durable Object: one JSON POST to the object named `name`.

use worker::{ObjectNamespace, Request, RequestInit, Response};

pub async fn post_json(
    ns: &ObjectNamespace,
    name: &str,
    url: &str,
    body: &impl serde::Serialize,
) -> worker::Result<Response> {
    let stub = ns.id_from_name(name)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(serde_json::to_string(body)?.into()));
    stub.fetch_with_request(Request::new_with_init(url, &init)?)
        .await
}
