#!/usr/bin/env node
// Bundles the `bin` entries of the package in the current folder into dist/<bin>.mjs with esbuild,
// so daemons start fast inside cluster containers (one file, no TypeScript at run time).
// Packages with native addons stay external and resolve from the workspace's node_modules, which
// the testbed mounts next to the bundles. Extra externals: package.json "ippc.bundleExternal".
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

// Native addons, and packages that read files next to their own sources (__dirname) at run time.
const EXTERNAL = ['cpu-features', 'ssh2', 'lmdb', 'msgpackr-extract', 'better-sqlite3', 'classic-level', 'grpc-health-check', 'etcd3'];
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const bins = Object.entries(pkg.bin ?? {});
if (bins.length === 0) {
  console.error(`bundle: ${pkg.name} has no bin entries`);
  process.exit(1);
}
rmSync('dist', { recursive: true, force: true });
const outdir = resolve('dist');

// Sources that find files next to themselves (`new URL('../networks/', import.meta.url)`: network
// templates, the CNI forwarder's C and sh sources) would look next to the bundle instead. Rewrite
// each such literal to the same file seen from dist/, which keeps working wherever the workspace is
// mounted (the testbed mounts it read-only at /opt/ippc), because the layout is the same.
const assetUrls = {
  name: 'ippc-asset-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const contents = text.replace(/new URL\((['"])([^'"]+)\1,\s*import\.meta\.url\)/g, (whole, q, rel) => {
        if (!rel.startsWith('.')) return whole;
        let target = relative(outdir, resolve(dirname(args.path), rel));
        if (rel.endsWith('/')) target += '/';
        return `new URL(${q}${target.startsWith('.') ? target : `./${target}`}${q}, import.meta.url)`;
      });
      return { contents, loader: 'ts' };
    });
  },
};
const started = Date.now();
await build({
  entryPoints: Object.fromEntries(bins.map(([name, file]) => [name, file])),
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: [...EXTERNAL, ...(pkg.ippc?.bundleExternal ?? [])],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __ippcCreateRequire } from 'node:module'; const require = __ippcCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [assetUrls],
});
// The sources' hashbang runs tsx; a bundle is plain JavaScript. Node flags other than tsx's
// (e.g. ippc-ipam-node's GC sizing) stay.
for (const [name] of bins) {
  const file = `dist/${name}.mjs`;
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(/^#!(.*)\n/, (_, line) => {
      const flags = line
        .replace(/^\/usr\/bin\/env\s+(-S\s+)?node/, '')
        .replace('--import tsx', '')
        .trim();
      return flags ? `#!/usr/bin/env -S node ${flags}\n` : '#!/usr/bin/env node\n';
    }),
  );
}
console.log(`bundle: ${pkg.name}: ${bins.map(([n]) => `dist/${n}.mjs`).join(', ')} in ${Date.now() - started} ms`);
