// A readable reference page of the OpenAPI document (`GET /api/v1/docs`): every operation with its
// role, parameters, body and responses, as static HTML (no script).
// biome-ignore lint/suspicious/noExplicitAny: walks a generated OpenAPI document of any shape
type Json = Record<string, any>;

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const pretty = (schema: unknown) => `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>`;

export function referencePage(doc: Json): string {
  const ops: string[] = [];
  const tags = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(methods as Json)) {
      const o = op as Json;
      const params = ((o.parameters ?? []) as Json[])
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td><td>${esc(p.description ?? '')} <code>${esc(JSON.stringify(p.schema))}</code></td></tr>`,
        )
        .join('');
      const responses = Object.entries(o.responses as Json)
        .map(([status, r]) => {
          const content = (r as Json).content as Json | undefined;
          const json = content?.['application/json']?.schema ?? content?.['application/problem+json']?.schema;
          return `<li><b>${esc(status)}</b> ${esc((r as Json).description)}${json && !json.$ref ? `<details><summary>schema</summary>${pretty(json)}</details>` : ''}</li>`;
        })
        .join('');
      const html = `<section id="${esc(o.operationId)}"><h3><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3>
<p>${esc(o.summary)}${o['x-required-role'] ? ` — role <b>${esc(o['x-required-role'])}</b>` : ' — no token'}</p>
${params ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${params}</table>` : ''}
${o.requestBody ? `<details><summary>request body</summary>${pretty(o.requestBody.content['application/json'].schema)}</details>` : ''}
<ul>${responses}</ul></section>`;
      const tag = (o.tags as string[])[0]!;
      tags.set(tag, [...(tags.get(tag) ?? []), html]);
    }
  }
  for (const [tag, list] of tags) ops.push(`<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${list.join('\n')}`);
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Json)
    .map(([name, s]) => `<h3 id="schema-${esc(name)}">${esc(name)}</h3>${pretty(s)}`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
pre{background:#f5f5f5;padding:.6em;overflow:auto;font-size:12px}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}section{border-top:1px solid #eee}</style></head>
<body><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1><p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<nav>${[...tags.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(' · ')}</nav>
${ops.join('\n')}<h2>Schemas</h2>${schemas}</body></html>`;
}
