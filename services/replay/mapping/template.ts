/**
 * Text templates: `bank-{vru+line}-{call_id}`, `{Date_month_year} {Time}`. `{name}` is a
 * column (any characters but `}`), `{$row}` the row number (1 = first data row), `{$file}`
 * the file name without its extensions; `{{` and `}}` are literal braces. Parsed once when
 * the mapping loads.
 */

export type Part = { text: string } | { column: string } | { builtin: '$row' | '$file' };

export class TemplateError extends Error {}

export interface Template {
  parts: Part[];
  columns: string[];
}

export interface TemplateContext {
  row: number;
  file: string;
}

export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if ((c === '{' || c === '}') && source[i + 1] === c) {
      text += c;
      i += 2;
    } else if (c === '{') {
      const end = source.indexOf('}', i);
      if (end < 0) throw new TemplateError(`unclosed { at character ${i + 1} (write {{ for a literal brace)`);
      const name = source.slice(i + 1, end);
      if (name === '') throw new TemplateError(`empty {} at character ${i + 1}`);
      if (text !== '') parts.push({ text });
      text = '';
      if (name === '$row' || name === '$file') parts.push({ builtin: name });
      else if (name.startsWith('$')) throw new TemplateError(`unknown built-in {${name}}: use {$row} or {$file}`);
      else parts.push({ column: name });
      i = end + 1;
    } else if (c === '}') {
      throw new TemplateError(`unmatched } at character ${i + 1} (write }} for a literal brace)`);
    } else {
      text += c;
      i += 1;
    }
  }
  if (text !== '') parts.push({ text });
  return { parts, columns: parts.flatMap((p) => ('column' in p ? [p.column] : [])) };
}

/** The rendered text, or the first column that has no value (a template never renders "undefined"). */
export function renderTemplate(
  t: Template,
  read: (column: string) => unknown,
  ctx: TemplateContext,
): { value: string } | { missing: string } {
  let out = '';
  for (const p of t.parts) {
    if ('text' in p) out += p.text;
    else if ('builtin' in p) out += p.builtin === '$row' ? String(ctx.row) : ctx.file;
    else {
      const v = read(p.column);
      if (v === undefined || v === null) return { missing: p.column };
      out += typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  return { value: out };
}
