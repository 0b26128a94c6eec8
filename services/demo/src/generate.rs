//! Pure trace generation: the web shop's topology, timing, errors and logs.
//!
//! Nothing here does I/O or reads the clock: [`Generator::trace`] turns a
//! seeded [`Rng`], the wall-clock time to end the trace at and the current
//! [`Conditions`] into spans, logs and request samples for the metrics.
//!
//! Topology (client span in the caller, server span in the callee):
//!
//! ```text
//! frontend ──GET /products, /products/{id}──▶ catalog ──▶ redis, postgres (on a cache miss)
//! frontend ──POST /checkout──▶ checkout (v1 90% / v2 10%)
//!                               ├──GET /cart/{userId}──────▶ cart ──▶ redis
//!                               ├──▶ postgres (inventory)
//!                               ├──POST /payments/charge──▶ payment ──▶ postgres
//!                               ├──▶ postgres (orders)
//!                               └──DELETE /cart/{userId}──▶ cart ──▶ redis
//! ```

use airis_proto::kv::{any_value, kv};
use airis_proto::otlp::tonic::common::v1::KeyValue;
use airis_proto::otlp::tonic::logs::v1::{LogRecord, SeverityNumber};
use airis_proto::otlp::tonic::trace::v1::{Span, Status, span::SpanKind, status::StatusCode};

use crate::rng::Rng;

/// The instrumented services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Frontend,
    Checkout,
    Payment,
    Cart,
    Catalog,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Frontend,
        Service::Checkout,
        Service::Payment,
        Service::Cart,
        Service::Catalog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Frontend => "frontend",
            Service::Checkout => "checkout",
            Service::Payment => "payment",
            Service::Cart => "cart",
            Service::Catalog => "catalog",
        }
    }

    /// A server span longer than this logs a WARN.
    fn slow_threshold_ms(self) -> f64 {
        match self {
            Service::Frontend => 1500.0,
            Service::Checkout => 1000.0,
            Service::Payment => 600.0,
            Service::Cart => 100.0,
            Service::Catalog => 250.0,
        }
    }
}

pub const CHECKOUT_V1: &str = "v1";
pub const CHECKOUT_V2: &str = "v2";
/// Version of every service but checkout.
pub const STABLE_VERSION: &str = "v1";

/// Which instance emitted a span, log or sample: its OTLP resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub service: Service,
    pub version: &'static str,
}

impl Origin {
    pub fn stable(service: Service) -> Self {
        Self {
            service,
            version: STABLE_VERSION,
        }
    }
}

/// An item with the resource that emitted it.
#[derive(Clone, Debug)]
pub struct Emitted<T> {
    pub origin: Origin,
    pub item: T,
}

/// One handled HTTP request, for the RED metrics.
#[derive(Clone, Debug)]
pub struct RequestSample {
    pub origin: Origin,
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
    pub duration_s: f64,
}

/// The user journey a trace follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Browse,
    Product,
    Checkout,
}

/// Everything one trace produced.
#[derive(Clone, Debug)]
pub struct GeneratedTrace {
    pub trace_id: [u8; 16],
    pub flow: Flow,
    /// The checkout version that served it, for checkout traces.
    pub checkout_version: Option<&'static str>,
    /// Whether the root (frontend) span failed.
    pub failed: bool,
    pub spans: Vec<Emitted<Span>>,
    pub logs: Vec<Emitted<LogRecord>>,
    pub requests: Vec<RequestSample>,
    /// Time each origin spent in postgres calls, for the pool gauge.
    pub db_busy: Vec<(Origin, u64)>,
}

/// What the load shape says right now.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// Probability that a trace fails (checkout v2 fails 3× as often).
    pub error_rate: f64,
    /// Share of checkout traffic served by v2.
    pub canary_share: f64,
    /// Multiplier of payment latency (10 during an incident).
    pub payment_slowdown: f64,
    /// How checkout v2 differs from v1.
    pub canary: Canary,
}

impl Default for Conditions {
    fn default() -> Self {
        Self {
            error_rate: 0.02,
            canary_share: 0.1,
            payment_slowdown: 1.0,
            canary: Canary::default(),
        }
    }
}

