import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from './route-config.ts';

/** OpenAPI generated from the route schemas: the UI at /api/docs, the document at /api/docs/json. */
export async function registerDocs(app: App, version: string, options: { production: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tollgate API',
        version,
        description:
          'Self-hosted AI API gateway with accounts and credits. Errors use `{success:false,statusCode,error,message,timestamp,path}`; ' +
          'messages are Chinese unless `Accept-Language: en`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    // As in security.ts: over plain HTTP (a local trial) the UI's own assets must not be upgraded to https.
    transformStaticCSP: (header) => (options.production ? header : header.replace(/\s*upgrade-insecure-requests;?/, '')),
  });
}
