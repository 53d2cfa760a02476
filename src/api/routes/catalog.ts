// The CSP catalog, as `mdm catalog search|show --json` prints it.
import { z } from 'zod';
import { defaultCatalog } from '../../catalog/catalog.js';
import { ApiProblem } from '../problem.js';
import { type RouteDef, route } from '../route.js';
import { CatalogNode } from '../schemas.js';

export const catalogRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/catalog/search',
    tag: 'catalog',
    role: 'auditor',
    summary: 'Find catalog nodes by words in their path or description (mdm catalog search)',
    query: z.strictObject({
      q: z.string().trim().min(1).max(256).describe('words that must all match'),
      limit: z.coerce.number().int().min(1).max(200).default(20),
    }),
    csv: 'items',
    responses: {
      200: { description: 'matching nodes', schema: z.strictObject({ items: z.array(CatalogNode) }) },
    },
    handler: async ({ query }) => ({ body: { items: defaultCatalog().search(query.q, query.limit) } }),
  }),
  route({
    method: 'get',
    path: '/catalog/node',
    tag: 'catalog',
    role: 'auditor',
    summary: 'One node with its children (mdm catalog show); 404 with suggestions',
    query: z.strictObject({
      path: z
        .string()
        .min(1)
        .max(2048)
        .describe('e.g. ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera'),
    }),
    problems: [404],
    responses: {
      200: {
        description: 'the node',
        schema: z.strictObject({ node: CatalogNode, children: z.array(z.string()) }),
      },
    },
    handler: async ({ query }) => {
      const cat = defaultCatalog();
      const node = cat.resolve(query.path);
      if (!node)
        throw new ApiProblem(404, `no catalog node at ${query.path}`, {
          didYouMean: cat.closest(query.path, 5),
        });
      return { body: { node, children: cat.children(node.path).map((c) => c.path) } };
    },
  }),
];
