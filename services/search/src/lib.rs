//! Natural-language search: questions in Korean or English turned into
//! structured queries (`airis.search.v1.Interpretation`) over a tenant's
//! vocabulary, deterministically (docs/search.md).
//!
//! | module | job |
//! |---|---|
//! | [`lexer`] | the words of a question, with their UTF-16 places |
//! | [`words`] | the words the grammar knows, in both languages |
//! | [`vocabulary`] | the tenant's names, and how a word finds one |
//! | [`clock`] | days and clock times in the asker's time zone |
//! | [`parse`] | the grammar |
//! | [`render`] | an interpretation in words |
//! | [`canonical`] | an interpretation on one line, for tests and docs |
//! | [`suggest`] | completions of the word being typed |
//! | [`catalog`] | the tenants' vocabularies, read from ClickHouse and refreshed |
//! | [`ask`] | an interpretation as the query service's request, sent as the caller |
//! | [`service`] | the tonic service (`airis.search.v1.SearchService`) |

use airis_proto::airis::search::v1::{InterpretRequest, InterpretResponse};
use airis_runtime::Shutdown;
use airis_runtime::auth::{AuthConfig, AuthConfigError, Authenticator};
use airis_runtime::clickhouse::ClickHouseConfig;
use airis_runtime::connect::{self, ConnectError};
use airis_runtime::grpc::{self, ServerConfig, Services};
use airis_runtime::listen::Listener;

pub mod ask;
pub mod canonical;
pub mod catalog;
pub mod clock;
pub mod lexer;
pub mod parse;
pub mod render;
pub mod service;
pub mod suggest;
pub mod vocabulary;
pub mod words;

pub use clock::Clock;
pub use parse::{Parsed, parse};
pub use vocabulary::{Names, Vocabulary};

/// Longest question, in bytes.
pub const MAX_QUESTION_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A malformed field; the message names it.
    #[error("{0}")]
    InvalidArgument(String),
    /// The vocabulary could not be read; retrying is safe.
    #[error("{0}")]
    Unavailable(String),
    /// Something the service needs is not configured; the message names it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A bug (a task that panicked); the message is for the log.
    #[error("{0}")]
    Internal(String),
}

/// `[search]` in airis.toml.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// gRPC listen address.
    pub listen: String,
    /// The vocabulary: what is read, how often, and the tenants' synonyms.
    pub vocabulary: catalog::VocabularyConfig,
    /// The query service Ask sends its queries to, as the caller:
    /// `http://host:port`, or `unix:<path>` (locally, the sidecar's
    /// outbound socket). Empty: Ask is FAILED_PRECONDITION.
    pub query_endpoint: String,
    /// The anomaly service Ask sends questions about anomalies to
    /// (ListAnomalies), as the caller; as `query_endpoint`. Empty: those
    /// questions are FAILED_PRECONDITION.
    pub aiops_endpoint: String,
    /// The delta service Ask has judge comparisons of requests ("than
    /// yesterday": Compare), as the caller; as `query_endpoint`. Empty:
    /// comparisons are answered without a judgement (`not_judged` says
    /// why).
    pub delta_endpoint: String,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4370".to_owned(),
            vocabulary: catalog::VocabularyConfig::default(),
            // The analytics service's own default address.
            query_endpoint: "http://127.0.0.1:4320".to_owned(),
            // The aiops service's own default address.
            aiops_endpoint: "http://127.0.0.1:4350".to_owned(),
            // The delta service's own default address.
            delta_endpoint: "http://127.0.0.1:4360".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Serve(#[from] grpc::ServeError),
}

/// Serves the search service on `listener` until `shutdown`, refreshing
/// the asked tenants' vocabularies in the background.
pub async fn run(
    listener: impl Into<Listener>,
    config: &SearchConfig,
    clickhouse: &ClickHouseConfig,
    auth: &AuthConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let auth = Authenticator::new(auth)?;
    let endpoint = |field, address: &str| match address {
        "" => Ok(None),
        address => connect::channel(field, address).map(Some),
    };
    let asker = ask::Asker::new(
        endpoint("search.query_endpoint", &config.query_endpoint)?,
        endpoint("search.aiops_endpoint", &config.aiops_endpoint)?,
        endpoint("search.delta_endpoint", &config.delta_endpoint)?,
    );
    let catalog = catalog::Catalog::new(clickhouse.client(), config.vocabulary.clone());
    let refresh = tokio::spawn(catalog.clone().refresh(shutdown.clone()));
    let search = service::Search::new(auth, catalog, asker);
    let mut services = Services::new();
    services.add(search.into_server());
    let served = grpc::serve(listener, services, server, shutdown).await;
    refresh.abort();
    served?;
    Ok(())
}