/// How checkout v2 differs from v1: by default a release with a new
/// pricing step (slower, and failing three times as often); `same` makes it
/// v1 again, and regressions on demand come on top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Canary {
    /// Whether v2 is the release with the pricing step (false: v2 behaves
    /// as v1).
    pub pricing_release: bool,
    /// Every v2 checkout request (the checkout service's POST /checkout)
    /// takes this many times as long; 1 leaves it.
    pub slowdown: f64,
    /// Probability added to a v2 trace's chance to fail (0.01: one
    /// percentage point more).
    pub extra_errors: f64,
    /// v2 logs a new error (a promotion rule not found) on a fifth of its
    /// requests.
    pub error_log: bool,
}

impl Default for Canary {
    fn default() -> Self {
        Self {
            pricing_release: true,
            slowdown: 1.0,
            extra_errors: 0.0,
            error_log: false,
        }
    }
}

impl Canary {
    /// v2 exactly as v1.
    pub const SAME: Self = Self {
        pricing_release: false,
        slowdown: 1.0,
        extra_errors: 0.0,
        error_log: false,
    };
}

/// How the pricing release of checkout v2 differs from v1.
const V2_ERROR_FACTOR: f64 = 3.0;
const V2_LATENCY_FACTOR: f64 = 1.35;
const V2_PRICING_MS: f64 = 25.0;
const CACHE_HIT_RATE: f64 = 0.8;

/// Generates traces from a seed.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: Rng,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
        }
    }

    /// One trace whose root span ends at `end_unix_nanos`.
    pub fn trace(&mut self, end_unix_nanos: u64, conditions: &Conditions) -> GeneratedTrace {
        let rng = &mut self.rng;
        let roll = rng.f64();
        let flow = if roll < 0.4 {
            Flow::Browse
        } else if roll < 0.7 {
            Flow::Product
        } else {
            Flow::Checkout
        };
        let checkout_version = (flow == Flow::Checkout).then(|| {
            if rng.chance(conditions.canary_share) {
                CHECKOUT_V2
            } else {
                CHECKOUT_V1
            }
        });
        let canary = conditions.canary;
        let error_rate = if checkout_version == Some(CHECKOUT_V2) {
            let factor = if canary.pricing_release {
                V2_ERROR_FACTOR
            } else {
                1.0
            };
            (conditions.error_rate * factor + canary.extra_errors).min(1.0)
        } else {
            conditions.error_rate
        };
        let fail = rng.chance(error_rate);
        let trace_id = rng.trace_id();
        let mut b = TraceBuilder {
            rng,
            trace_id,
            conditions: *conditions,
            spans: Vec::new(),
            logs: Vec::new(),
            requests: Vec::new(),
            db_busy: Vec::new(),
        };
        let root = match flow {
            Flow::Browse | Flow::Product => b.browse(flow, fail),
            Flow::Checkout => b.checkout(checkout_version.unwrap_or(CHECKOUT_V1), fail),
        };
        // Times so far are relative to the root's start; shift them so the
        // root ends now.
        let base = end_unix_nanos.saturating_sub(root.end);
        for span in &mut b.spans {
            span.item.start_time_unix_nano += base;
            span.item.end_time_unix_nano += base;
        }
        for log in &mut b.logs {
            log.item.time_unix_nano += base;
            log.item.observed_time_unix_nano += base;
        }
        GeneratedTrace {
            trace_id,
            flow,
            checkout_version,
            failed: root.status >= 500,
            spans: b.spans,
            logs: b.logs,
            requests: b.requests,
            db_busy: b.db_busy,
        }
    }
}

/// The outcome of a handled request (or of a call, seen by the caller).
#[derive(Clone, Copy, Debug)]
struct Handled {
    end: u64,
    status: u16,
    error_type: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Postgres,
    Redis,
}

struct DbCall {
    db: Db,
    operation: &'static str,
    collection: &'static str,
    query: String,
    median_ms: f64,
    /// Fails with this error type after `fail_ms`.
    failure: Option<(&'static str, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Severity {
    Info,
    Warn,
    Error,
}

struct TraceBuilder<'a> {
    rng: &'a mut Rng,
    trace_id: [u8; 16],
    conditions: Conditions,
    spans: Vec<Emitted<Span>>,
    logs: Vec<Emitted<LogRecord>>,
    requests: Vec<RequestSample>,
    db_busy: Vec<(Origin, u64)>,
}

const MS: f64 = 1_000_000.0;

