// Every function fits in one's head: no function, method or arrow of the codebase is longer than
// MAX_FUNCTION_LINES lines as prettier formats it (printWidth 120). Why 80: about one tall editor screen of
// formatted code, a quarter below the anchor the code-health review took from kafkajs (whose longest comparable
// functions run to about 110 lines); after the split the longest function here is 78 lines
// (generator/world.ts buildWorldSeed). Test bodies (callbacks given to describe/it/hooks) are not functions
// in this sense: they are lists of checks, kept short by their own structure; nor is a browser script's
// file-scope module wrapper.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config.ts';

const MAX_FUNCTION_LINES = 80;
/** Functions allowed to be longer, each with its reason. None is needed today. */
const EXEMPT: ReadonlyMap<string, string> = new Map();

const SKIP = new Set(['node_modules', '.git', '.pulso', '.scratch', 'fixtures']);
const TEST_CALLS = new Set(['describe', 'it', 'test', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach']);

function sourceFiles(dir = PROJECT_ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [relative(PROJECT_ROOT, p)] : [];
  });
}

type Fn = ts.FunctionLikeDeclaration;
const isFunction = (n: ts.Node): n is Fn =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) ||
  ts.isSetAccessorDeclaration(n);

/** A test body: the callback given to describe(...), it(...), it.each(...)(...), a hook. */
function isTestBody(n: Fn): boolean {
  let call = n.parent;
  if (!ts.isCallExpression(call)) return false;
  let callee: ts.Expression = call.expression;
  while (ts.isCallExpression(callee) || ts.isPropertyAccessExpression(callee))
    callee = ts.isCallExpression(callee) ? callee.expression : callee.expression;
  return ts.isIdentifier(callee) && TEST_CALLS.has(callee.text);
}

/** A browser script's module wrapper, `(() => { … })();` at file scope: a scope, not a function of logic. */
function isModuleWrapper(n: Fn): boolean {
  const paren = n.parent;
  const call = paren?.parent;
  return (
    ts.isParenthesizedExpression(paren) &&
    ts.isCallExpression(call) &&
    ts.isExpressionStatement(call.parent) &&
    ts.isSourceFile(call.parent.parent)
  );
}

function nameOf(n: Fn): string {
  if (n.name) return n.name.getText();
  const p = n.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText();
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  return `<callback of ${ts.isCallExpression(p) ? p.expression.getText().slice(0, 40) : ts.SyntaxKind[p.kind]}>`;
}

interface Measured {
  readonly where: string;
  readonly lines: number;
}

function functionsOf(file: string): Measured[] {
  const text = readFileSync(resolve(PROJECT_ROOT, file), 'utf8');
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Measured[] = [];
  const visit = (n: ts.Node) => {
    if (isFunction(n) && n.body && !isTestBody(n) && !isModuleWrapper(n)) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const last = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      out.push({ where: `${file}:${first + 1} ${nameOf(n)}`, lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

const measured = sourceFiles().flatMap(functionsOf);

describe('function length', () => {
  it('measures every function of the codebase', () => {
    expect(measured.length).toBeGreaterThan(1500);
    expect(
      measured.some((m) => m.where.includes('transformer/consumeLoop.ts') && m.where.endsWith('startTransformer')),
    ).toBe(true);
  });

  it(`keeps every function at ${MAX_FUNCTION_LINES} lines or fewer`, () => {
    const long = measured
      .filter((m) => m.lines > MAX_FUNCTION_LINES && !EXEMPT.has(m.where.replace(/:\d+ /, ' ')))
      .sort((a, b) => b.lines - a.lines)
      .map((m) => `${m.where}: ${m.lines} lines`);
    expect(long).toEqual([]);
  });
});
