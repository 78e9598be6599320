import { useEffect, useState } from 'react';
import { SCREENS, screenFromHash, type ScreenId } from './screens';
import { useGpu } from '../../store/gpu';
import { GpuPanel } from '../gpu/GpuPanel';
import { NoWebGpu } from '../gpu/NoWebGpu';
import { Placeholder } from './Placeholder';

export function App() {
  const [screen, setScreen] = useState<ScreenId>(() => screenFromHash(location.hash));
  const status = useGpu((s) => s.status);
  const load = useGpu((s) => s.load);

  useEffect(() => {
    const onHash = () => setScreen(screenFromHash(location.hash));
    addEventListener('hashchange', onHash);
    void load();
    return () => removeEventListener('hashchange', onHash);
  }, [load]);

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/advisor">
          LoRA Studio
        </a>
        <nav aria-label="Screens">
          <ul className="nav">
            {SCREENS.map((s) => (
              <li key={s.id}>
                <a href={`#/${s.id}`} aria-current={screen === s.id ? 'page' : undefined} title={s.label}>
                  {s.short}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="gpu-chip" data-testid="gpu-chip">
          {status === null ? 'Checking GPU…' : status.available ? `GPU: ${status.adapter.description || [status.adapter.vendor, status.adapter.architecture].filter(Boolean).join(' ') || 'WebGPU adapter'}` : 'No WebGPU'}
        </span>
      </header>
      <main id="main">
        {status && !status.available && screen !== 'advisor' ? (
          <NoWebGpu reason={status.reason} />
        ) : screen === 'gpu' ? (
          <GpuPanel />
        ) : (
          <Placeholder screen={screen} />
        )}
      </main>
      <footer className="footer">Your dataset never leaves this device. Training runs on your GPU through WebGPU.</footer>
    </div>
  );
}
