//! The tonic service: tenant, request fields, then the model on a blocking
//! thread.

use airis_analytics::query::Store;
use airis_proto::airis::aiops::v1::{
    AnomalyKind, ForecastPoint, ForecastRequest, ForecastResponse, ListAnomaliesRequest,
    ListAnomaliesResponse, Point, ScoreSeriesRequest, ScoreSeriesResponse, ScoredPoint,
    Seasonality, WatchAnomaliesRequest, WatchAnomaliesResponse,
    anomaly_service_server::{AnomalyService, AnomalyServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::Shutdown;
use airis_runtime::auth::{Access, Authenticator};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use crate::Error;
use crate::anomalies::{self, Filter};
use crate::detect::{ANOMALY_THRESHOLD, Detector, DetectorConfig, Kind};
use crate::feed::Stored;
use crate::forecast::{self, ForecastConfig, ForecastError};
use crate::stored;

/// Points one ScoreSeries may carry: its answer (about 65 bytes a point)
/// stays under the 4 MiB that gRPC clients accept by default.
pub const SCORE_MAX_POINTS: usize = 50_000;
/// Points one Forecast may carry: the forecaster uses the newest 100,000
/// steps of a history at most.
pub const FORECAST_MAX_POINTS: usize = 100_000;
/// Largest request read (gRPC's usual default, stated): 100,000 points take
/// about 2 MiB; a larger message is refused before it is decoded.
pub const MAX_REQUEST_BYTES: usize = 4 << 20;
/// Largest magnitude of a value: sums and squares of differences of such
/// values stay finite in the models.
pub const MAX_ABS_VALUE: f64 = 1e150;

const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Longest a WatchAnomalies stream stays silent: an empty message then
/// keeps proxies from closing it as idle and tells the client it is alive.
const WATCH_KEEPALIVE: Duration = Duration::from_secs(30);

/// The aiops service.
#[derive(Clone)]
pub struct Aiops {
    auth: Authenticator,
    /// One model run per core at a time; the others wait their turn
    /// instead of multiplying memory and CPU.
    runs: Arc<Semaphore>,
    /// Where continuous detection stored its anomalies.
    store: Store,
    /// Anomalies as they are stored, for WatchAnomalies.
    stored: broadcast::Sender<Stored>,
    /// Ends WatchAnomalies streams, which would otherwise hold a draining
    /// server open.
    shutdown: Shutdown,
}

impl Aiops {
    pub fn new(
        auth: Authenticator,
        store: Store,
        stored: broadcast::Sender<Stored>,
        shutdown: Shutdown,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            auth,
            runs: Arc::new(Semaphore::new(cores)),
            store,
            stored,
            shutdown,
        }
    }

    pub fn into_server(self) -> AnomalyServiceServer<Self> {
        AnomalyServiceServer::new(self).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    /// Runs one RPC: resolves the tenant, then `work` on a blocking thread,
    /// since the models are CPU-bound.
    async fn run<Req, Resp>(
        &self,
        rpc: &'static str,
        request: Request<Req>,
        work: impl FnOnce(Req) -> Result<Resp, Error> + Send + 'static,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let span = tracing::info_span!("aiops", rpc, tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let request = request.into_inner();
            let _turn = self
                .runs
                .acquire()
                .await
                .map_err(|e| Error::Internal(format!("{rpc}: {e}")))?;
            let answer = tokio::task::spawn_blocking(move || work(request))
                .await
                .map_err(|e| Error::Internal(format!("{rpc}: {e}")))??;
            Ok(Response::new(answer))
        }
        .instrument(span)
        .await
    }
}

#[tonic::async_trait]
impl AnomalyService for Aiops {
    type WatchAnomaliesStream = ReceiverStream<Result<WatchAnomaliesResponse, Status>>;

    async fn list_anomalies(
        &self,
        request: Request<ListAnomaliesRequest>,
    ) -> Result<Response<ListAnomaliesResponse>, Status> {
        let span = tracing::info_span!(
            "aiops",
            rpc = "ListAnomalies",
            tenant = tracing::field::Empty
        );
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            Ok(Response::new(
                anomalies::list(&self.store, &tenant, request.into_inner()).await?,
            ))
        }
        .instrument(span)
        .await
        .map_err(|error: Error| error.into())
    }

    async fn watch_anomalies(
        &self,
        request: Request<WatchAnomaliesRequest>,
    ) -> Result<Response<Self::WatchAnomaliesStream>, Status> {
        let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
        let filter = Filter::from_proto("filter", request.get_ref().filter.as_ref())?;
        // Subscribed before answering: nothing stored after the call
        // returns is missed, and nothing first found before it is sent.
        let since = i64::try_from(airis_runtime::clock::now_unix_nano()).unwrap_or(i64::MAX);
        let mut stored = self.stored.subscribe();
        let (tx, rx) = mpsc::channel(16);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut keepalive = tokio::time::interval(WATCH_KEEPALIVE);
            keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            keepalive.tick().await;
            loop {
                let message = tokio::select! {
                    received = stored.recv() => match received {
                        Ok(batch) if batch.tenant == tenant.as_str() => {
                            let anomalies: Vec<_> = batch
                                .anomalies
                                .iter()
                                .filter(|row| row.detected_at > since && filter.matches(row))
                                .map(anomalies::row_to_proto)
                                .collect();
                            if anomalies.is_empty() {
                                continue;
                            }
                            Ok(WatchAnomaliesResponse { anomalies })
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "a WatchAnomalies client fell behind; it is told to list what it missed");
                            Err(Status::data_loss(format!(
                                "this stream fell behind and skipped {missed} batches of anomalies; \
                                 call ListAnomalies for them and watch again"
                            )))
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    _ = keepalive.tick() => Ok(WatchAnomaliesResponse::default()),
                    () = tx.closed() => break,
                    // The stream ends cleanly; clients watch again elsewhere.
                    () = shutdown.signalled() => break,
                };
                let failed = message.is_err();
                if tx.send(message).await.is_err() || failed {
                    break;
                }
                keepalive.reset();
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn score_series(
        &self,
        request: Request<ScoreSeriesRequest>,
    ) -> Result<Response<ScoreSeriesResponse>, Status> {
        self.run("ScoreSeries", request, score_series).await
    }

    async fn forecast(
        &self,
        mut request: Request<ForecastRequest>,
    ) -> Result<Response<ForecastResponse>, Status> {
        let sources = usize::from(!request.get_ref().points.is_empty())
            + usize::from(request.get_ref().red_series.is_some())
            + usize::from(request.get_ref().metric_series.is_some());
        if sources > 1 {
            return Err(Error::InvalidArgument(
                "points: give one of points, red_series and metric_series".to_owned(),
            )
            .into());
        }
        let (red, metric) = (
            request.get_ref().red_series.clone(),
            request.get_ref().metric_series.clone(),
        );
        if red.is_some() || metric.is_some() {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            let now = airis_runtime::clock::now_unix_nano() / NANOS_PER_SEC;
            request.get_mut().points = match (red, metric) {
                (Some(selector), _) => {
                    let now = u32::try_from(now).unwrap_or(u32::MAX);
                    stored::red_series_points(&self.store, &tenant, &selector, now).await?
                }
                (None, Some(selector)) => {
                    stored::metric_series_points(&self.store, &tenant, &selector, now).await?
                }
                (None, None) => Vec::new(),
            };
        }
        self.run("Forecast", request, run_forecast).await
    }
}

fn score_series(request: ScoreSeriesRequest) -> Result<ScoreSeriesResponse, Error> {
    let points = series(&request.points, SCORE_MAX_POINTS)?;
    let mut detector = Detector::new(&DetectorConfig::default());
    let scored = points
        .iter()
        .zip(&request.points)
        .map(|(&(secs, value), sent)| {
            let p = detector.update(secs, value);
            ScoredPoint {
                time_unix_nano: sent.time_unix_nano,
                value,
                score: p.score,
                expected: p.expected,
                lower: p.lower,
                upper: p.upper,
                kind: anomaly_kind(p.kind) as i32,
            }
        })
        .collect();
    Ok(ScoreSeriesResponse {
        points: scored,
        anomaly_threshold: ANOMALY_THRESHOLD,
    })
}

fn anomaly_kind(kind: Kind) -> AnomalyKind {
    match kind {
        Kind::None => AnomalyKind::Unspecified,
        Kind::Spike => AnomalyKind::Spike,
        Kind::Dip => AnomalyKind::Dip,
        Kind::LevelShift => AnomalyKind::LevelShift,
        Kind::TrendChange => AnomalyKind::TrendChange,
        Kind::VarianceChange => AnomalyKind::VarianceChange,
        Kind::MissingData => AnomalyKind::MissingData,
    }
}

fn run_forecast(request: ForecastRequest) -> Result<ForecastResponse, Error> {
    let horizon = request.horizon as usize;
    let points = series(&request.points, FORECAST_MAX_POINTS)?;
    let answer =
        forecast::forecast(&points, horizon, &ForecastConfig::default()).map_err(forecast_error)?;
    // Predictions are `step` apart from the last point, in its nanoseconds
    // (the model works in whole seconds).
    let last_sent = request.points.last().map_or(0, |p| p.time_unix_nano);
    let last_secs = points.last().map_or(0, |&(t, _)| t);
    let time_of = |ts_unix: i64| -> Result<u64, Error> {
        u64::try_from(ts_unix - last_secs)
            .ok()
            .and_then(|ahead| ahead.checked_mul(NANOS_PER_SEC))
            .and_then(|ahead| last_sent.checked_add(ahead))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "horizon: {horizon} steps of {} s would end after the last time a \
                     time_unix_nano can hold",
                    answer.step_secs
                ))
            })
    };
    let predicted = answer
        .points
        .iter()
        .map(|p| {
            Ok(ForecastPoint {
                time_unix_nano: time_of(p.ts_unix)?,
                value: p.value,
                lower_80: p.lower80,
                upper_80: p.upper80,
                lower_95: p.lower95,
                upper_95: p.upper95,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ForecastResponse {
        step_seconds: answer.step_secs,
        seasonality: answer
            .seasonality
            .iter()
            .map(|p| Seasonality {
                period_seconds: p.secs,
                strength: p.strength,
            })
            .collect(),
        points: predicted,
        method: answer.method.to_owned(),
    })
}

/// The request's points as (unix seconds, value), after checking what
/// every model needs: at most `max` of them, times strictly increasing,
/// finite values within ±[`MAX_ABS_VALUE`]. Errors name the point.
fn series(points: &[Point], max: usize) -> Result<Vec<(i64, f64)>, Error> {
    if points.len() > max {
        return Err(Error::LimitExceeded(format!(
            "points: {} points, more than the {max} this call takes",
            points.len()
        )));
    }
    if points.is_empty() {
        return Err(Error::InvalidArgument("points: empty".to_owned()));
    }
    let mut previous = None;
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !p.value.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "points[{i}].value: {} is not a finite number",
                    p.value
                )));
            }
            if p.value.abs() > MAX_ABS_VALUE {
                return Err(Error::InvalidArgument(format!(
                    "points[{i}].value: {:e} is beyond ±{MAX_ABS_VALUE:e}",
                    p.value
                )));
            }
            if previous.is_some_and(|t| p.time_unix_nano <= t) {
                return Err(Error::InvalidArgument(format!(
                    "points[{i}].time_unix_nano: not after the previous point's"
                )));
            }
            previous = Some(p.time_unix_nano);
            Ok(((p.time_unix_nano / NANOS_PER_SEC) as i64, p.value))
        })
        .collect()
}

