// Service worker lifecycle in the UI: registers the worker that makes the studio work
// offline, says once when it is ready offline, and when a new version is waiting asks before
// reloading, never reloading by itself: a running training keeps its page.
import { useEffect, useState } from 'react';
import { useRegisterSW } from 'virtual:pwa-register/react';
import { useBusyReasons } from './busy';
import { trainer } from '../../worker/client';

/** Whether the worker is training right now (asked, not assumed: the run may have ended). */
async function trainingRuns(): Promise<boolean> {
  try {
    return (await trainer().activeRunId()) != null;
  } catch {
    return false;
  }
}

/** How often an open studio checks for a new version. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

export function UpdatePrompt() {
  const marked = useBusyReasons();
  const [training, setTraining] = useState(false);
  const busy = training && !marked.includes('Training') ? ['Training', ...marked] : marked;
  const [confirming, setConfirming] = useState(false);
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW(_url, registration) {
      if (!registration) return;
      document.documentElement.dataset.sw = 'registered';
      setInterval(() => {
        if (navigator.onLine) void registration.update().catch(() => undefined);
      }, UPDATE_CHECK_MS);
    },
    onRegisterError(error) {
      console.warn('Offline support is unavailable: the service worker did not register.', error);
    },
  });

  // While an update waits, keep knowing whether a training run would be cut by reloading.
  useEffect(() => {
    if (!needRefresh) return;
    let live = true;
    const poll = () => void trainingRuns().then((t) => live && setTraining(t));
    poll();
    const id = setInterval(poll, 5000);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [needRefresh]);

  useEffect(() => {
    if (!offlineReady) return;
    const id = setTimeout(() => setOfflineReady(false), 8000);
    return () => clearTimeout(id);
  }, [offlineReady, setOfflineReady]);

  if (needRefresh) {
    const reload = () => {
      if (busy.length && !confirming) return setConfirming(true);
      void updateServiceWorker(true);
    };
    return (
      <div className="pwa-toast" role="alertdialog" aria-labelledby="pwa-update-title" data-testid="pwa-update">
        <p id="pwa-update-title">
          <strong>A new version of LoRA Studio is ready.</strong>{' '}
          {busy.length
            ? `${busy.join(' and ')} is running: reloading now stops it (a training resumes from its last checkpoint). You can reload later; this version keeps working.`
            : 'Reload to use it. Nothing changes until you do.'}
        </p>
        <div className="pwa-actions">
          <button type="button" className="pwa-primary" onClick={reload}>
            {confirming ? 'Stop and reload' : 'Reload'}
          </button>
          <button
            type="button"
            onClick={() => {
              setConfirming(false);
              setNeedRefresh(false);
            }}
          >
            Later
          </button>
        </div>
      </div>
    );
  }
  if (offlineReady) {
    return (
      <div className="pwa-toast" role="status" data-testid="pwa-offline-ready">
        <p>LoRA Studio now works offline. Models you download stay on this device.</p>
        <div className="pwa-actions">
          <button type="button" onClick={() => setOfflineReady(false)}>
            OK
          </button>
        </div>
      </div>
    );
  }
  return null;
}
