import { asNumber } from '../../shared/sources/conditions.ts';

/**
 * Arithmetic for mapping fields that a file does not hold directly, e.g. packets received
 * from packets sent and loss: `round({packets_send} * (1 - {packet_loss} / 100))`.
 * Deliberately tiny — numbers, `{column}`, + − × ÷ %, parentheses and round, floor,
 * ceil, abs, min, max — and parsed once when the mapping loads (no eval). Anything more
 * belongs in a small plugin, not in a mapping file.
 */

type Node =
  | { k: 'num'; v: number }
  | { k: 'col'; name: string }
  | { k: 'neg'; a: Node }
  | { k: 'bin'; op: '+' | '-' | '*' | '/' | '%'; a: Node; b: Node }
  | { k: 'fn'; name: keyof typeof FUNCTIONS; args: Node[] };

const FUNCTIONS = {
  round: (xs: number[]) => Math.round(xs[0] ?? Number.NaN),
  floor: (xs: number[]) => Math.floor(xs[0] ?? Number.NaN),
  ceil: (xs: number[]) => Math.ceil(xs[0] ?? Number.NaN),
  abs: (xs: number[]) => Math.abs(xs[0] ?? Number.NaN),
  min: (xs: number[]) => Math.min(...xs),
  max: (xs: number[]) => Math.max(...xs),
};
const ARITY: Record<keyof typeof FUNCTIONS, [number, number]> = {
  round: [1, 1],
  floor: [1, 1],
  ceil: [1, 1],
  abs: [1, 1],
  min: [1, 20],
  max: [1, 20],
};

export class ExpressionError extends Error {}

export interface Expression {
  columns: string[];
  /** A finite number, or the reason there is none (a missing or non-numeric column, a division by 0). */
  evaluate(read: (column: string) => unknown): { value: number } | { error: string };
}

export function parseExpression(text: string): Expression {
  let i = 0;
  const columns = new Set<string>();
  const fail = (msg: string): never => {
    throw new ExpressionError(`${msg} at character ${i + 1} of "${text}"`);
  };
  const skipSpace = () => {
    while (text[i] === ' ' || text[i] === '\t') i += 1;
  };
  const peek = () => {
    skipSpace();
    return text[i];
  };

  function primary(): Node {
    const c = peek();
    if (c === '(') {
      i += 1;
      const e = sum();
      if (peek() !== ')') fail('expected )');
      i += 1;
      return e;
    }
    if (c === '-') {
      i += 1;
      return { k: 'neg', a: primary() };
    }
    if (c === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) fail('unclosed {');
      const name = text.slice(i + 1, end);
      if (name === '') fail('empty column name');
      columns.add(name);
      i = end + 1;
      return { k: 'col', name };
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      return { k: 'num', v: Number(num[0]) };
    }
    const word = /^[a-z]+/.exec(text.slice(i));
    if (word && Object.hasOwn(FUNCTIONS, word[0])) {
      const name = word[0] as keyof typeof FUNCTIONS;
      i += name.length;
      if (peek() !== '(') fail(`expected ( after ${name}`);
      i += 1;
      const args = [sum()];
      while (peek() === ',') {
        i += 1;
        args.push(sum());
      }
      if (peek() !== ')') fail('expected ) or ,');
      i += 1;
      const [lo, hi] = ARITY[name];
      if (args.length < lo || args.length > hi) fail(`${name} takes ${lo === hi ? lo : `${lo} to ${hi}`} argument(s)`);
      return { k: 'fn', name, args };
    }
    return fail(`expected a number, {column}, a function (${Object.keys(FUNCTIONS).join(', ')}) or (`);
  }

  function product(): Node {
    let a = primary();
    for (let c = peek(); c === '*' || c === '/' || c === '%'; c = peek()) {
      i += 1;
      a = { k: 'bin', op: c, a, b: primary() };
    }
    return a;
  }

  function sum(): Node {
    let a = product();
    for (let c = peek(); c === '+' || c === '-'; c = peek()) {
      i += 1;
      a = { k: 'bin', op: c, a, b: product() };
    }
    return a;
  }

  const tree = sum();
  if (peek() !== undefined) fail('unexpected text');

  return {
    columns: [...columns],
    evaluate(read) {
      const problems: string[] = [];
      const run = (n: Node): number => {
        switch (n.k) {
          case 'num':
            return n.v;
          case 'col': {
            const raw = read(n.name);
            const v = asNumber(raw);
            if (v === undefined) problems.push(raw === undefined ? `{${n.name}} is empty` : `{${n.name}} is not a number`);
            return v ?? Number.NaN;
          }
          case 'neg':
            return -run(n.a);
          case 'fn':
            return FUNCTIONS[n.name](n.args.map(run));
          case 'bin': {
            const a = run(n.a);
            const b = run(n.b);
            if (n.op === '+') return a + b;
            if (n.op === '-') return a - b;
            if (n.op === '*') return a * b;
            if (n.op === '/') return a / b;
            return a % b;
          }
        }
      };
      const value = run(tree);
      if (problems.length > 0) return { error: problems.join(', ') };
      return Number.isFinite(value) ? { value } : { error: 'the result is not a finite number (division by 0?)' };
    },
  };
}