impl TraceBuilder<'_> {
    /// Log-normal latency around `median_ms`, in nanoseconds.
    fn latency(&mut self, median_ms: f64, sigma: f64) -> u64 {
        (median_ms * (sigma * self.rng.normal()).exp() * MS).max(1_000.0) as u64
    }

    fn korean(&mut self) -> bool {
        self.rng.chance(0.35)
    }

    // === journeys ===

    fn browse(&mut self, flow: Flow, fail: bool) -> Handled {
        let frontend = Origin::stable(Service::Frontend);
        let catalog = Origin::stable(Service::Catalog);
        let (route, path, callee_route, callee_path) = if flow == Flow::Browse {
            let page = self.rng.between(1, 20);
            (
                "/",
                "/".to_owned(),
                "/products",
                format!("/products?page={page}"),
            )
        } else {
            let id = self.rng.between(1000, 9999);
            (
                "/product/{id}",
                format!("/product/{id}"),
                "/products/{id}",
                format!("/products/{id}"),
            )
        };
        self.serve(None, frontend, 0, "GET", route, &path, |b, span, t| {
            let t = t + b.latency(0.6, 0.3);
            let call = b.http_call(
                frontend,
                span,
                t,
                "GET",
                catalog,
                callee_route,
                &callee_path,
                |b, span, t| b.catalog(span, t, callee_route, fail),
            );
            let end = call.end + b.latency(4.0, 0.5);
            upstream_result(b, frontend, span, end, "catalog", call)
        })
    }

    fn catalog(&mut self, span: [u8; 8], t: u64, route: &'static str, fail: bool) -> Handled {
        let catalog = Origin::stable(Service::Catalog);
        let key = if route == "/products" {
            format!("catalog:products:page:{}", self.rng.between(1, 20))
        } else {
            format!("catalog:product:{}", self.rng.between(1000, 9999))
        };
        let t = t + self.latency(0.3, 0.3);
        let hit = !fail && self.rng.chance(CACHE_HIT_RATE);
        let get = self.db_call(
            catalog,
            span,
            t,
            DbCall {
                db: Db::Redis,
                operation: "GET",
                collection: "",
                query: format!("GET {key}"),
                median_ms: 0.4,
                failure: None,
            },
        );
        let mut t = get.end;
        if !hit {
            let query = if route == "/products" {
                "SELECT id, name, price FROM products ORDER BY popularity DESC LIMIT $1 OFFSET $2"
            } else {
                "SELECT id, name, price, stock FROM products WHERE id = $1"
            };
            // 1% of queries wait on a lock.
            let select_ms = if self.rng.chance(0.01) { 350.0 } else { 6.0 };
            let select = self.db_call(
                catalog,
                span,
                t,
                DbCall {
                    db: Db::Postgres,
                    operation: "SELECT",
                    collection: "products",
                    query: query.to_owned(),
                    median_ms: select_ms,
                    failure: fail.then_some(("timeout", 2000.0)),
                },
            );
            t = select.end;
            if let Some(error) = select.error_type {
                let body = if self.korean() {
                    "상품 조회 실패: 데이터베이스 응답 시간 초과 (2000 ms)".to_owned()
                } else {
                    format!("query timed out after 2000 ms: {query}")
                };
                self.log(
                    catalog,
                    span,
                    t,
                    Severity::Error,
                    body,
                    &[("error.type", error)],
                );
                return Handled {
                    end: t + self.latency(0.5, 0.3),
                    status: 500,
                    error_type: Some(error),
                };
            }
            let set = self.db_call(
                catalog,
                span,
                t,
                DbCall {
                    db: Db::Redis,
                    operation: "SET",
                    collection: "",
                    query: format!("SET {key} ? EX 300"),
                    median_ms: 0.4,
                    failure: None,
                },
            );
            t = set.end;
        }
        let body = match (hit, self.korean()) {
            (true, false) => format!("served {key} from cache"),
            (true, true) => format!("상품 정보 조회 완료 (캐시 적중): {key}"),
            (false, false) => format!("cache miss for {key}, loaded from postgres"),
            (false, true) => format!("캐시 미스: {key}, 데이터베이스에서 조회"),
        };
        self.log(catalog, span, t, Severity::Info, body, &[]);
        Handled {
            end: t + self.latency(1.5, 0.4),
            status: 200,
            error_type: None,
        }
    }

    fn checkout(&mut self, version: &'static str, fail: bool) -> Handled {
        let frontend = Origin::stable(Service::Frontend);
        let checkout = Origin {
            service: Service::Checkout,
            version,
        };
        // Which dependency fails, if the trace fails.
        let payment_fails = fail && self.rng.chance(0.7);
        let cart_fails = fail && !payment_fails;
        let user = self.rng.between(10_000, 99_999);
        self.serve(
            None,
            frontend,
            0,
            "POST",
            "/checkout",
            "/checkout",
            |b, span, t| {
                let t = t + b.latency(0.8, 0.3);
                let call = b.http_call(
                    frontend,
                    span,
                    t,
                    "POST",
                    checkout,
                    "/checkout",
                    "/checkout",
                    |b, span, t| {
                        let handled =
                            b.checkout_handler(checkout, span, t, user, payment_fails, cart_fails);
                        // A regression on demand: the whole request of v2
                        // takes longer, its calls where they were.
                        let slowdown = b.conditions.canary.slowdown;
                        if checkout.version == CHECKOUT_V2 && slowdown != 1.0 {
                            let took = (handled.end - t) as f64 * slowdown;
                            Handled {
                                end: t + took as u64,
                                ..handled
                            }
                        } else {
                            handled
                        }
                    },
                );
                let end = call.end + b.latency(3.0, 0.4);
                upstream_result(b, frontend, span, end, "checkout", call)
            },
        )
    }

    fn checkout_handler(
        &mut self,
        checkout: Origin,
        span: [u8; 8],
        t: u64,
        user: u64,
        payment_fails: bool,
        cart_fails: bool,
    ) -> Handled {
        let release = checkout.version == CHECKOUT_V2 && self.conditions.canary.pricing_release;
        let slower = if release { V2_LATENCY_FACTOR } else { 1.0 };
        let cart = Origin::stable(Service::Cart);
        let payment = Origin::stable(Service::Payment);
        let cart_path = format!("/cart/{user}");
        let mut t = t + self.latency(1.0 * slower, 0.3);
        // A regression on demand: v2 logs an error it never logged before
        // on a fifth of its requests, which still succeed.
        if checkout.version == CHECKOUT_V2
            && self.conditions.canary.error_log
            && self.rng.chance(0.2)
        {
            let rule = self.rng.between(100, 999);
            let body = if self.korean() {
                format!("프로모션 엔진이 장바구니를 거부했습니다: 규칙 {rule} 없음")
            } else {
                format!("promotion engine rejected the basket: rule {rule} not found")
            };
            self.log(checkout, span, t, Severity::Error, body, &[]);
        }
        if release {
            // v2 re-prices the basket with the new promotion engine.
            t += self.latency(V2_PRICING_MS, 0.4);
        }
        let got = self.http_call(
            checkout,
            span,
            t,
            "GET",
            cart,
            "/cart/{userId}",
            &cart_path,
            |b, span, t| b.cart(span, t, user, "HGETALL", cart_fails),
        );
        if got.status >= 500 {
            return upstream_result(self, checkout, span, got.end, "cart", got);
        }
        let items = self.rng.between(1, 6);
        let at = got.end + self.latency(0.5 * slower, 0.3);
        let stock = self.db_call(
            checkout,
            span,
            at,
            DbCall {
                db: Db::Postgres,
                operation: "SELECT",
                collection: "inventory",
                query: "SELECT sku, available FROM inventory WHERE sku = ANY($1) FOR UPDATE"
                    .to_owned(),
                median_ms: 5.0 * slower,
                failure: None,
            },
        );
        let amount = items * self.rng.between(5, 60) * 1000 + 300;
        let at = stock.end + self.latency(0.5 * slower, 0.3);
        let paid = self.http_call(
            checkout,
            span,
            at,
            "POST",
            payment,
            "/payments/charge",
            "/payments/charge",
            |b, span, t| b.payment(span, t, amount, payment_fails),
        );
        if paid.status >= 500 {
            return upstream_result(self, checkout, span, paid.end, "payment", paid);
        }
        let order = format!("ord-{:08x}", self.rng.next_u64() as u32);
        let at = paid.end + self.latency(0.5 * slower, 0.3);
        let insert = self.db_call(
            checkout,
            span,
            at,
            DbCall {
                db: Db::Postgres,
                operation: "INSERT",
                collection: "orders",
                query:
                    "INSERT INTO orders (id, user_id, amount, status) VALUES ($1, $2, $3, 'paid')"
                        .to_owned(),
                median_ms: 4.0 * slower,
                failure: None,
            },
        );
        let at = insert.end + self.latency(0.3, 0.3);
        let cleared = self.http_call(
            checkout,
            span,
            at,
            "DELETE",
            cart,
            "/cart/{userId}",
            &cart_path,
            |b, span, t| b.cart(span, t, user, "DEL", false),
        );
        let body = if self.korean() {
            format!("주문 생성 완료: {order} (상품 {items}개, {amount}원)")
        } else {
            format!("order {order} placed: {items} items, {amount} KRW")
        };
        self.log(
            checkout,
            span,
            cleared.end,
            Severity::Info,
            body,
            &[("order.id", &order)],
        );
        Handled {
            end: cleared.end + self.latency(1.5 * slower, 0.4),
            status: 200,
            error_type: None,
        }
    }

    fn cart(
        &mut self,
        span: [u8; 8],
        t: u64,
        user: u64,
        operation: &'static str,
        fail: bool,
    ) -> Handled {
        let cart = Origin::stable(Service::Cart);
        let t = t + self.latency(0.3, 0.3);
        let call = self.db_call(
            cart,
            span,
            t,
            DbCall {
                db: Db::Redis,
                operation,
                collection: "",
                query: format!("{operation} cart:{user}"),
                median_ms: 0.5,
                failure: fail.then_some(("ConnectionResetError", 3.0)),
            },
        );
        if let Some(error) = call.error_type {
            let body = if self.korean() {
                "장바구니 조회 실패: 캐시 서버 연결 끊김".to_owned()
            } else {
                format!("failed to load cart:{user}: redis connection reset by peer")
            };
            self.log(
                cart,
                span,
                call.end,
                Severity::Error,
                body,
                &[("error.type", error)],
            );
            return Handled {
                end: call.end + self.latency(0.3, 0.3),
                status: 503,
                error_type: Some(error),
            };
        }
        if operation == "HGETALL" {
            let body = if self.korean() {
                format!("장바구니 조회 완료: 사용자 {user}")
            } else {
                format!("cart loaded for user {user}")
            };
            self.log(cart, span, call.end, Severity::Info, body, &[]);
        }
        Handled {
            end: call.end + self.latency(0.4, 0.3),
            status: 200,
            error_type: None,
        }
    }

    fn payment(&mut self, span: [u8; 8], t: u64, amount: u64, fail: bool) -> Handled {
        let payment = Origin::stable(Service::Payment);
        // The card network round trip, slowed down during an incident.
        let mut gateway = self.latency(110.0 * self.conditions.payment_slowdown, 0.45);
        if self.rng.chance(0.02) {
            // Now and then the issuer is slow to answer.
            gateway *= 6;
        }
        let t = t + self.latency(0.5, 0.3) + gateway;
        if fail {
            let body = if self.korean() {
                "결제 승인 실패: 카드 한도 초과".to_owned()
            } else {
                "payment authorization failed: card limit exceeded (issuer code 51)".to_owned()
            };
            let amount = amount.to_string();
            self.log(
                payment,
                span,
                t,
                Severity::Error,
                body,
                &[("error.type", "CardDeclined"), ("payment.amount", &amount)],
            );
            return Handled {
                end: t + self.latency(0.5, 0.3),
                status: 502,
                error_type: Some("CardDeclined"),
            };
        }
        let insert = self.db_call(
            payment,
            span,
            t,
            DbCall {
                db: Db::Postgres,
                operation: "INSERT",
                collection: "payments",
                query: "INSERT INTO payments (order_ref, amount, currency, status) VALUES ($1, $2, 'KRW', 'authorized')"
                    .to_owned(),
                median_ms: 3.5,
                failure: None,
            },
        );
        let body = if self.korean() {
            format!("결제 승인 완료: {amount}원")
        } else {
            format!("payment authorized: {amount} KRW")
        };
        self.log(payment, span, insert.end, Severity::Info, body, &[]);
        Handled {
            end: insert.end + self.latency(0.8, 0.3),
            status: 200,
            error_type: None,
        }
    }

    // === building blocks ===

    /// A server span of `origin` (the root when `parent` is `None`), whose
    /// body `handler` runs from the span's start; logs and samples it.
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &mut self,
        parent: Option<[u8; 8]>,
        origin: Origin,
        start: u64,
        method: &'static str,
        route: &'static str,
        path: &str,
        handler: impl FnOnce(&mut Self, [u8; 8], u64) -> Handled,
    ) -> Handled {
        let id = self.rng.span_id();
        let handled = handler(self, id, start);
        let service = origin.service.name();
        let mut attributes = vec![
            kv("http.request.method", method),
            kv("http.route", route),
            kv("url.path", path),
            kv("url.scheme", "http"),
            kv("server.address", service),
            kv("server.port", 8080),
            kv("network.protocol.version", "1.1"),
            kv("http.response.status_code", i64::from(handled.status)),
        ];
        if parent.is_none() {
            attributes.push(kv("user_agent.original", "Mozilla/5.0 (airis-demo)"));
            attributes.push(kv(
                "client.address",
                format!("203.0.113.{}", self.rng.between(1, 254)),
            ));
        }
        if let Some(error) = handled.error_type {
            attributes.push(kv("error.type", error));
        }
        let status = (handled.status >= 500).then(|| Status {
            code: StatusCode::Error as i32,
            message: format!("HTTP {}", handled.status),
        });
        self.push_span(
            origin,
            id,
            parent,
            format!("{method} {route}"),
            SpanKind::Server,
            start,
            handled.end,
            attributes,
            status,
        );
        let duration_ms = (handled.end - start) as f64 / MS;
        let status_text = handled.status.to_string();
        let attrs = [
            ("http.request.method", method),
            ("http.route", route),
            ("http.response.status_code", status_text.as_str()),
        ];
        if handled.status >= 500 {
            let body = if self.korean() {
                format!(
                    "요청 실패: {method} {route} → {} ({duration_ms:.0} ms)",
                    handled.status
                )
            } else {
                format!(
                    "{method} {route} failed with {} after {duration_ms:.0} ms",
                    handled.status
                )
            };
            self.log(origin, id, handled.end, Severity::Error, body, &attrs);
        } else if duration_ms > origin.service.slow_threshold_ms() {
            let threshold = origin.service.slow_threshold_ms();
            let body = if self.korean() {
                format!(
                    "응답 지연: {method} {route} {duration_ms:.0} ms 소요 (기준 {threshold:.0} ms)"
                )
            } else {
                format!(
                    "slow request: {method} {route} took {duration_ms:.0} ms (threshold {threshold:.0} ms)"
                )
            };
            self.log(origin, id, handled.end, Severity::Warn, body, &attrs);
        } else if origin.service == Service::Frontend {
            let body = format!("{method} {path} {} in {duration_ms:.0} ms", handled.status);
            self.log(origin, id, handled.end, Severity::Info, body, &attrs);
        }
        self.requests.push(RequestSample {
            origin,
            method,
            route,
            status: handled.status,
            duration_s: duration_ms / 1000.0,
        });
        handled
    }

    /// An HTTP call: a client span in `caller` under `parent`, and the
    /// callee's server span under it.
    #[allow(clippy::too_many_arguments)]
    fn http_call(
        &mut self,
        caller: Origin,
        parent: [u8; 8],
        start: u64,
        method: &'static str,
        callee: Origin,
        route: &'static str,
        path: &str,
        handler: impl FnOnce(&mut Self, [u8; 8], u64) -> Handled,
    ) -> Handled {
        let id = self.rng.span_id();
        let server_start = start + self.latency(0.4, 0.4);
        let handled = self.serve(Some(id), callee, server_start, method, route, path, handler);
        let end = handled.end + self.latency(0.3, 0.4);
        let host = callee.service.name();
        let mut attributes = vec![
            kv("http.request.method", method),
            kv("server.address", host),
            kv("server.port", 8080),
            kv("url.full", format!("http://{host}:8080{path}")),
            kv("url.template", route),
            kv("network.protocol.version", "1.1"),
            kv("http.response.status_code", i64::from(handled.status)),
        ];
        if let Some(error) = handled.error_type {
            attributes.push(kv("error.type", error));
        }
        let status = (handled.status >= 500).then(|| Status {
            code: StatusCode::Error as i32,
            message: format!("HTTP {}", handled.status),
        });
        self.push_span(
            caller,
            id,
            Some(parent),
            format!("{method} {route}"),
            SpanKind::Client,
            start,
            end,
            attributes,
            status,
        );
        Handled { end, ..handled }
    }

    /// A database or cache client span of `origin`.
    fn db_call(&mut self, origin: Origin, parent: [u8; 8], start: u64, call: DbCall) -> Handled {
        let id = self.rng.span_id();
        let duration = match call.failure {
            Some((_, ms)) => self.latency(ms, 0.05),
            None => self.latency(call.median_ms, 0.5),
        };
        let end = start + duration;
        let (system, namespace, address, port) = match call.db {
            Db::Postgres => ("postgresql", "shop", "postgres", 5432),
            Db::Redis => ("redis", "0", "redis", 6379),
        };
        let mut attributes = vec![
            kv("db.system", system),
            kv("db.system.name", system),
            kv("db.namespace", namespace),
            kv("db.operation.name", call.operation),
            kv("db.query.text", &call.query),
            kv("server.address", address),
            kv("server.port", port),
            kv("peer.service", address),
        ];
        let name = if call.collection.is_empty() {
            call.operation.to_owned()
        } else {
            attributes.push(kv("db.collection.name", call.collection));
            format!("{} {}.{}", call.operation, namespace, call.collection)
        };
        let status = call.failure.map(|(error, _)| {
            attributes.push(kv("error.type", error));
            Status {
                code: StatusCode::Error as i32,
                message: error.to_owned(),
            }
        });
        self.push_span(
            origin,
            id,
            Some(parent),
            name,
            SpanKind::Client,
            start,
            end,
            attributes,
            status,
        );
        if call.db == Db::Postgres {
            self.db_busy.push((origin, duration));
        }
        Handled {
            end,
            status: 0,
            error_type: call.failure.map(|(error, _)| error),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_span(
        &mut self,
        origin: Origin,
        id: [u8; 8],
        parent: Option<[u8; 8]>,
        name: String,
        kind: SpanKind,
        start: u64,
        end: u64,
        attributes: Vec<KeyValue>,
        status: Option<Status>,
    ) {
        self.spans.push(Emitted {
            origin,
            item: Span {
                trace_id: self.trace_id.to_vec(),
                span_id: id.to_vec(),
                parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
                name,
                kind: kind as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes,
                status,
                flags: 0x100 | 0x01,
                ..Default::default()
            },
        });
    }

    fn log(
        &mut self,
        origin: Origin,
        span: [u8; 8],
        at: u64,
        severity: Severity,
        body: String,
        attributes: &[(&str, &str)],
    ) {
        let (number, text) = match severity {
            Severity::Info => (SeverityNumber::Info, "INFO"),
            Severity::Warn => (SeverityNumber::Warn, "WARN"),
            Severity::Error => (SeverityNumber::Error, "ERROR"),
        };
        let mut attributes: Vec<KeyValue> = attributes.iter().map(|(k, v)| kv(k, *v)).collect();
        attributes.push(kv("code.namespace", origin.service.name()));
        self.logs.push(Emitted {
            origin,
            item: LogRecord {
                time_unix_nano: at,
                observed_time_unix_nano: at,
                severity_number: number as i32,
                severity_text: text.to_owned(),
                body: Some(any_value(body)),
                attributes,
                flags: 0x01,
                trace_id: self.trace_id.to_vec(),
                span_id: span.to_vec(),
                ..Default::default()
            },
        });
    }
}

/// How a handler answers after a downstream call: its own status, or a
/// 502 with an ERROR log when the call failed.
fn upstream_result(
    b: &mut TraceBuilder<'_>,
    origin: Origin,
    span: [u8; 8],
    end: u64,
    upstream: &str,
    call: Handled,
) -> Handled {
    if call.status < 500 {
        return Handled {
            end,
            status: 200,
            error_type: None,
        };
    }
    let body = if b.korean() {
        format!("{upstream} 서비스 호출 실패 (HTTP {})", call.status)
    } else {
        format!("upstream {upstream} returned HTTP {}", call.status)
    };
    let status = call.status.to_string();
    b.log(
        origin,
        span,
        end,
        Severity::Error,
        body,
        &[("upstream", upstream), ("upstream.status_code", &status)],
    );
    Handled {
        end,
        status: 502,
        error_type: call.error_type,
    }
}
