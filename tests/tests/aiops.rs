//! The aiops service over gRPC, as `airis serve aiops` runs it: who may
//! call, what a NAB series scores, forecasts, and refusals that name the
//! field without taking the process down.

use std::time::Duration;

use airis_proto::airis::aiops::v1::{
    AnomalyKind, ForecastRequest, Point, ScoreSeriesRequest,
    anomaly_service_client::AnomalyServiceClient,
};
use airis_proto::tonic::{Code, Request, transport::Channel};
use airis_tests::{AiopsServer, Settings, TOKEN, otlp::authed};

const SEC: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SEC;

/// A client with gRPC's default message limits, as grpcurl and most
/// callers have them.
async fn client(server: &AiopsServer) -> anyhow::Result<AnomalyServiceClient<Channel>> {
    Ok(AnomalyServiceClient::connect(server.endpoint.clone()).await?)
}

/// NAB's machine-readable copy of an EC2 CPU series with two labelled
/// incidents (testdata of the aiops crate).
fn nab_series() -> anyhow::Result<Vec<Point>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../services/aiops/testdata/nab/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"
    );
    let text = std::fs::read_to_string(path)?;
    let rows = airis_aiops::nab::parse_csv(&text, path)?;
    Ok(rows
        .iter()
        .map(|r| Point {
            time_unix_nano: r.ts as u64 * SEC,
            value: r.value,
        })
        .collect())
}

fn minutes(n: u64, value: impl Fn(u64) -> f64) -> Vec<Point> {
    (0..n)
        .map(|i| Point {
            time_unix_nano: 1_700_000_000 * SEC + i * MINUTE,
            value: value(i),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_and_forecasts_for_callers_with_a_tenant() -> anyhow::Result<()> {
    let server = AiopsServer::start(&Settings::new("aiops")).await?;
    let mut client = client(&server).await?;

    // No tenant, no answer.
    let status = client
        .score_series(Request::new(ScoreSeriesRequest {
            points: minutes(10, |_| 1.0),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // A real series: one answer per point, in order, scores in [0, 1],
    // bands around the expectation, and anomalies reported at the
    // threshold the answer states.
    let points = nab_series()?;
    let answer = client
        .score_series(authed(
            ScoreSeriesRequest {
                points: points.clone(),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(answer.points.len(), points.len());
    assert!(answer.anomaly_threshold > 0.0 && answer.anomaly_threshold < 1.0);
    for (scored, sent) in answer.points.iter().zip(&points) {
        assert_eq!(scored.time_unix_nano, sent.time_unix_nano);
        assert_eq!(scored.value, sent.value);
        assert!((0.0..=1.0).contains(&scored.score), "{scored:?}");
        assert!(scored.lower <= scored.expected && scored.expected <= scored.upper);
    }
    let flagged = answer
        .points
        .iter()
        .filter(|p| p.score >= answer.anomaly_threshold)
        .count();
    assert!(
        (1..points.len() / 100).contains(&flagged),
        "{flagged} of {} points flagged",
        points.len()
    );
    // The same series again: the same answer (a fresh detector per call).
    let again = client
        .score_series(authed(ScoreSeriesRequest { points }, TOKEN))
        .await?
        .into_inner();
    assert_eq!(again, answer);

    // A gap is missing data.
    let mut gapped = minutes(3_000, |i| 50.0 + (i % 7) as f64);
    for p in &mut gapped[2_000..] {
        p.time_unix_nano += 120 * MINUTE;
    }
    let answer = client
        .score_series(authed(ScoreSeriesRequest { points: gapped }, TOKEN))
        .await?
        .into_inner();
    assert_eq!(answer.points[2_000].kind, AnomalyKind::MissingData as i32);

    // Forecast: a daily pattern over three weeks, one day ahead.
    let day = |i: u64| 100.0 + 30.0 * ((i % 1_440) as f64 / 1_440.0 * std::f64::consts::TAU).sin();
    let history = minutes(21 * 1_440, day);
    let last = history.last().map(|p| p.time_unix_nano).unwrap_or_default();
    let forecast = client
        .forecast(authed(
            ForecastRequest {
                points: history,
                horizon: 1_440,
                ..Default::default()
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(forecast.step_seconds, 60);
    assert_eq!(forecast.points.len(), 1_440);
    assert_eq!(forecast.points[0].time_unix_nano, last + MINUTE);
    assert!(
        forecast
            .seasonality
            .iter()
            .any(|s| s.period_seconds == 86_400)
    );
    for (i, p) in forecast.points.iter().enumerate() {
        assert!(p.lower_95 <= p.lower_80 && p.lower_80 <= p.value, "{p:?}");
        assert!(p.value <= p.upper_80 && p.upper_80 <= p.upper_95, "{p:?}");
        let truth = day(21 * 1_440 + i as u64);
        assert!(
            (p.value - truth).abs() < 5.0,
            "step {i}: {} vs {truth}",
            p.value
        );
    }

    bad_requests(&mut client).await?;
    server.stop().await
}

async fn bad_requests(client: &mut AnomalyServiceClient<Channel>) -> anyhow::Result<()> {
    let score = async |client: &mut AnomalyServiceClient<Channel>, points: Vec<Point>| {
        client
            .score_series(authed(ScoreSeriesRequest { points }, TOKEN))
            .await
            .unwrap_err()
    };
    let refused = score(client, vec![]).await;
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(refused.message(), "points: empty");
    let mut unsorted = minutes(20, |_| 1.0);
    unsorted.swap(4, 5);
    let refused = score(client, unsorted).await;
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("points[5].time_unix_nano"),
        "{refused:?}"
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let refused = score(client, minutes(20, |i| if i == 7 { bad } else { 1.0 })).await;
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(
            refused.message().starts_with("points[7].value"),
            "{refused:?}"
        );
    }

    // Forecast limits name the field.
    let forecast = async |client: &mut AnomalyServiceClient<Channel>, points, horizon| {
        client
            .forecast(authed(
                ForecastRequest {
                    points,
                    horizon,
                    ..Default::default()
                },
                TOKEN,
            ))
            .await
            .unwrap_err()
    };
    for horizon in [0, 10_001] {
        let refused = forecast(client, minutes(100, |_| 1.0), horizon).await;
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().starts_with("horizon"), "{refused:?}");
    }
    let refused = forecast(client, minutes(5, |_| 1.0), 10).await;
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().starts_with("points"), "{refused:?}");

    // The most points a ScoreSeries takes: the answer fits a default client.
    let answer = client
        .score_series(authed(
            ScoreSeriesRequest {
                points: minutes(50_000, |i| (i % 60) as f64),
            },
            TOKEN,
        ))
        .await?;
    assert_eq!(answer.into_inner().points.len(), 50_000);
    // Over the documented limits: 50,001 points fit in the message size and
    // are refused by count; ten million are refused by size, unread.
    let refused = score(client, minutes(50_001, |_| 1.0)).await;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("50000"), "{refused:?}");
    let refused = score(client, minutes(10_000_000, |_| 1.0)).await;
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(refused.message().contains("too large"), "{refused:?}");
    // Values beyond ±1e150 would overflow the models' sums.
    let refused = score(client, minutes(20, |i| if i == 3 { -1e200 } else { 1.0 })).await;
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("points[3].value"),
        "{refused:?}"
    );

    // Still serving after all of that.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = client
        .score_series(authed(
            ScoreSeriesRequest {
                points: minutes(200, |i| i as f64),
            },
            TOKEN,
        ))
        .await?;
    assert_eq!(answer.into_inner().points.len(), 200);
    Ok(())
}