/// The checks of a request that need no vocabulary (the question, the
/// locale, the time zone), so that a bad request is refused before
/// anything is read. Returns whether the locale asks for Korean (`None`:
/// the question's language).
pub fn check(request: &InterpretRequest) -> Result<Option<bool>, Error> {
    if request.question.trim().is_empty() {
        return Err(Error::InvalidArgument("question: required".into()));
    }
    if request.question.len() > MAX_QUESTION_BYTES {
        return Err(Error::InvalidArgument(format!(
            "question: {} bytes, at most {MAX_QUESTION_BYTES}",
            request.question.len()
        )));
    }
    let korean = locale(&request.locale)?;
    Clock::new(&request.time_zone, request.now_unix_nano)?;
    Ok(korean)
}

/// Whether `locale` asks for Korean (`None`: empty, the question's
/// language); INVALID_ARGUMENT naming it for anything but Korean or
/// English.
pub fn locale(locale: &str) -> Result<Option<bool>, Error> {
    match locale.split(['-', '_']).next().unwrap_or("") {
        "" => Ok(None),
        "ko" => Ok(Some(true)),
        "en" => Ok(Some(false)),
        _ => Err(Error::InvalidArgument(format!(
            "locale: {locale:?}, expected \"ko\" or \"en\""
        ))),
    }
}

/// Checks `request` and reads its question; `server_now` stands for an
/// unset `now_unix_nano`.
pub fn interpret(
    request: &InterpretRequest,
    vocabulary: &Names,
    server_now: u64,
) -> Result<(InterpretResponse, Clock), Error> {
    let korean_locale = check(request)?;
    let question = request.question.trim();
    let now = if request.now_unix_nano == 0 {
        server_now
    } else {
        request.now_unix_nano
    };
    let clock = Clock::new(&request.time_zone, now)?;
    let parsed = parse(question, vocabulary, &clock);
    let korean = korean_locale.unwrap_or(parsed.korean);
    let rendering = render::render(&parsed.interpretation, &clock, korean);
    let response = InterpretResponse {
        interpretation: Some(parsed.interpretation),
        rendering,
        locale: if korean { "ko" } else { "en" }.to_owned(),
        sources: parsed.sources,
        unplaced: parsed.unplaced,
        confidence: parsed.confidence,
    };
    Ok((response, clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_261_400_000_000_000;

    fn request(question: &str) -> InterpretRequest {
        InterpretRequest {
            question: question.to_owned(),
            locale: String::new(),
            time_zone: "Asia/Seoul".into(),
            now_unix_nano: NOW,
        }
    }

    #[test]
    fn bad_requests_are_named() {
        let v = Vocabulary::default().index();
        let err = |r: InterpretRequest| interpret(&r, &v, NOW).unwrap_err();
        assert_eq!(
            err(request("  ")),
            Error::InvalidArgument("question: required".into())
        );
        assert!(
            matches!(err(request(&"가".repeat(400))), Error::InvalidArgument(m) if m.starts_with("question: 1200 bytes"))
        );
        let mut r = request("errors");
        r.locale = "fr".into();
        assert!(matches!(err(r), Error::InvalidArgument(m) if m.starts_with("locale:")));
        let mut r = request("errors");
        r.time_zone = "Seoul".into();
        assert!(matches!(err(r), Error::InvalidArgument(m) if m.starts_with("time_zone:")));
    }

    #[test]
    fn anomalies_are_rendered_in_the_askers_language() {
        let v = Vocabulary {
            services: vec!["payment".into()],
            ..Default::default()
        }
        .index();
        let rendered = |q: &str| interpret(&request(q), &v, NOW).unwrap().0.rendering;
        let ko = rendered("결제 서비스 에러 이상 징후");
        assert!(ko.contains("이상 징후") && ko.contains("오류율"), "{ko}");
        assert!(ko.contains("payment"), "{ko}");
        let en = rendered("error anomalies in payment");
        assert!(
            en.contains("anomalies") && en.contains("error rate"),
            "{en}"
        );
        assert!(!en.contains("failed"), "{en}");
    }
}
