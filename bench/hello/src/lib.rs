//! Hello world on workers-rs, the baseline `npm run bench:gate` measures
//! Quire against: `GET /` answers at once; `GET /do` makes one Durable
//! Object round trip that writes to its storage (what Quire's one gate
//! call per request is, at the least); `GET /floor` does what an
//! authenticated Quire read cannot do without: that round trip, one D1
//! query and one JSON log line, and nothing else.

use worker::{durable_object, event, Context, Env, Request, Response, Result, State};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if path == "/do" || path == "/floor" {
        let stub = env.durable_object("COUNTER")?.id_from_name("bench")?.get_stub()?;
        let text = stub.fetch_with_str("https://counter/").await?.text().await?;
        if path == "/floor" {
            let one = env.d1("DB")?.prepare("SELECT 1 AS one").first::<serde_json::Value>(None).await?;
            worker::console_log!(
                "{{\"level\":\"info\",\"msg\":\"request\",\"path\":\"/floor\",\"status\":200,\"count\":{text},\"one\":{}}}",
                one.map(|v| v.to_string()).unwrap_or_default()
            );
        }
        return Response::ok(text);
    }
    if req.path() == "/log" {
        worker::console_log!("{{\"level\":\"info\",\"msg\":\"request\",\"ts\":\"2026-12-02T13:41:51.998Z\",\"request_id\":\"req_01m8vftz7ys81z9h542zxnszr3\",\"trace_id\":\"7fd0eea853913a46c9952bf8dafeddac\",\"span_id\":\"c5a1731cdcf34366\",\"method\":\"POST\",\"path\":\"/v1/documents\",\"route\":\"CreateDocument\",\"status\":201}}");
    }
    Response::ok("hello")
}

#[durable_object]
pub struct Counter {
    state: State,
}

impl worker::DurableObject for Counter {
    fn new(state: State, _env: Env) -> Self {
        Counter { state }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let n: u64 = storage.get("n").await?.unwrap_or(0) + 1;
        storage.put("n", n).await?;
        Response::ok(n.to_string())
    }
}
