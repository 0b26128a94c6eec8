// Providers: data fetching, session restore, router.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect } from 'react';
import { BrowserRouter } from 'react-router';
import { shouldRetry } from '../api/errors';
import { restoreSession } from '../api/session';
import { AppRoutes } from './routes';

const client = new QueryClient({
  defaultOptions: {
    queries: {
      retry: shouldRetry,
      refetchOnWindowFocus: false,
      staleTime: 15_000,
      // Large responses (10k-span traces): skip deep structural comparison.
      structuralSharing: false,
    },
  },
});
export { client as appQueryClient };

export function App() {
  useEffect(() => {
    void restoreSession();
  }, []);
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
