/** Shown instead of the studio when this browser cannot give us a WebGPU device. */
export function NoWebGpu({ reason }: { reason: string }) {
  return (
    <section className="card warn" aria-labelledby="nowebgpu-title" data-testid="no-webgpu">
      <h1 id="nowebgpu-title">This browser can't train here yet</h1>
      <p>LoRA Studio trains on your GPU through WebGPU, and this page could not get a GPU device.</p>
      <p className="muted">Details: {reason}</p>
      <h2>What you can do</h2>
      <ul>
        <li>Use a recent Chrome or Edge (version 113 or newer) on Windows, macOS, ChromeOS or Android; on Linux, Chrome 144+ or enable <code>chrome://flags/#enable-unsafe-webgpu</code>.</li>
        <li>Check <code>chrome://gpu</code>: WebGPU must say "Hardware accelerated". If your GPU is blocklisted, update its driver, or try <code>chrome://flags/#enable-unsafe-webgpu</code>.</li>
        <li>Make sure hardware acceleration is on in Chrome's settings (System → "Use graphics acceleration when available").</li>
        <li>Firefox and Safari are adding WebGPU; until it is on by default there, use Chrome.</li>
        <li>No browser option? The same engine runs from the command line: <code>npx lora-studio train …</code> (see the README).</li>
      </ul>
    </section>
  );
}
