import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ready } from './i18n';
import './app/theme';
import './app/global.css';
import { App } from './app/App';

// The page's language is loaded first, so no text renders as its key (if
// it cannot be fetched, a page of keys still beats a blank one).
void ready.finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
