// The playground's few-shot box: "user: …" / "assistant: …" lines into chat turns.
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** Lines starting with a role open a turn; other non-empty lines continue the previous turn. */
export function parseFewShot(s: string): Turn[] {
  const out: Turn[] = [];
  for (const line of s.split('\n')) {
    const m = /^\s*(user|assistant)\s*:\s*(.*)$/i.exec(line);
    if (m) out.push({ role: m[1].toLowerCase() as Turn['role'], content: m[2] });
    else if (line.trim() && out.length) out[out.length - 1].content += '\n' + line;
  }
  return out;
}
