import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { QueryService } from '../gen/airis/analytics/v1/query_pb';
import { authInterceptor, installAuthHooks } from './transport';

function setup(outcome: 'ok' | 'expired' | 'failed') {
  let token = 'old';
  let refreshes = 0;
  let expired = 0;
  const seen: string[] = [];
  installAuthHooks({
    token: () => token,
    refresh: async () => {
      refreshes++;
      await new Promise((r) => setTimeout(r, 10));
      if (outcome === 'ok') token = 'new';
      return outcome;
    },
    expired: () => {
      expired++;
    },
  });
  const transport = createRouterTransport(
    ({ service }) => {
      service(QueryService, {
        listServices(_req, ctx) {
          const auth = ctx.requestHeader.get('authorization') ?? '';
          seen.push(auth);
          if (auth !== 'Bearer new') throw new ConnectError('token expired', Code.Unauthenticated);
          return { serviceNames: ['checkout'] };
        },
      });
    },
    { transport: { interceptors: [authInterceptor] } },
  );
  return { client: createClient(QueryService, transport), stats: () => ({ refreshes, expired, seen }) };
}

describe('auth interceptor', () => {
  it('sends the bearer token and retries once after a refresh', async () => {
    const { client, stats } = setup('ok');
    const res = await client.listServices({});
    expect(res.serviceNames).toEqual(['checkout']);
    expect(stats().seen).toEqual(['Bearer old', 'Bearer new']);
    expect(stats().refreshes).toBe(1);
  });

  it('gives up and reports the session expired when the session is over', async () => {
    const { client, stats } = setup('expired');
    await expect(client.listServices({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(stats().expired).toBe(1);
  });

  it('keeps the session when the gateway could not answer, failing the call as unavailable', async () => {
    const { client, stats } = setup('failed');
    await expect(client.listServices({})).rejects.toMatchObject({ code: Code.Unavailable });
    expect(stats().expired).toBe(0);
  });
});
