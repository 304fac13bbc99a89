/**
 * Splits a REPL line into arguments as a shell would for simple cases: whitespace separates,
 * single quotes keep everything literally, double quotes keep spaces and allow \" and \\, and a
 * backslash outside quotes escapes the next character. An unclosed quote is an error.
 */

export class TokenizeError extends Error {
  override name = "TokenizeError";
}

export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let inToken = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) current += line[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inToken = true;
    } else if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) tokens.push(current);
      current = "";
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (quote) throw new TokenizeError(`unclosed ${quote === "'" ? "single" : "double"} quote`);
  if (inToken) tokens.push(current);
  return tokens;
}
