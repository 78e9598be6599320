import { SCREENS, type ScreenId } from './screens';

/** Screens not built yet say so plainly instead of pretending. */
export function Placeholder({ screen }: { screen: ScreenId }) {
  const s = SCREENS.find((x) => x.id === screen)!;
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{s.label}</h1>
      <p className="muted">This screen is being built.</p>
    </section>
  );
}
