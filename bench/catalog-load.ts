// Cold load and lookup cost of the committed CSP catalog.
// Run: npx tsx bench/catalog-load.ts   (prints figures; no assertions)
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../src/catalog/catalog.js';
import { CATALOG_FILE_NAME, defaultCatalogDir } from '../src/catalog/catalog-file.js';

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

const dir = defaultCatalogDir();
const file = join(dir, CATALOG_FILE_NAME);
const bytes = statSync(file).size;

let t = process.hrtime.bigint();
const text = readFileSync(file, 'utf8');
const readMs = ms(t);
t = process.hrtime.bigint();
JSON.parse(text);
const parseMs = ms(t);

// The cold load as the server does it: read, parse, index (first call in the process).
t = process.hrtime.bigint();
const catalog = Catalog.load(dir);
const loadMs = ms(t);

const paths = catalog.all().map((n) => n.path);
const concrete = [
  './device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
  './Vendor/MSFT/DMClient/Provider/MyMDM/EntDMID',
  './Vendor/MSFT/BitLocker/RequireDeviceEncryption',
  './DevDetail/SwV',
  './User/Vendor/MSFT/Policy/Result/ADMX_AddRemovePrograms/NoServices',
];

const rounds = 20;
t = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) for (const p of paths) catalog.get(p);
const getNs = (ms(t) * 1e6) / (rounds * paths.length);

t = process.hrtime.bigint();
catalog.resolve('./Vendor/MSFT/DMClient/Provider/Warmup/EntDMID');
const firstResolveMs = ms(t);

t = process.hrtime.bigint();
const resolveRounds = 20_000;
for (let r = 0; r < resolveRounds; r++) for (const p of concrete) catalog.resolve(p);
const resolveNs = (ms(t) * 1e6) / (resolveRounds * concrete.length);

t = process.hrtime.bigint();
catalog.search('realtime monitoring');
const firstSearchMs = ms(t);
t = process.hrtime.bigint();
for (let r = 0; r < 20; r++) catalog.search('camera');
const searchMs = ms(t) / 20;

t = process.hrtime.bigint();
for (let r = 0; r < 10; r++) catalog.closest('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamra');
const closestMs = ms(t) / 10;

const rows: [string, string][] = [
  ['catalog file', `${(bytes / 1024 / 1024).toFixed(2)} MiB, ${catalog.info.stats?.nodes} DDF nodes`],
  ['nodes indexed', `${catalog.size} (incl. derived Policy Result nodes)`],
  ['read file', `${readMs.toFixed(1)} ms`],
  ['JSON.parse alone', `${parseMs.toFixed(1)} ms`],
  ['cold Catalog.load', `${loadMs.toFixed(1)} ms (read + parse + index)`],
  ['get(path)', `${getNs.toFixed(0)} ns/lookup over ${paths.length} paths`],
  ['first dynamic resolve', `${firstResolveMs.toFixed(1)} ms (builds the segment trie once)`],
  ['resolve(path)', `${resolveNs.toFixed(0)} ns/lookup (scope variants, dynamic segments)`],
  ['first search', `${firstSearchMs.toFixed(1)} ms (builds the search entries)`],
  ['search', `${searchMs.toFixed(2)} ms/query`],
  ['closest', `${closestMs.toFixed(2)} ms/query`],
  ['heap used', `${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB`],
];
for (const [k, v] of rows) console.log(`${k.padEnd(22)} ${v}`);
