import { defineConfig } from 'prisma/config';

// The CLI is only used for `prisma generate` (see scripts/prisma-generate.mjs);
// migrations are applied by the application's own migrator.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/threatwire' },
});
