// Its own React root beside the app (#pwa-root in index.html): the service worker and the
// update prompt work whatever screen the app shows, and the app needs no wiring for them.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { UpdatePrompt } from './UpdatePrompt';
import './pwa.css';

const el = document.getElementById('pwa-root');
if (el && 'serviceWorker' in navigator) {
  createRoot(el).render(
    <StrictMode>
      <UpdatePrompt />
    </StrictMode>,
  );
}
