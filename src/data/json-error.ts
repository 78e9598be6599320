// Where a JSON document first goes wrong. JSON.parse's messages differ between engines (V8 in
// Node 20 gives no position at all), so on failure we scan the text ourselves for an exact
// line and column. Only used on the error path; iterative, so deep nesting cannot overflow.

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Character offset of the first syntax error in `text`, or -1 when it is valid JSON. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const stack: Array<{ open: number; count: number }> = []; // open: 0x5b '[' or 0x7b '{'
  const skipWs = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };
  /** Parses one scalar or opens a container; returns false on error (i at the offending char). */
  const value = (): boolean => {
    skipWs();
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      stack.push({ open: c, count: 0 });
      i++;
      return true;
    }
    if (c === 0x22) return string();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return true;
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0) {
      i += m[0].length;
      return true;
    }
    return false;
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return false;
      } else i++;
    }
    return false;
  };

  // After a value: ',' or the closer of the innermost open container.
  if (!value()) return i;
  for (;;) {
    const top = stack[stack.length - 1];
    skipWs();
    if (top === undefined) return i < n ? i : -1;
    if (text[i] === (top.open === 0x5b ? ']' : '}')) {
      stack.pop();
      i++;
      continue;
    }
    if (top.count > 0) {
      if (text[i] !== ',') return i;
      i++;
    }
    top.count++;
    if (!member(top.open)) return i;
  }

  /** One array element or one object `"key": value`. */
  function member(top: number): boolean {
    skipWs();
    if (top === 0x7b) {
      if (text.charCodeAt(i) !== 0x22 || !string()) return false;
      skipWs();
      if (text[i] !== ':') return false;
      i++;
    }
    return value();
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNl = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lastNl = i;
  }
  return { line, column: offset - lastNl };
}
