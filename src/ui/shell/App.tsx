import { useEffect, useState } from 'react';
import { SCREENS, screenFromHash, type ScreenId } from './screens';
import { useGpu } from '../../store/gpu';
import { useModel } from '../../store/model';
import { lostModelNotice } from '../../worker/model-availability';
import { GpuPanel } from '../gpu/GpuPanel';
import { NoWebGpu } from '../gpu/NoWebGpu';
import { Advisor } from '../advisor/Advisor';
import { DataScreen } from '../data/DataScreen';
import { ModelScreen } from '../model/ModelScreen';
import { TrainScreen } from '../training/TrainScreen';
import { Playground } from '../playground/Playground';
import { RunsScreen } from '../runs/RunsScreen';
import { EvaluateScreen } from '../evaluate/EvaluateScreen';
import { ThemeToggle } from './ThemeToggle';

/** Screens that cannot do anything without a GPU device. */
const NEEDS_GPU: ScreenId[] = ['train', 'playground', 'evaluate', 'gpu'];

function Screen({ id }: { id: ScreenId }) {
  switch (id) {
    case 'advisor':
      return <Advisor />;
    case 'data':
      return <DataScreen />;
    case 'model':
      return <ModelScreen />;
    case 'train':
      return <TrainScreen />;
    case 'playground':
      return <Playground />;
    case 'evaluate':
      return <EvaluateScreen />;
    case 'adapters':
      return <RunsScreen />;
    case 'gpu':
      return <GpuPanel />;
  }
}

export function App() {
  const [screen, setScreen] = useState<ScreenId>(() => screenFromHash(location.hash));
  const status = useGpu((s) => s.status);
  const load = useGpu((s) => s.load);
  const refreshCache = useModel((s) => s.refreshCache);
  const lostModel = useModel((s) => (s.cacheChecked ? lostModelNotice(s.model, s.cached) : null));

  // The browser may evict an imported model at any time: look again at startup, on every
  // screen change and whenever the tab comes back into view, and say so wherever the user is.
  useEffect(() => {
    void refreshCache();
    const onVisible = () => document.visibilityState === 'visible' && void refreshCache();
    addEventListener('hashchange', refreshCache);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      removeEventListener('hashchange', refreshCache);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [refreshCache]);

  useEffect(() => {
    const onHash = () => {
      setScreen(screenFromHash(location.hash));
      // Move focus to the new screen's heading for keyboard and screen-reader users.
      requestAnimationFrame(() => document.getElementById('screen-title')?.focus());
    };
    addEventListener('hashchange', onHash);
    void load();
    return () => removeEventListener('hashchange', onHash);
  }, [load]);

  useEffect(() => {
    document.title = `${SCREENS.find((s) => s.id === screen)!.label} · LoRA Studio`;
  }, [screen]);

  return (
    <div className="app">
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
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
          {status === null ? 'Checking GPU…' : status.available ? `GPU: ${status.adapter.name}` : 'No WebGPU'}
        </span>
        <ThemeToggle />
      </header>
      <main id="main" tabIndex={-1}>
        {lostModel && (
          <p className="bad banner" role="alert" data-testid="model-lost">
            {lostModel} {screen !== 'model' && <a href="#/model">Go to the Model screen</a>}
          </p>
        )}
        {status && !status.available && NEEDS_GPU.includes(screen) ? <NoWebGpu reason={status.reason} /> : <Screen id={screen} />}
      </main>
      <footer className="footer">Your dataset never leaves this device. Training runs on your GPU through WebGPU.</footer>
    </div>
  );
}
