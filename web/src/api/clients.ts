import { createClient } from '@connectrpc/connect';
import { AlertService } from '../gen/airis/aiops/v1/alert_pb';
import { AnomalyService } from '../gen/airis/aiops/v1/anomaly_pb';
import { QueryService } from '../gen/airis/analytics/v1/query_pb';
import { AuthService } from '../gen/airis/gateway/v1/auth_pb';
import { getAccessToken, markExpired, refresh } from './session';
import { installAuthHooks, transport } from './transport';

installAuthHooks({ token: getAccessToken, refresh, expired: markExpired });

export const analytics = createClient(QueryService, transport);
/** Anomaly scores and forecasts of series the UI sends (ScoreSeries, Forecast): bearer auth, like the query service. */
export const aiops = createClient(AnomalyService, transport);
/** Alert rules, alerts, silences and notifications (AlertService): bearer auth. */
export const alertClient = createClient(AlertService, transport);
/** Token management (MintIngestToken, ListTokens, RevokeToken): bearer auth. */
export const tokenClient = createClient(AuthService, transport);
