#!/usr/bin/env node
// Prints the size of ippc's production units, for the restructure's before/after figures and for
// anyone who wants to see where the big pieces are: the largest files, the largest functions, lines
// per package and the names each package's public entry exports.
//
//   node tools/unit-sizes.mjs [--top N] [--json] [--over] [--package NAME]
//
// --over lists every file over 400 lines and every function over 80; --package keeps one package.
//
// Production code = packages/*/src/**/*.ts without tests (*.spec.ts, *.int.ts), test helpers
// (testing/), benches (bench/) and generated code (gen/). Lines are counted as `wc -l` counts them;
// a function's lines run from its first to its last line, nested functions included (as ESLint's
// max-lines-per-function counts them, which `npm run lint` enforces at 80, files at 400).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const { values } = parseArgs({
  options: {
    top: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
    over: { type: 'boolean', default: false },
    package: { type: 'string' },
  },
});
const top = Number(values.top);
const root = resolve(new URL('..', import.meta.url).pathname);
const packagesDir = join(root, 'packages');

const isProduction = (rel) =>
  rel.endsWith('.ts') && !/\.(spec|int|e2e)\.ts$/.test(rel) && !/(^|\/)(testing|bench|gen|node_modules|dist)(\/|$)/.test(rel) && !rel.endsWith('/testing.ts');

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) {
      if (!['node_modules', 'gen', 'dist'].includes(entry)) out.push(...walk(p));
    } else out.push(p);
  }
  return out;
}

const lineCount = (text) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

const functionName = (node, sf) => {
  if (node.name) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  return '(anonymous)';
};

const files = [];
const functions = [];
const packages = [];
for (const name of readdirSync(packagesDir).sort()) {
  if (values.package && name !== values.package) continue;
  const dir = join(packagesDir, name);
  const src = join(dir, 'src');
  let lines = 0;
  try {
    statSync(src);
  } catch {
    continue;
  }
  for (const path of walk(src)) {
    const rel = relative(root, path);
    if (!isProduction(relative(dir, path))) continue;
    const text = readFileSync(path, 'utf8');
    const n = lineCount(text);
    lines += n;
    files.push({ path: rel, lines: n });
    const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        functions.push({ path: rel, name: functionName(node, sf), line: start + 1, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  packages.push({ name, lines, exports: countExports(dir) });
}

/** Names the package's main entry exports (through `export *` too), read by the type checker. */
function countExports(dir) {
  let entry;
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const main = pkg.exports?.['.'];
    entry = typeof main === 'string' ? main : (main?.types ?? main?.default);
  } catch {
    return 0;
  }
  if (!entry) return 0;
  const file = join(dir, entry);
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    allowJs: false,
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  const symbol = sf && checker.getSymbolAtLocation(sf);
  return symbol ? checker.getExportsOfModule(symbol).length : 0;
}

files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
const summary = {
  productionLines: files.reduce((s, f) => s + f.lines, 0),
  productionFiles: files.length,
  filesOver400: files.filter((f) => f.lines > 400).length,
  functionsOver80: functions.filter((f) => f.lines > 80).length,
  largestFiles: files.slice(0, top),
  largestFunctions: functions.slice(0, top),
  packages,
};
if (values.over) {
  for (const f of files.filter((x) => x.lines > 400)) console.log(`file     ${String(f.lines).padStart(5)}  ${f.path}`);
  for (const f of functions.filter((x) => x.lines > 80)) console.log(`function ${String(f.lines).padStart(5)}  ${f.path}:${f.line} ${f.name}`);
} else if (values.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  console.log(
    `production code: ${summary.productionLines} lines in ${summary.productionFiles} files; ${summary.filesOver400} files over 400 lines, ${summary.functionsOver80} functions over 80 lines\n`,
  );
  console.log('largest files');
  for (const f of summary.largestFiles) console.log(`  ${String(f.lines).padStart(5)}  ${f.path}`);
  console.log('\nlargest functions');
  for (const f of summary.largestFunctions) console.log(`  ${String(f.lines).padStart(5)}  ${f.path}:${f.line} ${f.name}`);
  console.log('\npackage                  lines  exported names');
  for (const p of packages) console.log(`  ${p.name.padEnd(22)} ${String(p.lines).padStart(5)}  ${String(p.exports).padStart(5)}`);
}
