import { createClient } from '@connectrpc/connect';
import { AnomalyService } from '../gen/airis/aiops/v1/anomaly_pb';
import { QueryService } from '../gen/airis/analytics/v1/query_pb';
import { AuthService } from '../gen/airis/gateway/v1/auth_pb';
import { getAccessToken, markExpired, refresh } from './session';
import { installAuthHooks, transport } from './transport';

installAuthHooks({ token: getAccessToken, refresh, expired: markExpired });
/** The platform's transport with the session's bearer token: every client's. */
export { transport };

export const analytics = createClient(QueryService, transport);
/** Anomaly scores and forecasts of series the UI sends (ScoreSeries, Forecast): bearer auth, like the query service. */
export const aiops = createClient(AnomalyService, transport);
/** Token management (MintIngestToken, ListTokens, RevokeToken): bearer auth. */
export const tokenClient = createClient(AuthService, transport);