/// A forecast's refusal in the request's terms.
fn forecast_error(error: ForecastError) -> Error {
    use ForecastError as E;
    match error {
        E::EmptySeries => Error::InvalidArgument("points: empty".to_owned()),
        E::TooFewPoints { got, min } => Error::InvalidArgument(format!(
            "points: {got} usable, at least {min} needed (points in the same second count once)"
        )),
        E::TooManyPoints { got, max } => Error::LimitExceeded(format!(
            "points: {got} points, more than the {max} a forecast takes"
        )),
        E::ZeroHorizon => Error::InvalidArgument("horizon: must be at least 1".to_owned()),
        E::HorizonTooLarge { got, max } => Error::InvalidArgument(format!(
            "horizon: {got} steps, more than the {max} a forecast gives"
        )),
        E::NonFiniteValue { index } => {
            Error::InvalidArgument(format!("points[{index}].value: not a finite number"))
        }
        E::NonIncreasingTimestamp { index } => Error::InvalidArgument(format!(
            "points[{index}].time_unix_nano: in the same whole second as the previous \
             point's (forecasts work in whole seconds)"
        )),
        // u64 nanoseconds end in 2554, long before the model's limit.
        E::TimestampOutOfRange { index } => Error::InvalidArgument(format!(
            "points[{index}].time_unix_nano: out of the forecaster's range"
        )),
        E::InvalidConfig(what) => Error::Internal(format!("forecast configuration: {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: u64, value: f64) -> Point {
        Point {
            time_unix_nano: t,
            value,
        }
    }

    fn message(result: Result<impl std::fmt::Debug, Error>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn bad_points_are_named() {
        let series = |points: &[Point]| series(points, 10);
        assert_eq!(message(series(&[])), "points: empty");
        let nan = [point(1, 1.0), point(2, f64::NAN)];
        assert!(message(series(&nan)).starts_with("points[1].value"));
        let inf = [point(1, f64::INFINITY)];
        assert!(message(series(&inf)).starts_with("points[0].value"));
        let huge = [point(1, 1.0), point(2, -2e150)];
        assert!(message(series(&huge)).starts_with("points[1].value"));
        assert!(series(&[point(1, 1e150), point(2, -1e150)]).is_ok());
        let unsorted = [point(5, 1.0), point(9, 1.0), point(9, 2.0)];
        assert!(message(series(&unsorted)).starts_with("points[2].time_unix_nano"));
        let too_many = vec![point(0, 0.0); 11];
        assert!(matches!(series(&too_many), Err(Error::LimitExceeded(_))));
    }

    #[test]
    fn a_spike_scores_above_the_threshold_and_is_named() {
        // Ten days of a per-minute series with some noise, then one spike.
        let mut noise = 0x2545_f491_4f6c_dd1d_u64;
        let mut points: Vec<Point> = (0..14_400u64)
            .map(|i| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let jitter = (noise >> 11) as f64 / (1u64 << 53) as f64;
                point(i * 60 * NANOS_PER_SEC, 100.0 + 5.0 * jitter)
            })
            .collect();
        points[14_000].value = 400.0;
        let answer = score_series(ScoreSeriesRequest { points }).unwrap();
        assert_eq!(answer.points.len(), 14_400);
        let spike = &answer.points[14_000];
        assert!(spike.score >= answer.anomaly_threshold, "{spike:?}");
        assert_eq!(spike.kind, AnomalyKind::Spike as i32);
        assert!(spike.upper < 400.0 && spike.lower <= spike.expected);
        let calm = answer.points[13_000..13_990]
            .iter()
            .filter(|p| p.score >= answer.anomaly_threshold)
            .count();
        assert_eq!(calm, 0, "alarms on plain noise");
    }

    #[test]
    fn forecast_refusals_name_the_field() {
        let minutes = |n: u64| -> Vec<Point> {
            (0..n)
                .map(|i| point(i * 60 * NANOS_PER_SEC, i as f64))
                .collect()
        };
        let ask = |points: Vec<Point>, horizon: u32| {
            run_forecast(ForecastRequest {
                points,
                horizon,
                ..Default::default()
            })
        };
        assert!(message(ask(minutes(50), 0)).starts_with("horizon"));
        assert!(message(ask(minutes(50), 10_001)).starts_with("horizon"));
        assert!(message(ask(minutes(5), 10)).starts_with("points: 5 usable"));
        // Two points within one second: distinct to ScoreSeries, one to Forecast.
        let mut same_second = minutes(50);
        same_second[10].time_unix_nano = same_second[9].time_unix_nano + 1;
        assert!(message(ask(same_second, 10)).starts_with("points[10].time_unix_nano"));
        // Steps counted from the last point's own nanoseconds.
        let mut history = minutes(200);
        for p in &mut history {
            p.time_unix_nano += 250_000_000;
        }
        let answer = ask(history, 30).unwrap();
        assert_eq!(answer.step_seconds, 60);
        assert_eq!(answer.points.len(), 30);
        assert_eq!(
            answer.points[0].time_unix_nano,
            200 * 60 * NANOS_PER_SEC + 250_000_000
        );
        // A horizon past the end of u64 nanoseconds (year 2554) is refused.
        let late = (0..20u64)
            .map(|i| point(u64::MAX - (20 - i) * 86_400 * NANOS_PER_SEC, 1.0))
            .collect();
        assert!(message(ask(late, 10_000)).starts_with("horizon"));
    }
}
