import { useRef, useState, type ReactNode } from 'react';

/**
 * A file drop target that is also a keyboard-accessible button opening the file picker.
 * `directory` opens a folder picker (webkitdirectory) for local model folders.
 */
export function DropZone({ onFiles, accept, label, hint, directory = false, multiple = false, testId, disabled = false }: { onFiles: (files: File[]) => void; accept?: string; label: ReactNode; hint?: string; directory?: boolean; multiple?: boolean; testId?: string; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      data-testid={testId}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (!disabled && e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
      }}
    >
      <button type="button" className="secondary" onClick={() => input.current?.click()} disabled={disabled}>
        {label}
      </button>
      {hint && <p className="muted">{hint}</p>}
      <input
        ref={input}
        type="file"
        hidden
        accept={accept}
        multiple={directory || multiple}
        {...(directory ? { webkitdirectory: '', directory: '' } : {})}
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </div>
  );
}
