/**
 * Meta rule expressions as SpamAssassin writes them: rule names, numbers, `! && ||`, parentheses,
 * and arithmetic and comparisons (`(A + B + C) > 1`, `A * 2`, `A == B`), with Perl's precedence
 * (`!` binds tightest, then `* /`, `+ -`, `< > <= >=`, `== !=`, `&&`, `||`). A rule's value is its
 * hit count (1 for a hit, more for `tflags multiple`, 0 for a miss); booleans are 1 and 0. Parsed
 * once into a tree; evaluation is a walk over plain data (the tree crosses to the rule thread).
 */

export type MetaNode =
  | { readonly t: 'rule'; readonly name: string }
  | { readonly t: 'num'; readonly value: number }
  | { readonly t: 'not'; readonly a: MetaNode }
  | { readonly t: 'neg'; readonly a: MetaNode }
  | { readonly t: 'bin'; readonly op: BinaryOp; readonly a: MetaNode; readonly b: MetaNode };

type BinaryOp = '&&' | '||' | '+' | '-' | '*' | '/' | '>' | '<' | '>=' | '<=' | '==' | '!=';

const LEVELS: readonly (readonly BinaryOp[])[] = [['||'], ['&&'], ['==', '!='], ['<', '>', '<=', '>='], ['+', '-'], ['*', '/']];

export type MetaParse = { readonly ok: true; readonly node: MetaNode; readonly names: readonly string[] } | { readonly ok: false; readonly error: string };

export function parseMeta(expr: string): MetaParse {
  const tokens: string[] = [];
  const re = /\s*(&&|\|\||>=|<=|==|!=|[!()+\-*/<>]|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(expr)) !== null) {
    tokens.push(m[1] as string);
    end = re.lastIndex;
  }
  if (expr.slice(end).trim() !== '') return { ok: false, error: `cannot read "${expr.slice(end).trim().slice(0, 20)}"` };
  if (tokens.length === 0) return { ok: false, error: 'empty expression' };
  let pos = 0;
  const names = new Set<string>();
  const fail = (what: string): never => {
    throw new Error(what);
  };
  const unary = (): MetaNode => {
    const tok = tokens[pos++];
    if (tok === undefined) return fail('expression ends early');
    if (tok === '!') return { t: 'not', a: unary() };
    if (tok === '-') return { t: 'neg', a: unary() };
    if (tok === '+') return unary();
    if (tok === '(') {
      const node = binary(0);
      if (tokens[pos++] !== ')') fail('missing ")"');
      return node;
    }
    if (/^\d/.test(tok)) return { t: 'num', value: Number(tok) };
    if (/^[A-Za-z_]/.test(tok)) {
      names.add(tok);
      return { t: 'rule', name: tok };
    }
    return fail(`unexpected "${tok}"`);
  };
  const binary = (level: number): MetaNode => {
    if (level >= LEVELS.length) return unary();
    let a = binary(level + 1);
    const ops = LEVELS[level] as readonly BinaryOp[];
    for (let tok = tokens[pos]; tok !== undefined && (ops as readonly string[]).includes(tok); tok = tokens[pos]) {
      pos++;
      a = { t: 'bin', op: tok as BinaryOp, a, b: binary(level + 1) };
    }
    return a;
  };
  try {
    const node = binary(0);
    if (pos !== tokens.length) return { ok: false, error: `unexpected "${tokens[pos] as string}"` };
    return { ok: true, node, names: [...names] };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The expression's value; `value(name)` gives a rule's hit count. */
export function evalMeta(n: MetaNode, value: (name: string) => number): number {
  switch (n.t) {
    case 'rule':
      return value(n.name);
    case 'num':
      return n.value;
    case 'not':
      return evalMeta(n.a, value) ? 0 : 1;
    case 'neg':
      return -evalMeta(n.a, value);
    case 'bin': {
      const a = evalMeta(n.a, value);
      if (n.op === '&&') return a && evalMeta(n.b, value) ? 1 : 0;
      if (n.op === '||') return a || evalMeta(n.b, value) ? 1 : 0;
      const b = evalMeta(n.b, value);
      switch (n.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? 0 : a / b;
        case '>':
          return a > b ? 1 : 0;
        case '<':
          return a < b ? 1 : 0;
        case '>=':
          return a >= b ? 1 : 0;
        case '<=':
          return a <= b ? 1 : 0;
        case '==':
          return a === b ? 1 : 0;
        default:
          return a !== b ? 1 : 0;
      }
    }
  }
}
